"""The named faults a simulated migration can suffer, each what an engineer would meet.

A scenario prepares the source and destination devices before the migration
starts (a wrong VF, a dead mailbox, an unpatched kernel) and tells the
migration driver what to do on the way (corrupt the stream, unbind the VF).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sim.device import SimDevice
from sim.hisi_acc import HisiAccDevice
from sim.mtty import MttyDevice
from vfio_tui.model.formats import MAILBOX_NOT_READY
from vfio_tui.model.fsm import KernelFsm
from vfio_tui.model.states import MigrationFlags, MigrationState

HPRE_VF = 0xA259


class Fault(enum.Enum):
    CLEAN = "clean"
    MATCH_MISMATCH = "match-mismatch"
    HUNG_SAVE = "hung-save"
    MAILBOX_NOT_READY = "mailbox-not-ready"
    GUEST_DRIVER_NOT_LOADED = "guest-driver-not-loaded"
    CORRUPT_TRANSFER = "corrupt-transfer"
    DEVICE_UNPLUG = "device-unplug"
    PRECOPY_HANG = "precopy-hang"


@dataclass(frozen=True)
class Scenario:
    fault: Fault
    summary: str  # one line for `vfio-sim scenarios`
    symptom: str  # what a person sees on the two hosts
    hisi_only: bool = False

    @property
    def name(self) -> str:
        return self.fault.value

    def applies_to(self, device: SimDevice) -> bool:
        if self.hisi_only and not isinstance(device, HisiAccDevice):
            return False
        if self.fault is Fault.PRECOPY_HANG:
            return MigrationFlags.PRE_COPY in device.flags
        return True

    def prepare(self, source: SimDevice, destination: SimDevice) -> None:
        """Set the devices up for this fault (before the migration starts)."""
        if not self.applies_to(source):
            raise ValueError(f"scenario {self.name} does not apply to a {source.driver} device")
        fault = self.fault
        if fault is Fault.MATCH_MISMATCH:
            if isinstance(destination, HisiAccDevice):
                destination.dev_id = HPRE_VF  # an HPRE VF where a SEC VF was expected
            elif isinstance(destination, MttyDevice) and isinstance(source, MttyDevice):
                destination.set_ports(1 if source.nr_ports != 1 else 2)
            else:
                raise ValueError("match-mismatch needs a hisi_acc or mtty device")
        elif fault is Fault.HUNG_SAVE:
            source.hang_in = MigrationState.STOP_COPY
        elif fault is Fault.MAILBOX_NOT_READY:
            assert isinstance(source, HisiAccDevice)
            source.mailbox = MAILBOX_NOT_READY
        elif fault is Fault.GUEST_DRIVER_NOT_LOADED:
            assert isinstance(source, HisiAccDevice)
            source.guest_driver_loaded = False
        elif fault is Fault.PRECOPY_HANG:
            source.kernel = KernelFsm.UNPATCHED


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            Fault.CLEAN,
            "no fault: the device state arrives intact and both VFs run",
            "source ends in STOP, destination in RUNNING; both migf_data hold the same bytes",
        ),
        Scenario(
            Fault.MATCH_MISMATCH,
            "the destination VF is not the source's kind and refuses the match header",
            "destination stays in RESUMING (RESUMING -> STOP failed with EINVAL); "
            "source goes back to RUNNING",
        ),
        Scenario(
            Fault.HUNG_SAVE,
            "the source's save never finishes: stuck in STOP_COPY with the state mutex held",
            "source `state` reads block (last seen STOP_COPY); destination waits in RESUMING",
        ),
        Scenario(
            Fault.MAILBOX_NOT_READY,
            "the source VF's mailbox reads 0xffffffff, so the device cannot be stopped",
            "io_test shows 0xffffffff, cmd_state fails with EINVAL; the migration fails "
            "and the source returns to RUNNING",
            hisi_only=True,
        ),
        Scenario(
            Fault.GUEST_DRIVER_NOT_LOADED,
            "no driver in the guest for the VF: only the 40-byte match data is migrated",
            "migf_data says `migrate data length: 40`; dev_data fails with EBUSY",
            hisi_only=True,
        ),
        Scenario(
            Fault.CORRUPT_TRANSFER,
            "bytes of the device state change on the way to the destination",
            "the migration succeeds, but source and destination migf_data differ",
        ),
        Scenario(
            Fault.DEVICE_UNPLUG,
            "the source VF is unbound in the middle of STOP_COPY: its directory vanishes",
            "every source file fails with ENOENT; the destination gives up in RESUMING",
        ),
        Scenario(
            Fault.PRECOPY_HANG,
            "an unpatched kernel asked for PRE_COPY from STOP_COPY loops forever",
            "source `state` reads block after STOP_COPY; cmd_state still answers",
        ),
    )
}


def scenario(name: str) -> Scenario:
    """The scenario called `name`; ValueError listing the known names otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise ValueError(f"unknown scenario {name!r}; choose one of: {known}") from None
