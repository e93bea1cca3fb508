"""The VFIO migration states and device capability flags.

Numbers and names come from include/uapi/linux/vfio.h (enum vfio_device_mig_state
and the VFIO_MIGRATION_* flags); which flags a state needs comes from
state_flags_table in drivers/vfio/vfio_main.c.
"""

from __future__ import annotations

import enum


class MigrationState(enum.IntEnum):
    """enum vfio_device_mig_state, with the uAPI numbers."""

    ERROR = 0
    STOP = 1
    RUNNING = 2
    STOP_COPY = 3
    RESUMING = 4
    RUNNING_P2P = 5
    PRE_COPY = 6
    PRE_COPY_P2P = 7

    @classmethod
    def from_name(cls, name: str) -> MigrationState:
        """The state called `name` (as the kernel prints it); KeyError if none."""
        return cls[name]

    @property
    def meaning(self) -> str:
        """What the state means for the device, in a few words."""
        return _MEANINGS[self]


_MEANINGS: dict[MigrationState, str] = {
    MigrationState.ERROR: "failed; only a reset leaves this state",
    MigrationState.STOP: "stopped, not running DMA, state frozen",
    MigrationState.RUNNING: "running normally",
    MigrationState.STOP_COPY: "stopped; device state being read out",
    MigrationState.RESUMING: "stopped; device state being written in",
    MigrationState.RUNNING_P2P: "running, but not initiating peer-to-peer DMA",
    MigrationState.PRE_COPY: "running; initial state being copied out",
    MigrationState.PRE_COPY_P2P: "pre-copy, peer-to-peer DMA quiesced",
}


class MigrationFlags(enum.IntFlag):
    """VFIO_MIGRATION_* device capability flags."""

    STOP_COPY = 1
    P2P = 2
    PRE_COPY = 4

    @classmethod
    def parse(cls, text: str) -> MigrationFlags:
        """Flags from a comma-separated list such as ``stop-copy,p2p,pre-copy``.

        Raises ValueError naming the unknown word.
        """
        flags = cls(0)
        for word in (w.strip() for w in text.split(",")):
            if not word:
                continue
            try:
                flags |= _FLAG_WORDS[word]
            except KeyError:
                known = ", ".join(_FLAG_WORDS)
                raise ValueError(f"unknown migration flag {word!r} (known: {known})") from None
        return flags

    def words(self) -> list[str]:
        """The flags as the `features` file names them, in the kernel's order."""
        return [word for word, flag in _FLAG_WORDS.items() if flag in self]


_FLAG_WORDS: dict[str, MigrationFlags] = {
    "stop-copy": MigrationFlags.STOP_COPY,
    "p2p": MigrationFlags.P2P,
    "pre-copy": MigrationFlags.PRE_COPY,
}

# The four flag sets that real drivers use (mlx5, hisi_acc, mtty, ...).
COMMON_FLAG_SETS: tuple[MigrationFlags, ...] = (
    MigrationFlags.STOP_COPY,
    MigrationFlags.STOP_COPY | MigrationFlags.P2P,
    MigrationFlags.STOP_COPY | MigrationFlags.PRE_COPY,
    MigrationFlags.STOP_COPY | MigrationFlags.P2P | MigrationFlags.PRE_COPY,
)

# state_flags_table[] in vfio_mig_get_next_state(): the flags a device needs for
# a state to be supported. ERROR needs every bit (~0U), so it is never supported.
_ALL_BITS = 0xFFFFFFFF
REQUIRED_FLAGS: dict[MigrationState, int] = {
    MigrationState.STOP: MigrationFlags.STOP_COPY,
    MigrationState.RUNNING: MigrationFlags.STOP_COPY,
    MigrationState.PRE_COPY: MigrationFlags.STOP_COPY | MigrationFlags.PRE_COPY,
    MigrationState.PRE_COPY_P2P: (
        MigrationFlags.STOP_COPY | MigrationFlags.P2P | MigrationFlags.PRE_COPY
    ),
    MigrationState.STOP_COPY: MigrationFlags.STOP_COPY,
    MigrationState.RESUMING: MigrationFlags.STOP_COPY,
    MigrationState.RUNNING_P2P: MigrationFlags.STOP_COPY | MigrationFlags.P2P,
    MigrationState.ERROR: _ALL_BITS,
}


def is_supported(state: MigrationState, flags: MigrationFlags) -> bool:
    """True when a device with `flags` supports `state` (the kernel's test)."""
    need = REQUIRED_FLAGS[state]
    return (need & int(flags)) == need


def supported_states(flags: MigrationFlags) -> list[MigrationState]:
    """Every state a device with `flags` supports, in uAPI order."""
    return [s for s in MigrationState if is_supported(s, flags)]


# vf_qm_state / "guest driver load" in hisi_acc: 0 is QM_READY, 1 is QM_NOT_READY
# (drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.h). The numbers surprise people.
QM_READY = 0
QM_NOT_READY = 1


def vf_qm_state_words(value: int) -> str:
    """vf_qm_state in words: 0 means the guest driver is loaded."""
    if value == QM_READY:
        return "guest driver loaded (QM_READY)"
    if value == QM_NOT_READY:
        return "guest driver NOT loaded (QM_NOT_READY)"
    return f"unknown vf_qm_state {value}"
