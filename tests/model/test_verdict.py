"""The verdict as a pure function of what the hosts showed: rules, inference, phases, and
properties over any order and timing of readings."""

from __future__ import annotations

import errno
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from vfio_tui.model.accdata import ACC_MAGIC_V2, AccVfData, encode_acc_vf_data
from vfio_tui.model.formats import (
    AttrFile,
    CmdStateFile,
    DataFile,
    IoTestFile,
    MigfDataFile,
    StateFile,
)
from vfio_tui.model.layout import FileKind
from vfio_tui.model.snapshot import FileResult, ReadError, ReadErrorKind
from vfio_tui.model.states import MigrationState
from vfio_tui.model.verdict import (
    CAUSES,
    Cause,
    Facts,
    Outcome,
    QmpFact,
    Record,
    Verdict,
    judge,
)

SRC, DST = "source", "destination"
STATE = FileKind.STATE.path
MIGF = FileKind.MIGF_DATA.path


def state(name: str) -> FileResult:
    return FileResult(STATE, data=StateFile.of(MigrationState[name]).render())


def failed(path: str, kind: ReadErrorKind, code: int | None = None) -> FileResult:
    return FileResult(path, error=ReadError(kind, "what the host said", code))


def acc(dev_id: int = 0xA256, qm: int = 0, eqc: int = 7) -> bytes:
    return encode_acc_vf_data(
        AccVfData(
            acc_magic=ACC_MAGIC_V2,
            qp_num=4,
            dev_id=dev_id,
            que_iso_cfg=1,
            vf_qm_state=qm,
            major_ver=1,
            qm_eqc_dw=(eqc,) * 7,
        )
    )


def migf(data: bytes, length: int | None = None) -> FileResult:
    dump = (data + bytes(176))[:144]
    return FileResult(MIGF, data=MigfDataFile(dump, length or len(data)).render())


def eagain() -> FileResult:
    return FileResult(MIGF, error=ReadError(ReadErrorKind.DEVICE_ERROR, "Try again", errno.EAGAIN))


def record(*steps: tuple[float, str, dict[str, FileResult]]) -> Record:
    rec = Record()
    for at, side, files in steps:
        rec.read(side, at, files)
    return rec


def clean_mainline() -> Record:
    """A clean migration as a 0.1 s poll sees it: the short STOP_COPY is missed."""
    return record(
        (0.0, SRC, {STATE: state("RUNNING"), MIGF: eagain()}),
        (0.0, DST, {STATE: state("ERROR"), MIGF: eagain()}),
        (0.4, DST, {STATE: state("RESUMING"), MIGF: eagain()}),
        (0.5, SRC, {STATE: state("PRE_COPY"), MIGF: eagain()}),
        (2.5, SRC, {STATE: state("STOP"), MIGF: migf(acc())}),
        (2.7, DST, {STATE: state("RUNNING"), MIGF: migf(acc())}),
    )


def test_a_clean_migration_succeeds_and_the_missed_stop_copy_is_inferred() -> None:
    verdict = judge(clean_mainline().facts(3.0))
    assert verdict.outcome is Outcome.SUCCEEDED and verdict.cause is None
    inferred = {(s.side, s.state) for s in verdict.phases.inferred}
    assert inferred == {(SRC, "STOP_COPY"), (DST, "STOP")}
    bounds = {b.name: b for b in verdict.phases.boundaries}
    assert bounds["vm-stop"].inferred and not bounds["start"].inferred
    p = verdict.phases
    assert p.pre_copy is not None and p.stop_copy is not None and p.resume is not None
    assert p.pre_copy + p.stop_copy + p.resume == p.total == 2.7 - 0.5
    assert p.data_sizes == {SRC: {MIGF: 176}, DST: {MIGF: 176}}
    assert "inferred: source STOP_COPY" in "\n".join(verdict.lines())


def test_same_facts_same_verdict() -> None:
    facts = clean_mainline().facts(3.0)
    assert judge(facts) == judge(facts)
    assert json.dumps(judge(facts).to_json()) == json.dumps(judge(facts).to_json())


