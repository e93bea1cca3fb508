"""vfio_mig_get_next_state(), checked against expectations written from the kernel source.

The expected paths below were written by hand from drivers/vfio/vfio_main.c: the
comment above vfio_from_fsm_table lists every combination transition for a
device with all optional features, and the arcs each flag set must implement;
the narrower flag sets follow from the rule that steps through unsupported
states are skipped. They are not generated from the implementation.
"""

from __future__ import annotations

import errno

import pytest

from vfio_tui.model.fsm import (
    KernelFsm,
    TransitionLoops,
    TransitionRefused,
    next_step,
    next_step_table,
    path,
)
from vfio_tui.model.states import (
    COMMON_FLAG_SETS,
    MigrationFlags,
    MigrationState,
    supported_states,
)

F = MigrationFlags
S = MigrationState

STOP_COPY_ONLY = F.STOP_COPY
WITH_P2P = F.STOP_COPY | F.P2P
WITH_PRE_COPY = F.STOP_COPY | F.PRE_COPY
ALL = F.STOP_COPY | F.P2P | F.PRE_COPY

# "CUR>TARGET": "the states passed through", or "EINVAL"
EXPECTED: dict[MigrationFlags, dict[str, str]] = {
    STOP_COPY_ONLY: {
        "STOP>RUNNING": "RUNNING",
        "STOP>STOP_COPY": "STOP_COPY",
        "STOP>RESUMING": "RESUMING",
        "RUNNING>STOP": "STOP",
        "RUNNING>STOP_COPY": "STOP STOP_COPY",
        "RUNNING>RESUMING": "STOP RESUMING",
        "STOP_COPY>STOP": "STOP",
        "STOP_COPY>RUNNING": "STOP RUNNING",
        "STOP_COPY>RESUMING": "STOP RESUMING",
        "RESUMING>STOP": "STOP",
        "RESUMING>RUNNING": "STOP RUNNING",
        "RESUMING>STOP_COPY": "STOP STOP_COPY",
    },
    WITH_P2P: {
        "STOP>RUNNING": "RUNNING_P2P RUNNING",
        "STOP>STOP_COPY": "STOP_COPY",
        "STOP>RESUMING": "RESUMING",
        "STOP>RUNNING_P2P": "RUNNING_P2P",
        "RUNNING>STOP": "RUNNING_P2P STOP",
        "RUNNING>STOP_COPY": "RUNNING_P2P STOP STOP_COPY",
        "RUNNING>RESUMING": "RUNNING_P2P STOP RESUMING",
        "RUNNING>RUNNING_P2P": "RUNNING_P2P",
        "STOP_COPY>STOP": "STOP",
        "STOP_COPY>RUNNING": "STOP RUNNING_P2P RUNNING",
        "STOP_COPY>RESUMING": "STOP RESUMING",
        "STOP_COPY>RUNNING_P2P": "STOP RUNNING_P2P",
        "RESUMING>STOP": "STOP",
        "RESUMING>RUNNING": "STOP RUNNING_P2P RUNNING",
        "RESUMING>STOP_COPY": "STOP STOP_COPY",
        "RESUMING>RUNNING_P2P": "STOP RUNNING_P2P",
        "RUNNING_P2P>STOP": "STOP",
        "RUNNING_P2P>RUNNING": "RUNNING",
        "RUNNING_P2P>STOP_COPY": "STOP STOP_COPY",
        "RUNNING_P2P>RESUMING": "STOP RESUMING",
    },
    WITH_PRE_COPY: {
        "STOP>RUNNING": "RUNNING",
        "STOP>STOP_COPY": "STOP_COPY",
        "STOP>RESUMING": "RESUMING",
        "STOP>PRE_COPY": "RUNNING PRE_COPY",
        "RUNNING>STOP": "STOP",
        "RUNNING>STOP_COPY": "STOP STOP_COPY",
        "RUNNING>RESUMING": "STOP RESUMING",
        "RUNNING>PRE_COPY": "PRE_COPY",
        "STOP_COPY>STOP": "STOP",
        "STOP_COPY>RUNNING": "STOP RUNNING",
        "STOP_COPY>RESUMING": "STOP RESUMING",
        "STOP_COPY>PRE_COPY": "EINVAL",
        "RESUMING>STOP": "STOP",
        "RESUMING>RUNNING": "STOP RUNNING",
        "RESUMING>STOP_COPY": "STOP STOP_COPY",
        "RESUMING>PRE_COPY": "STOP RUNNING PRE_COPY",
        "PRE_COPY>STOP": "RUNNING STOP",
        "PRE_COPY>RUNNING": "RUNNING",
        "PRE_COPY>STOP_COPY": "STOP_COPY",
        "PRE_COPY>RESUMING": "RUNNING STOP RESUMING",
    },
    ALL: {
        "STOP>RUNNING": "RUNNING_P2P RUNNING",
        "STOP>STOP_COPY": "STOP_COPY",
        "STOP>RESUMING": "RESUMING",
        "STOP>RUNNING_P2P": "RUNNING_P2P",
        "STOP>PRE_COPY": "RUNNING_P2P RUNNING PRE_COPY",
        "STOP>PRE_COPY_P2P": "RUNNING_P2P PRE_COPY_P2P",
        "RUNNING>STOP": "RUNNING_P2P STOP",
        "RUNNING>STOP_COPY": "RUNNING_P2P STOP STOP_COPY",
        "RUNNING>RESUMING": "RUNNING_P2P STOP RESUMING",
        "RUNNING>RUNNING_P2P": "RUNNING_P2P",
        "RUNNING>PRE_COPY": "PRE_COPY",
        "RUNNING>PRE_COPY_P2P": "RUNNING_P2P PRE_COPY_P2P",
        "STOP_COPY>STOP": "STOP",
        "STOP_COPY>RUNNING": "STOP RUNNING_P2P RUNNING",
        "STOP_COPY>RESUMING": "STOP RESUMING",
        "STOP_COPY>RUNNING_P2P": "STOP RUNNING_P2P",
        "STOP_COPY>PRE_COPY": "EINVAL",
        "STOP_COPY>PRE_COPY_P2P": "EINVAL",
        "RESUMING>STOP": "STOP",
        "RESUMING>RUNNING": "STOP RUNNING_P2P RUNNING",
        "RESUMING>STOP_COPY": "STOP STOP_COPY",
        "RESUMING>RUNNING_P2P": "STOP RUNNING_P2P",
        "RESUMING>PRE_COPY": "STOP RUNNING_P2P RUNNING PRE_COPY",
        "RESUMING>PRE_COPY_P2P": "STOP RUNNING_P2P PRE_COPY_P2P",
        "RUNNING_P2P>STOP": "STOP",
        "RUNNING_P2P>RUNNING": "RUNNING",
        "RUNNING_P2P>STOP_COPY": "STOP STOP_COPY",
        "RUNNING_P2P>RESUMING": "STOP RESUMING",
        "RUNNING_P2P>PRE_COPY": "RUNNING PRE_COPY",
        "RUNNING_P2P>PRE_COPY_P2P": "PRE_COPY_P2P",
        "PRE_COPY>STOP": "RUNNING RUNNING_P2P STOP",
        "PRE_COPY>RUNNING": "RUNNING",
        "PRE_COPY>STOP_COPY": "PRE_COPY_P2P STOP_COPY",
        "PRE_COPY>RESUMING": "RUNNING RUNNING_P2P STOP RESUMING",
        "PRE_COPY>RUNNING_P2P": "RUNNING RUNNING_P2P",
        "PRE_COPY>PRE_COPY_P2P": "PRE_COPY_P2P",
        "PRE_COPY_P2P>STOP": "RUNNING_P2P STOP",
        "PRE_COPY_P2P>RUNNING": "RUNNING_P2P RUNNING",
        "PRE_COPY_P2P>STOP_COPY": "STOP_COPY",
        "PRE_COPY_P2P>RESUMING": "RUNNING_P2P STOP RESUMING",
        "PRE_COPY_P2P>RUNNING_P2P": "RUNNING_P2P",
        "PRE_COPY_P2P>PRE_COPY": "PRE_COPY",
    },
}

