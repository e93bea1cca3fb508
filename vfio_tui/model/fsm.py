"""The kernel's migration state machine: vfio_mig_get_next_state() reproduced.

The table below is vfio_from_fsm_table from drivers/vfio/vfio_main.c, entry for
entry; next_step() is the function around it, including its loop over
unsupported steps. Kernels from v6.2 until the June 2026 fix loop forever on
STOP_COPY -> PRE_COPY / PRE_COPY_P2P (the table says ERROR, which is never
supported, so the loop never ends); fixed kernels refuse those with EINVAL.
"""

from __future__ import annotations

import enum
import errno
from collections.abc import Sequence

from vfio_tui.model.states import MigrationFlags, MigrationState, is_supported

S = MigrationState

# vfio_from_fsm_table[cur][new]: the preferred next step from cur towards new.
NEXT_STEP_TABLE: dict[MigrationState, dict[MigrationState, MigrationState]] = {
    S.STOP: {
        S.STOP: S.STOP,
        S.RUNNING: S.RUNNING_P2P,
        S.PRE_COPY: S.RUNNING_P2P,
        S.PRE_COPY_P2P: S.RUNNING_P2P,
        S.STOP_COPY: S.STOP_COPY,
        S.RESUMING: S.RESUMING,
        S.RUNNING_P2P: S.RUNNING_P2P,
        S.ERROR: S.ERROR,
    },
    S.RUNNING: {
        S.STOP: S.RUNNING_P2P,
        S.RUNNING: S.RUNNING,
        S.PRE_COPY: S.PRE_COPY,
        S.PRE_COPY_P2P: S.RUNNING_P2P,
        S.STOP_COPY: S.RUNNING_P2P,
        S.RESUMING: S.RUNNING_P2P,
        S.RUNNING_P2P: S.RUNNING_P2P,
        S.ERROR: S.ERROR,
    },
    S.PRE_COPY: {
        S.STOP: S.RUNNING,
        S.RUNNING: S.RUNNING,
        S.PRE_COPY: S.PRE_COPY,
        S.PRE_COPY_P2P: S.PRE_COPY_P2P,
        S.STOP_COPY: S.PRE_COPY_P2P,
        S.RESUMING: S.RUNNING,
        S.RUNNING_P2P: S.RUNNING,
        S.ERROR: S.ERROR,
    },
    S.PRE_COPY_P2P: {
        S.STOP: S.RUNNING_P2P,
        S.RUNNING: S.RUNNING_P2P,
        S.PRE_COPY: S.PRE_COPY,
        S.PRE_COPY_P2P: S.PRE_COPY_P2P,
        S.STOP_COPY: S.STOP_COPY,
        S.RESUMING: S.RUNNING_P2P,
        S.RUNNING_P2P: S.RUNNING_P2P,
        S.ERROR: S.ERROR,
    },
    S.STOP_COPY: {
        S.STOP: S.STOP,
        S.RUNNING: S.STOP,
        S.PRE_COPY: S.ERROR,
        S.PRE_COPY_P2P: S.ERROR,
        S.STOP_COPY: S.STOP_COPY,
        S.RESUMING: S.STOP,
        S.RUNNING_P2P: S.STOP,
        S.ERROR: S.ERROR,
    },
    S.RESUMING: {
        S.STOP: S.STOP,
        S.RUNNING: S.STOP,
        S.PRE_COPY: S.STOP,
        S.PRE_COPY_P2P: S.STOP,
        S.STOP_COPY: S.STOP,
        S.RESUMING: S.RESUMING,
        S.RUNNING_P2P: S.STOP,
        S.ERROR: S.ERROR,
    },
    S.RUNNING_P2P: {
        S.STOP: S.STOP,
        S.RUNNING: S.RUNNING,
        S.PRE_COPY: S.RUNNING,
        S.PRE_COPY_P2P: S.PRE_COPY_P2P,
        S.STOP_COPY: S.STOP,
        S.RESUMING: S.STOP,
        S.RUNNING_P2P: S.RUNNING_P2P,
        S.ERROR: S.ERROR,
    },
    S.ERROR: {new: S.ERROR for new in MigrationState},
}