def test_nothing_happening_is_not_started_then_an_ongoing_one_is_in_progress() -> None:
    rec = record((0.0, SRC, {STATE: state("RUNNING")}), (0.0, DST, {STATE: state("ERROR")}))
    assert judge(rec.facts(100.0)).outcome is Outcome.NOT_STARTED
    rec.read(SRC, 1.0, {STATE: state("PRE_COPY")})
    ongoing = judge(rec.facts(1.5), stuck_after=30)
    assert ongoing.outcome is Outcome.IN_PROGRESS
    assert (ongoing.phases.current, ongoing.phases.current_for) == ("pre-copy", 0.5)
    assert judge(rec.facts(40.0), stuck_after=30).outcome is Outcome.STUCK


def test_corrupt_transfer_names_the_fields_that_differ() -> None:
    rec = clean_mainline()
    rec.read(DST, 2.8, {MIGF: migf(acc(eqc=8))})
    verdict = judge(rec.facts(3.0))
    assert (verdict.outcome, verdict.cause) == (Outcome.FAILED, Cause.CORRUPT_TRANSFER)
    assert "qm_eqc_dw" in verdict.summary


def test_only_match_data_with_guest_not_ready_is_a_warning_on_success() -> None:
    rec = record(
        (0.0, SRC, {STATE: state("PRE_COPY")}),
        (0.0, DST, {STATE: state("RESUMING")}),
        (1.0, SRC, {STATE: state("STOP"), MIGF: migf(acc(qm=1)[:40])}),
        (1.1, DST, {STATE: state("RUNNING"), MIGF: migf(acc(qm=1)[:40])}),
    )
    verdict = judge(rec.facts(2.0))
    assert (verdict.outcome, verdict.cause) == (Outcome.SUCCEEDED, Cause.GUEST_DRIVER_NOT_LOADED)


def test_2023_attr_says_the_guest_driver_is_not_loaded() -> None:
    attr = FileResult(FileKind.ATTR.path, data=AttrFile(1, 1, 0, 40).render())
    data = FileResult(
        FileKind.DATA.path, data=DataFile((acc(qm=1)[:40] + bytes(144))[:144]).render()
    )
    rec = record(
        (0.0, SRC, {STATE: state("PRE_COPY")}),
        (0.0, DST, {STATE: state("RESUMING")}),
        (1.0, SRC, {STATE: state("STOP"), FileKind.ATTR.path: attr, FileKind.DATA.path: data}),
        (1.1, DST, {STATE: state("RUNNING"), FileKind.ATTR.path: attr, FileKind.DATA.path: data}),
    )
    verdict = judge(rec.facts(2.0))
    assert verdict.cause is Cause.GUEST_DRIVER_NOT_LOADED
    assert verdict.where.file == FileKind.ATTR.path


def test_a_refused_load_on_hisi_acc_is_a_match_mismatch_with_the_data_dev_id() -> None:
    rec = record(
        (0.0, SRC, {STATE: state("PRE_COPY"), MIGF: eagain()}),
        (0.0, DST, {STATE: state("RESUMING"), MIGF: eagain()}),
        (1.0, SRC, {STATE: state("STOP_COPY")}),
        (1.5, SRC, {STATE: state("RUNNING"), MIGF: migf(acc())}),
        (1.6, DST, {MIGF: migf(acc())}),
    )
    verdict = judge(rec.facts(2.0))
    assert (verdict.outcome, verdict.cause) == (Outcome.FAILED, Cause.MATCH_MISMATCH)
    assert (verdict.where.side, verdict.where.transition) == (DST, "RESUMING -> STOP")
    assert any("0xa256 (SEC VF)" in step for step in verdict.next_steps)


def pre_copy_then_back() -> Record:
    return record(
        (0.0, SRC, {STATE: state("RUNNING"), MIGF: eagain()}),
        (0.1, DST, {STATE: state("RESUMING"), MIGF: eagain()}),
        (0.2, SRC, {STATE: state("PRE_COPY")}),
        (1.0, SRC, {STATE: state("RUNNING"), MIGF: migf(acc()[:40])}),
    )


def test_a_source_that_cannot_leave_pre_copy_on_hisi_acc_is_the_mailbox() -> None:
    verdict = judge(pre_copy_then_back().facts(2.0))
    assert verdict.cause is Cause.MAILBOX_NOT_READY
    assert verdict.where.transition == "PRE_COPY -> STOP_COPY"