SUPPORTED = {
    STOP_COPY_ONLY: {"STOP", "RUNNING", "STOP_COPY", "RESUMING"},
    WITH_P2P: {"STOP", "RUNNING", "STOP_COPY", "RESUMING", "RUNNING_P2P"},
    WITH_PRE_COPY: {"STOP", "RUNNING", "STOP_COPY", "RESUMING", "PRE_COPY"},
    ALL: {"STOP", "RUNNING", "STOP_COPY", "RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P"},
}


def expected(flags: MigrationFlags, cur: MigrationState, new: MigrationState) -> str:
    """What the kernel does for one pair: a path, "" for no move, or "EINVAL"."""
    if new.name not in SUPPORTED[flags]:
        return "EINVAL"  # unsupported targets, ERROR included
    if cur is new:
        return ""
    return EXPECTED[flags][f"{cur.name}>{new.name}"]


@pytest.mark.parametrize("flags", COMMON_FLAG_SETS, ids=lambda f: ",".join(f.words()))
def test_every_pair_follows_the_kernel(flags: MigrationFlags) -> None:
    assert {s.name for s in supported_states(flags)} == SUPPORTED[flags]
    checked = 0
    for cur in supported_states(flags):
        for new in MigrationState:
            want = expected(flags, cur, new)
            if want == "EINVAL":
                with pytest.raises(TransitionRefused):
                    path(cur, new, flags)
            else:
                got = " ".join(s.name for s in path(cur, new, flags))
                assert got == want, f"{cur.name} -> {new.name}"
            checked += 1
    assert checked == len(SUPPORTED[flags]) * 8
    # every listed expectation was used: the table above has no stray entries
    assert all(
        key.split(">")[0] in SUPPORTED[flags] and key.split(">")[1] in SUPPORTED[flags]
        for key in EXPECTED[flags]
    )