class KernelFsm(enum.Enum):
    """Which vfio_mig_get_next_state() the kernel has."""

    FIXED = "fixed"  # June 2026 and later: the blocked arcs return EINVAL
    UNPATCHED = "unpatched"  # v6.2 .. the fix: the blocked arcs loop forever


class TransitionRefused(Exception):
    """The kernel refuses the request with EINVAL; the device state is unchanged."""

    errno = errno.EINVAL

    def __init__(self, current: MigrationState, target: MigrationState, reason: str) -> None:
        super().__init__(f"{current.name} -> {target.name} refused (EINVAL): {reason}")
        self.current = current
        self.target = target
        self.reason = reason


class TransitionLoops(Exception):
    """An unpatched kernel never returns: it spins inside the driver's state mutex."""

    def __init__(self, current: MigrationState, target: MigrationState) -> None:
        super().__init__(
            f"{current.name} -> {target.name} loops forever in vfio_mig_get_next_state() "
            "on kernels v6.2 until the June 2026 fix; every later read of `state` hangs"
        )
        self.current = current
        self.target = target


def next_step(
    current: MigrationState,
    target: MigrationState,
    flags: MigrationFlags,
    kernel: KernelFsm = KernelFsm.FIXED,
) -> MigrationState:
    """The next arc the driver performs from `current` towards `target`.

    Raises TransitionRefused where the kernel returns EINVAL, and (for an
    unpatched kernel) TransitionLoops where it never returns.
    """
    if not is_supported(current, flags):
        # WARN_ON in the kernel: the driver is in a state it does not support.
        raise TransitionRefused(current, target, f"current state {current.name} is unsupported")
    if not is_supported(target, flags):
        why = "ERROR can never be requested" if target is S.ERROR else "target unsupported"
        raise TransitionRefused(current, target, why)
    step = NEXT_STEP_TABLE[current][target]
    while not is_supported(step, flags):
        if step is S.ERROR:
            if kernel is KernelFsm.UNPATCHED:
                raise TransitionLoops(current, target)
            raise TransitionRefused(current, target, "blocked transition")
        step = NEXT_STEP_TABLE[step][target]
    return step


def path(
    current: MigrationState,
    target: MigrationState,
    flags: MigrationFlags,
    kernel: KernelFsm = KernelFsm.FIXED,
) -> list[MigrationState]:
    """Every state the device passes through after `current`, ending at `target`.

    Empty when current == target (drivers loop `while (cur != new)`). Raises as
    next_step() does, for the first step that fails.
    """
    states: list[MigrationState] = []
    state = current
    while state is not target:
        state = next_step(state, target, flags, kernel)
        states.append(state)
        if len(states) > len(MigrationState):  # cannot happen with the kernel's table
            raise AssertionError(f"no end to the path {current.name} -> {target.name}")
    return states


def next_step_table(
    flags: MigrationFlags,
    kernel: KernelFsm = KernelFsm.FIXED,
    states: Sequence[MigrationState] = tuple(MigrationState),
) -> dict[tuple[MigrationState, MigrationState], MigrationState | str]:
    """The whole next-step table for a device: each (current, target) pair maps to
    the next state, or to "EINVAL" / "LOOPS" where the kernel refuses or hangs.

    Only supported current states are listed (the kernel WARNs on the others).
    """
    table: dict[tuple[MigrationState, MigrationState], MigrationState | str] = {}
    for cur in states:
        if not is_supported(cur, flags):
            continue
        for new in states:
            try:
                table[(cur, new)] = next_step(cur, new, flags, kernel)
            except TransitionRefused:
                table[(cur, new)] = "EINVAL"
            except TransitionLoops:
                table[(cur, new)] = "LOOPS"
    return table