def test_io_test_and_cmd_state_results_confirm_or_clear_the_mailbox() -> None:
    bad = pre_copy_then_back()
    bad.acted(
        SRC,
        1.2,
        FileKind.CMD_STATE.path,
        failed(FileKind.CMD_STATE.path, ReadErrorKind.DEVICE_ERROR, errno.EINVAL),
    )
    verdict = judge(bad.facts(2.0))
    assert verdict.cause is Cause.MAILBOX_NOT_READY and "confirmed" in verdict.summary
    assert any(r.kind == "action" for e in verdict.evidence for r in e.refs)
    fine = pre_copy_then_back()
    fine.acted(
        SRC,
        1.2,
        FileKind.IO_TEST.path,
        FileResult(FileKind.IO_TEST.path, data=IoTestFile(mailbox=0).render()),
    )
    assert judge(fine.facts(2.0)).cause is Cause.SOURCE_RESUMED
    ready = pre_copy_then_back()
    ready.acted(
        SRC,
        1.2,
        FileKind.CMD_STATE.path,
        FileResult(FileKind.CMD_STATE.path, data=CmdStateFile().render()),
    )
    assert judge(ready.facts(2.0)).cause is Cause.SOURCE_RESUMED


def test_a_core_only_device_coming_back_from_pre_copy_has_no_named_cause() -> None:
    rec = record(
        (0.0, SRC, {STATE: state("RUNNING")}),
        (0.1, DST, {STATE: state("RESUMING")}),
        (0.2, SRC, {STATE: state("PRE_COPY")}),
        (1.0, SRC, {STATE: state("RUNNING")}),
    )
    verdict = judge(rec.facts(2.0))
    assert (verdict.outcome, verdict.cause) == (Outcome.FAILED, Cause.SOURCE_RESUMED)
    assert "debugfs does not say why" in verdict.summary


def blocked_in_stop_copy() -> Record:
    return record(
        (0.0, SRC, {STATE: state("PRE_COPY")}),
        (0.0, DST, {STATE: state("RESUMING")}),
        (1.0, SRC, {STATE: state("STOP_COPY")}),
        (1.5, SRC, {STATE: failed(STATE, ReadErrorKind.TIMED_OUT)}),
    )


def test_a_blocked_state_read_is_a_hung_save_once_it_lasts() -> None:
    early = judge(blocked_in_stop_copy().facts(2.0), stuck_after=5)
    assert (early.outcome, early.cause) == (Outcome.IN_PROGRESS, Cause.HUNG_SAVE)
    late = judge(blocked_in_stop_copy().facts(7.0), stuck_after=5)
    assert (late.outcome, late.cause) == (Outcome.STUCK, Cause.HUNG_SAVE)
    assert (late.where.side, late.where.transition) == (SRC, "STOP_COPY")


def test_precopy_hang_needs_the_qmp_fact_of_a_restart() -> None:
    facts = blocked_in_stop_copy().facts(7.0)
    restart = QmpFact(0, 1.2, SRC, "MIGRATION", {"status": "setup"})
    with_qmp = Facts(facts.readings, facts.actions, (restart,), facts.now)
    verdict = judge(with_qmp, stuck_after=5)
    assert (verdict.outcome, verdict.cause) == (Outcome.STUCK, Cause.PRECOPY_HANG)
    assert any(r.kind == "qmp" for e in verdict.evidence for r in e.refs)


def test_facts_written_as_json_give_the_same_verdict_back() -> None:
    """`vfio-tui watch --json` prints its facts; read back (through JSON text) they are the
    same facts, errors, binary data, actions and QMP facts included, and judge the same."""
    rec = blocked_in_stop_copy()
    rec.read(DST, 1.6, {MIGF: FileResult(MIGF, data=bytes(range(256)))})
    rec.acted(
        SRC,
        1.7,
        FileKind.CMD_STATE.path,
        failed(FileKind.CMD_STATE.path, ReadErrorKind.DEVICE_ERROR, 22),
    )
    facts = rec.facts(7.0)
    facts = Facts(
        facts.readings,
        facts.actions,
        (QmpFact(0, 1.2, SRC, "MIGRATION", {"status": "setup"}),),
        facts.now,
    )
    back = Facts.from_json(json.loads(json.dumps(facts.to_json())))
    assert back == facts
    assert judge(back, stuck_after=5).to_json() == judge(facts, stuck_after=5).to_json()
    assert judge(back, stuck_after=5).cause is Cause.PRECOPY_HANG