@pytest.mark.parametrize("flags", COMMON_FLAG_SETS, ids=lambda f: ",".join(f.words()))
def test_unsupported_current_state_is_refused(flags: MigrationFlags) -> None:
    # A driver in a state it does not support is a bug: WARN_ON and EINVAL.
    for cur in MigrationState:
        if cur.name not in SUPPORTED[flags]:
            with pytest.raises(TransitionRefused, match="current state"):
                next_step(cur, S.STOP, flags)


def test_error_can_never_be_requested() -> None:
    for flags in COMMON_FLAG_SETS:
        with pytest.raises(TransitionRefused, match="ERROR can never be requested"):
            next_step(S.RUNNING, S.ERROR, flags)


def test_blocked_arc_loops_on_unpatched_kernels_with_pre_copy() -> None:
    for target in (S.PRE_COPY, S.PRE_COPY_P2P):
        with pytest.raises(TransitionLoops):
            next_step(S.STOP_COPY, target, ALL, KernelFsm.UNPATCHED)
    with pytest.raises(TransitionLoops):
        next_step(S.STOP_COPY, S.PRE_COPY, WITH_PRE_COPY, KernelFsm.UNPATCHED)
    # Without P2P, PRE_COPY_P2P is not a supported target: refused before the loop.
    with pytest.raises(TransitionRefused):
        next_step(S.STOP_COPY, S.PRE_COPY_P2P, WITH_PRE_COPY, KernelFsm.UNPATCHED)
    # The other pairs behave the same on both kernels.
    assert next_step(S.STOP_COPY, S.RUNNING, ALL, KernelFsm.UNPATCHED) is S.STOP


def test_table_marks_refusals_and_loops() -> None:
    fixed = next_step_table(ALL)
    unpatched = next_step_table(ALL, KernelFsm.UNPATCHED)
    assert fixed[(S.STOP_COPY, S.PRE_COPY)] == "EINVAL"
    assert unpatched[(S.STOP_COPY, S.PRE_COPY)] == "LOOPS"
    assert fixed[(S.RUNNING, S.STOP)] is S.RUNNING_P2P
    assert (S.ERROR, S.STOP) not in fixed  # unsupported current states are not listed
    assert len(fixed) == 7 * 8


# --- the kernel argument and the refusal reasons (issue 18) -------------------------------


def test_path_passes_the_kernel_on() -> None:
    """A multi-step path through the blocked arc loops on an unpatched kernel, as next_step
    does; a path() that dropped its `kernel` argument would refuse instead."""
    with pytest.raises(TransitionLoops) as loops:
        path(S.STOP_COPY, S.PRE_COPY, ALL, KernelFsm.UNPATCHED)
    assert (loops.value.current, loops.value.target) == (S.STOP_COPY, S.PRE_COPY)
    with pytest.raises(TransitionRefused) as refused:
        path(S.STOP_COPY, S.PRE_COPY, ALL, KernelFsm.FIXED)
    assert refused.value.reason == "blocked transition"
    # Paths that do not touch the blocked arc are the same on both kernels.
    assert path(S.STOP_COPY, S.RUNNING, ALL, KernelFsm.UNPATCHED) == [
        S.STOP,
        S.RUNNING_P2P,
        S.RUNNING,
    ]


@pytest.mark.parametrize(
    ("current", "target", "flags", "reason"),
    [
        (S.RUNNING, S.ERROR, ALL, "ERROR can never be requested"),
        (S.STOP, S.ERROR, STOP_COPY_ONLY, "ERROR can never be requested"),
        (S.RUNNING, S.PRE_COPY, STOP_COPY_ONLY, "target unsupported"),
        (S.RUNNING, S.RUNNING_P2P, WITH_PRE_COPY, "target unsupported"),
        (S.RUNNING, S.PRE_COPY_P2P, WITH_PRE_COPY, "target unsupported"),
        (S.PRE_COPY, S.STOP, STOP_COPY_ONLY, "current state PRE_COPY is unsupported"),
        (S.ERROR, S.STOP, ALL, "current state ERROR is unsupported"),
        (S.STOP_COPY, S.PRE_COPY, ALL, "blocked transition"),
        (S.STOP_COPY, S.PRE_COPY_P2P, ALL, "blocked transition"),
        (S.STOP_COPY, S.PRE_COPY, WITH_PRE_COPY, "blocked transition"),
    ],
)
def test_each_refusal_says_why(
    current: MigrationState, target: MigrationState, flags: MigrationFlags, reason: str
) -> None:
    with pytest.raises(TransitionRefused) as caught:
        next_step(current, target, flags)
    refusal = caught.value
    assert refusal.reason == reason
    assert (refusal.current, refusal.target, refusal.errno) == (current, target, errno.EINVAL)
    assert str(refusal) == f"{current.name} -> {target.name} refused (EINVAL): {reason}"
