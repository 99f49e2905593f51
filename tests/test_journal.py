"""Journal: chained, fsynced, 0600; verify-log names the first broken line; crash-safe rebuild."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, SAMPLE_CONFIG, run_cli
from warungin_tui.config import load_config
from warungin_tui.engine.engine import Engine
from warungin_tui.engine.events import MalformedEvent, UnknownEvent
from warungin_tui.engine.run import rebuild_run
from warungin_tui.journal import Journal, JournalError, read_journal, verify_journal
from warungin_tui.outcome import StepStatus
from warungin_tui.playbook import build_playbook


def write_events(path: Path, count: int) -> None:
    journal = Journal(path)
    for index in range(count):
        journal.append({"type": "note", "index": index, "text": f"line {index}"})
    journal.close()


def test_journal_is_owner_only_and_chained(tmp_path: Path) -> None:
    path = tmp_path / "j" / "run.jsonl"
    write_events(path, 5)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    records = read_journal(path)
    assert [r["seq"] for r in records] == list(range(5))
    assert all(records[i]["prev"] == records[i - 1]["hash"] for i in range(1, 5))
    assert verify_journal(path).ok


def test_reopening_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    write_events(path, 3)
    write_events(path, 2)
    result = verify_journal(path)
    assert result.ok and result.lines == 5


@pytest.mark.parametrize("line_number", [1, 4, 7])
def test_one_changed_byte_is_found_and_named(tmp_path: Path, line_number: int) -> None:
    path = tmp_path / "run.jsonl"
    write_events(path, 8)
    lines = path.read_bytes().split(b"\n")
    target = bytearray(lines[line_number - 1])
    position = target.index(b"line ") + 5
    target[position] = ord("X")
    lines[line_number - 1] = bytes(target)
    path.write_bytes(b"\n".join(lines))
    result = verify_journal(path)
    assert not result.ok
    assert result.first_bad_line == line_number


def test_deleted_line_is_found(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    write_events(path, 6)
    lines = path.read_bytes().split(b"\n")
    del lines[2]
    path.write_bytes(b"\n".join(lines))
    result = verify_journal(path)
    assert not result.ok and result.first_bad_line == 3


def test_verify_log_cli(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    write_events(path, 4)
    assert run_cli("verify-log", str(path)).returncode == 0
    data = bytearray(path.read_bytes())
    data[data.index(b"line 2") + 5] = ord("9")
    path.write_bytes(bytes(data))
    broken = run_cli("verify-log", str(path))
    assert broken.returncode == 1
    assert "line 3" in broken.stderr and "Traceback" not in broken.stderr


def test_torn_last_line_is_ignored_and_dropped(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    write_events(path, 3)
    with open(path, "ab") as handle:
        handle.write(b'{"seq": 3, "ev')
    assert len(read_journal(path)) == 3
    write_events(path, 1)
    assert verify_journal(path).ok and verify_journal(path).lines == 4


def run_child(tmp_path: Path, crash_after: int, torn: bool = False) -> tuple[Path, Path]:
    journal_dir = tmp_path / f"j{crash_after}{'t' if torn else ''}"
    snapshot = journal_dir.with_suffix(".snap.json")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if torn:
        env["TORN"] = "1"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.crash_child",
            str(crash_after),
            str(journal_dir),
            str(snapshot),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode in (0, -9), proc.stderr
    return journal_dir, snapshot


def rebuilt_snapshot(journal_dir: Path) -> dict:
    (path,) = journal_dir.glob("run-*.jsonl")
    playbook = build_playbook(load_config(SAMPLE_CONFIG))
    return json.loads(json.dumps(rebuild_run(playbook, read_journal(path)).snapshot(), default=str))


def test_crash_at_many_points_rebuilds_the_same_run(tmp_path: Path) -> None:
    """SIGKILL after write N, for N across the whole scripted run: the rebuild equals memory."""
    journal_dir, snapshot = run_child(tmp_path, crash_after=10_000)  # no crash: count writes
    (path,) = journal_dir.glob("run-*.jsonl")
    total = len(read_journal(path))
    assert total > 30
    points = sorted({1, 2, 3, total - 1, total, *range(4, total, 3)})
    for point in points:
        journal_dir, snapshot = run_child(tmp_path, point)
        expected = json.loads(snapshot.read_text())
        assert rebuilt_snapshot(journal_dir) == expected, f"crash after write {point}"
        assert expected["events"] == point


def test_crash_in_the_middle_of_a_write_loses_only_that_event(tmp_path: Path) -> None:
    journal_dir, _ = run_child(tmp_path, 12, torn=True)
    (path,) = journal_dir.glob("run-*.jsonl")
    assert len(read_journal(path)) == 12
    config = load_config(SAMPLE_CONFIG)
    engine = Engine.resume(config, path)
    assert engine.run.events >= 12
    assert verify_journal(path).ok


def test_resume_marks_a_running_step_interrupted(tmp_path: Path) -> None:
    """Kill right after a step_started line: the step comes back interrupted, output kept."""
    journal_dir, _ = run_child(tmp_path, 10_000)
    (path,) = journal_dir.glob("run-*.jsonl")
    records = read_journal(path)
    cut = next(i for i, r in enumerate(records) if r["event"]["type"] == "step_output") + 1
    short = tmp_path / "short" / path.name
    short.parent.mkdir()
    short.write_bytes(b"".join(line + b"\n" for line in path.read_bytes().split(b"\n")[:cut]))
    step_id = records[cut - 1]["event"]["step"]
    engine = Engine.resume(load_config(SAMPLE_CONFIG), short)
    result = engine.run.results[step_id]
    assert result.status == StepStatus.INTERRUPTED
    assert len(result.output) > 0
    assert "unknown" in result.detail
    assert verify_journal(short).ok


TORN_TAILS = {
    "no_newline": b'{"seq": 4, "at": "2026-',
    "zeros_from_the_filesystem": b"\x00" * 300,
    "not_json_with_newline": b'{"seq": 4, "ev\x00\x00\n',
}


@pytest.mark.parametrize("name", sorted(TORN_TAILS))
def test_torn_last_line_is_a_crash_not_tampering(tmp_path: Path, name: str) -> None:
    """verify-log, export and resume all read it the same way: an incomplete last line, named
    as such, not part of the run; the chain before it stands."""
    from warungin_tui.report.export import export_journal

    journal_dir, _ = run_child(tmp_path, 12)
    (path,) = journal_dir.glob("run-*.jsonl")
    original = read_journal(path)
    with open(path, "ab") as handle:
        handle.write(TORN_TAILS[name])
    result = verify_journal(path)
    assert result.ok and result.torn_tail and result.lines == 12
    cli = run_cli("verify-log", str(path))
    assert cli.returncode == 0, cli.stderr
    assert "chain intact; incomplete last line (crash during a write)" in cli.stdout
    markdown, _ = export_journal(path, tmp_path / "out")
    text = markdown.read_text(encoding="utf-8")
    assert "incomplete last line (crash during a write)" in text and "BROKEN" not in text
    engine = Engine.resume(load_config(SAMPLE_CONFIG), path)
    engine.record({"type": "operator_changed", "operator": "Op after the crash"})
    records = read_journal(path)  # resume dropped the same line: nothing lost, nothing invented
    assert records[:12] == original and engine.run.events == len(records)
    after = verify_journal(path)
    assert after.ok and not after.torn_tail and after.lines == len(records)


def test_a_changed_last_line_is_still_tampering(tmp_path: Path) -> None:
    """Valid JSON whose hash does not match is not a torn write."""
    path = tmp_path / "run.jsonl"
    write_events(path, 4)
    path.write_bytes(path.read_bytes().replace(b"line 3", b"line 9"))
    result = verify_journal(path)
    assert not result.ok and not result.torn_tail and result.first_bad_line == 4
    cli = run_cli("verify-log", str(path))
    assert cli.returncode == 1 and "incomplete" not in cli.stderr


@pytest.mark.parametrize("running", ["rollback.stop", None])
async def test_crash_during_a_rollback_is_not_a_rollback_in_progress(
    tmp_path: Path, running: str | None
) -> None:
    """After a crash mid-rollback nothing runs: resume closes the rollback as interrupted and
    says where the host may be, instead of showing a rollback in progress."""
    from warungin_tui.widgets.format import next_hint

    config = load_config(SAMPLE_CONFIG)
    engine = Engine.start_new(config, tmp_path / "j", operator="Dewi")
    engine.record({"type": "rollback_started", "reason": "health failed", "by": "Dewi"})
    if running:
        engine.record({"type": "step_started", "step": running, "kind": "ssh"})
    await engine.aclose()  # the process dies here
    assert engine.journal is not None
    resumed = Engine.resume(config, engine.journal.path)
    try:
        state = resumed.rollback_state()
        assert state == "FAILED: see the log", state
        assert "in progress" not in next_hint(resumed.run)
        last = resumed.run.rollbacks[-1]
        assert last["ok"] is False and last["stopped_at"] == running
        assert "interrupted: the tool stopped during the rollback" in last["detail"]
        if running:
            assert "services may be partly stopped" in last["detail"]
        assert verify_journal(resumed.journal.path).ok  # type: ignore[union-attr]
    finally:
        await resumed.aclose()


@pytest.mark.parametrize(
    ("event", "refusal"),
    [
        ({"type": "step_finishd", "step": "pre.backup", "status": "passed"}, UnknownEvent),
        ({"type": "step_finished", "step": "pre.backup"}, MalformedEvent),
    ],
)
def test_an_event_nobody_writes_is_refused_not_skipped(
    tmp_path: Path, event: dict[str, Any], refusal: type[Exception]
) -> None:
    """Run.apply used to skip an unknown kind silently: a typo'd or edited event vanished."""
    engine = Engine.start_new(load_config(SAMPLE_CONFIG), tmp_path, operator="Op")
    assert engine.journal is not None
    path = engine.journal.path
    with pytest.raises(refusal):
        engine.record(event)  # the live path refuses it before it reaches the journal
    assert len(read_journal(path)) == 1
    engine.journal.close()
    journal = Journal(path)
    journal.append(event)  # an edited journal: the chain is intact, the event is not ours
    journal.close()
    with pytest.raises(refusal) as raised:
        Engine.resume(load_config(SAMPLE_CONFIG), path)
    assert isinstance(raised.value, JournalError) and "journal line 2" in str(raised.value)