def test_a_destination_left_in_resuming_by_a_missed_short_pre_copy_says_both_readings() -> None:
    """Real (lab port-mismatch at the default 0.2 s poll): the source's 0.19 s PRE_COPY
    was missed; the destination stayed RESUMING. Stuck, and the summary says what it can be."""
    rec = Record()
    rec.read(SRC, 0.1, {STATE: state("RUNNING")})
    rec.read(DST, 0.1, {STATE: state("RUNNING")})
    rec.read(DST, 3.9, {STATE: state("RESUMING")})
    verdict = judge(rec.facts(34.0))
    assert (verdict.outcome, verdict.cause) == (Outcome.STUCK, Cause.UNKNOWN)
    assert "pre-copy shorter than the poll interval" in verdict.summary
    assert "no pre-copy" in verdict.summary
    # seen leaving RUNNING and coming back, it is a failure at once
    rec.read(SRC, 3.9, {STATE: state("PRE_COPY")})
    rec.read(SRC, 4.1, {STATE: state("RUNNING")})
    verdict = judge(rec.facts(4.2))
    assert (verdict.outcome, verdict.cause) == (Outcome.FAILED, Cause.SOURCE_RESUMED)


def test_a_vanished_device_is_an_unplug_and_an_unreachable_host_is_said_so() -> None:
    rec = blocked_in_stop_copy()
    rec.read(SRC, 2.0, {STATE: failed(STATE, ReadErrorKind.NOT_FOUND, errno.ENOENT)})
    verdict = judge(rec.facts(2.5))
    assert (verdict.outcome, verdict.cause) == (Outcome.FAILED, Cause.DEVICE_UNPLUG)
    rec.unreachable(DST, 3.0, ReadError(ReadErrorKind.HOST_UNREACHABLE, "connection refused"))
    rec.read(SRC, 3.0, {STATE: state("RUNNING")})
    verdict = judge(rec.facts(3.5))
    assert (verdict.outcome, verdict.cause) == (Outcome.UNKNOWN, Cause.HOST_UNREACHABLE)
    assert verdict.where.side == DST


def test_both_running_after_the_load_and_a_destination_in_error() -> None:
    both = record(
        (0.0, SRC, {STATE: state("PRE_COPY")}),
        (0.0, DST, {STATE: state("RESUMING")}),
        (1.0, DST, {STATE: state("RUNNING")}),
        (1.2, SRC, {STATE: state("RUNNING")}),
    )
    assert judge(both.facts(2.0)).cause is Cause.BOTH_RUNNING
    error = record(
        (0.0, SRC, {STATE: state("PRE_COPY")}),
        (0.0, DST, {STATE: state("RESUMING")}),
        (1.0, DST, {STATE: state("ERROR")}),
    )
    verdict = judge(error.facts(2.0))
    assert (verdict.outcome, verdict.cause) == (Outcome.FAILED, Cause.DESTINATION_ERROR)


def test_an_unreadable_state_is_said_in_words() -> None:
    rec = record(
        (0.0, SRC, {STATE: failed(STATE, ReadErrorKind.PERMISSION_DENIED, errno.EACCES)}),
        (0.0, DST, {STATE: FileResult(STATE, data=b"\x1b[31mgarbage\n")}),
    )
    verdict = judge(rec.facts(1.0))
    assert (verdict.outcome, verdict.cause) == (Outcome.UNKNOWN, Cause.STATE_UNREADABLE)


def test_every_cause_is_documented_with_next_steps() -> None:
    assert set(CAUSES) == set(Cause)
    assert all(info.signature and info.next_steps for info in CAUSES.values())


# --- properties ---------------------------------------------------------------------------

STATE_RESULTS = (
    [state(s.name) for s in MigrationState]
    + [
        FileResult(STATE, data=b"Invalid\n"),
        FileResult(STATE, data=b"RESUMING_P2P\n"),
        FileResult(STATE, data=b"nonsense\n"),
    ]
    + [failed(STATE, kind) for kind in ReadErrorKind]
)
DATA_RESULTS = [
    migf(acc()),
    migf(acc(eqc=9)),
    migf(acc(qm=1)[:40]),
    migf(acc()[:40]),
    eagain(),
    FileResult(MIGF, data=b"Mig Data:garbage\n"),
    FileResult(FileKind.ATTR.path, data=AttrFile(2, 1, 0, 40).render()),
    FileResult(FileKind.ATTR.path, data=b"device not migrated!\n"),
    FileResult(FileKind.DATA.path, data=DataFile(acc()[:144]).render()),
    FileResult(FileKind.DATA.path, data=b"\xff\xfe"),
]
ACTION_RESULTS = [
    FileResult(FileKind.IO_TEST.path, data=IoTestFile(mailbox=0xFFFFFFFF).render()),
    FileResult(FileKind.IO_TEST.path, data=b"nonsense"),
    FileResult(FileKind.CMD_STATE.path, data=CmdStateFile().render()),
    failed(FileKind.CMD_STATE.path, ReadErrorKind.DEVICE_ERROR, errno.EINVAL),
    FileResult(FileKind.SAVE.path, data=b"failed to save device data!\n"),
]

readings = st.lists(
    st.tuples(
        st.sampled_from([SRC, DST, "elsewhere"]),
        st.floats(-10, 1000, allow_nan=False),
        st.sampled_from(STATE_RESULTS + DATA_RESULTS),
    ),
    max_size=30,
)
actions = st.lists(
    st.tuples(
        st.sampled_from([SRC, DST]),
        st.floats(-10, 1000, allow_nan=False),
        st.sampled_from(ACTION_RESULTS),
    ),
    max_size=4,
)


def facts_from(
    seen: list[tuple[str, float, FileResult]], acts: list[tuple[str, float, FileResult]], now: float
) -> Facts:
    rec = Record()
    for side, at, result in seen:
        rec.read(side, at, {result.path: result})
    for side, at, result in acts:
        rec.acted(side, at, result.path, result)
    facts = rec.facts(now)
    qmp = (QmpFact(0, now / 2, SRC, "MIGRATION", {"status": "setup"}),)
    return Facts(facts.readings, facts.actions, qmp, now)


def refs_point_at_input(verdict: Verdict, facts: Facts) -> None:
    pools = {"reading": facts.readings, "action": facts.actions, "qmp": facts.qmp}
    refs = [r for e in verdict.evidence for r in e.refs]
    refs += [r for s in verdict.phases.inferred for r in s.refs]
    for ref in refs:
        item = pools[ref.kind][ref.index]
        assert (item.side, item.at) == (ref.side, ref.at)
        assert ref.path == getattr(item, "path", getattr(item, "name", None))


@settings(max_examples=300, deadline=None)
@given(readings, actions, st.floats(0, 2000, allow_nan=False), st.floats(0.1, 100))
def test_any_readings_give_a_verdict_whose_evidence_is_in_the_input(
    seen: list[tuple[str, float, FileResult]],
    acts: list[tuple[str, float, FileResult]],
    now: float,
    stuck_after: float,
) -> None:
    facts = facts_from(seen, acts, now)
    verdict = judge(facts, stuck_after)
    assert verdict.outcome in Outcome
    assert verdict.summary
    refs_point_at_input(verdict, facts)
    json.dumps(verdict.to_json())
    assert verdict.lines()
    p = verdict.phases
    times = [b.at for b in p.boundaries]
    assert times == sorted(times)
    if p.total is not None and None not in (p.pre_copy, p.stop_copy, p.resume):
        assert abs(p.pre_copy + p.stop_copy + p.resume - p.total) < 1e-6  # type: ignore[operator]


@settings(max_examples=100, deadline=None)
@given(readings, st.randoms(use_true_random=False))
def test_the_order_readings_are_recorded_in_does_not_break_the_verdict(
    seen: list[tuple[str, float, FileResult]], rnd: object
) -> None:
    shuffled = list(seen)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    facts = facts_from(shuffled, [], 500.0)
    refs_point_at_input(judge(facts), facts)


def test_the_readme_documents_every_cause_in_one_table() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    documented = [row.split("`")[1] for row in rows]
    for cause in Cause:
        assert documented.count(cause.value) == 1, cause.value


def test_the_record_keeps_a_fact_once_however_its_words_change() -> None:
    rec = Record()
    for second in range(50):
        blocked = FileResult(
            STATE, error=ReadError(ReadErrorKind.TIMED_OUT, f"blocked for {second} s")
        )
        rec.read(SRC, float(second), {STATE: blocked})
    rec.read(SRC, 60.0, {STATE: state("STOP")})
    assert [r.at for r in rec.readings] == [0.0, 60.0]
