"""What makes the tool fast, as behaviour (timings live in benchmarks/run.py, never here):
light imports, a footer that does not redraw on cursor moves, journals parsed once, wait
steps that poll soon and never promise a poll that does not come."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import HEALTHY_RULES, make_app, make_config
from tests.fake_remote import FakeRemote
from tests.helpers import REPO
from tests.test_app import on_screen, start, until
from warungin_tui import headless
from warungin_tui import journal as journal_module
from warungin_tui.engine.engine import (
    Engine,
    find_unfinished_run,
    load_unfinished_run,
)
from warungin_tui.journal import Journal, journal_outline, read_journal, verify_journal
from warungin_tui.outcome import StepStatus
from warungin_tui.steps.ssh import poll_gaps
from warungin_tui.widgets.keys_footer import KeysFooter

HEAVY = ["pydantic", "asyncssh", "httpx", "textual", "asyncio"]


def printed_by(code: str) -> set[str]:
    """The words `code` prints, run in a fresh interpreter (nothing imported yet)."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def modules_after(code: str) -> set[str]:
    """Top-level packages loaded by `code` in a fresh interpreter."""
    return printed_by(
        f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))\n"
    )


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_heavy_package(flag: str) -> None:
    loaded = modules_after(
        "from warungin_tui.cli import main\n"
        f"try:\n    main([{flag!r}])\nexcept SystemExit as exit:\n    assert exit.code == 0\n"
    )
    assert "click" in loaded  # the probe really ran the CLI
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_the_wizard_loads_neither_ssh_nor_http_before_its_first_frame() -> None:
    loaded = modules_after("import warungin_tui.app")
    assert "textual" in loaded
    assert loaded.isdisjoint({"asyncssh", "httpx"}), loaded & {"asyncssh", "httpx"}


RUN_MACHINERY = [
    "asyncssh",
    "httpx",
    "warungin_tui.driver",
    "warungin_tui.engine.engine",
    "warungin_tui.engine.run",
    "warungin_tui.screens.base",
    "warungin_tui.screens.overview",
    "warungin_tui.redact",  # ~25 patterns to compile: the engine redacts, the start screen not
    "pydantic",  # the config's models: checked in a child process, built after the first frame
    "warungin_tui.config",
]
"""What the start screen does not need: imported once a run is opened, not for the first frame."""

FIRST_FRAME = """
import sys
from pathlib import Path

import warungin_tui.app

if sys.argv[1] == "mount":  # as cli.open_wizard: the config checked beside, then the app
    from warungin_tui.config_beside import DeferredConfig

    config_path = Path(sys.argv[2])
    config = DeferredConfig(config_path)
    config.start_info()
    app = warungin_tui.app.WarunginApp(config, config_path, journal_dir=Path(sys.argv[3]))
    display = app._display
    at_first_frame = []

    def first_paint(screen, update):
        display(screen, update)
        if update is not None and screen.id == "start" and not at_first_frame:
            at_first_frame.append(sorted(sys.modules))
            app.exit()

    app._display = first_paint
    app.run(headless=True)
    assert app.screen_stack == [], "the app ran to its exit"
    print(" ".join(at_first_frame[0]))
else:
    print(" ".join(sorted(sys.modules)))
"""


@pytest.mark.parametrize("upto", ["import", "mount"])
def test_the_first_frame_imports_no_engine_driver_run_screens_ssh_http_or_pydantic(
    upto: str, tmp_path: Path
) -> None:
    """The start screen with no unfinished run needs none of the run's machinery (issue 14)."""
    config = REPO / "sample_config.toml"
    proc = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME, upto, str(config), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stdout.split())
    assert {"warungin_tui.app", "warungin_tui.screens.start"} <= loaded  # the probe really ran
    assert loaded.isdisjoint(RUN_MACHINERY), sorted(loaded & set(RUN_MACHINERY))


async def test_cursor_moves_between_rows_with_the_same_keys_redraw_no_footer(
    tmp_path: Path,
) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        footer = app.screen.query_one(KeysFooter)
        await pilot.pause()
        before = footer.redraws
        assert before >= 1  # it drew its keys once
        for _ in range(50):
            await pilot.press("down", "up")
        await pilot.pause()
        assert footer.redraws == before
        # A real change of keys still redraws: a phase screen has other keys than the overview.
        await pilot.press("enter")
        await on_screen(pilot, "phase-pre")
        footer = app.screen.query_one(KeysFooter)
        await until(pilot, lambda: not app.step_workers())  # the checklist's automated items
        for _ in range(10):  # rows of different kinds: the keys change, the footer redraws
            await pilot.press("end", "home")
        await pilot.pause()
        assert footer.redraws >= 3
        # textual#6666: a FooterKey data_bind-ed to the footer leaves a watcher on it forever;
        # this footer mounts no key widgets at all (the palette key, once, is not bound).
        assert getattr(footer, "__watchers", {}).get("compact", []) == []
        assert len(footer.children) <= 2


def test_poll_gaps_start_at_a_quarter_second_and_double_to_the_interval() -> None:
    gaps = poll_gaps(2.0)
    assert [next(gaps) for _ in range(6)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    short = poll_gaps(0.1)
    assert [next(short) for _ in range(3)] == [0.1, 0.1, 0.1]


class SessionsRemote(FakeRemote):
    """Active sessions drain: counts from a list, the last one repeated."""

    def __init__(self, counts: list[int]) -> None:
        super().__init__()
        self.counts = counts
        self.polls = 0

    async def run(self, command: str, *, timeout: float, on_output: Any = None) -> Any:
        if "FROM sessions" not in command:
            return await super().run(command, timeout=timeout, on_output=on_output)
        count = self.counts[min(self.polls, len(self.counts) - 1)]
        self.polls += 1
        self.rules = [("FROM sessions", 0, f" active_sessions \n---\n {count}\n(1 row)\n")]
        return await super().run(command, timeout=timeout, on_output=on_output)


async def run_sessions_wait(tmp_path: Path, counts: list[int], **thresholds: float) -> Any:
    config = make_config(tmp_path, poll_interval_seconds=30.0, **thresholds)
    remote = SessionsRemote(counts)
    engine = Engine.start_new(config, tmp_path / "journals", operator="Op", remote=remote)
    engine.override_gate("pre", "test")
    await engine.run_step("phase1.active_sessions")
    result = engine.run.results["phase1.active_sessions"]
    await engine.aclose()
    return result, [line for _, line in result.output if line.startswith("poll ")]


async def test_a_wait_sees_readiness_at_the_first_fast_poll_despite_a_long_interval(
    tmp_path: Path,
) -> None:
    """30 s interval, ready at the second poll: passes (the gap was 0.25 s, not 30 s)."""
    result, polls = await run_sessions_wait(tmp_path, [3, 0])
    assert result.status == StepStatus.PASSED
    assert polls == ["poll 1: 3 active sessions; next poll in 0.2 s", "poll 2: 0 active sessions"]


async def test_a_wait_that_times_out_announces_no_further_poll(tmp_path: Path) -> None:
    result, polls = await run_sessions_wait(tmp_path, [3], session_drain_timeout_seconds=0.3)
    assert result.status == StepStatus.FAILED and "still 3 active sessions" in result.detail
    assert "next poll" not in polls[-1]
    assert all("next poll" in line for line in polls[:-1])


def write_run(path: Path, *, finished: bool, target: str = "deploy@host:22") -> None:
    journal = Journal(path)
    journal.append({"type": "run_started", "run_id": path.stem, "target": target})
    # Server output that spells the marker is a string: escaped, never a real key.
    journal.append({"type": "step_output", "step": "x", "lines": ['{"type":"run_finished"}']})
    if finished:
        journal.append({"type": "run_finished"})
    journal.close()


def test_outline_reads_the_first_event_and_the_finish_only(tmp_path: Path) -> None:
    done, open_ = tmp_path / "run-1.jsonl", tmp_path / "run-2.jsonl"
    write_run(done, finished=True)
    write_run(open_, finished=False)
    assert journal_outline(done) == (read_journal(done)[0]["event"], True)
    assert journal_outline(open_) == (read_journal(open_)[0]["event"], False)
    torn = tmp_path / "run-3.jsonl"
    torn.write_bytes(b'{"event": {"type": "run_sta')
    assert journal_outline(torn) is None


def test_unfinished_runs_are_found_without_parsing_finished_journals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index in range(5):
        write_run(tmp_path / f"run-{index}.jsonl", finished=True)
    write_run(tmp_path / "run-0-open.jsonl", finished=False)
    write_run(tmp_path / "run-9-other.jsonl", finished=False, target="other@host:22")
    parsed: list[Path] = []
    monkeypatch.setattr(journal_module, "read_journal", lambda path: parsed.append(path))
    found = find_unfinished_run(tmp_path, "deploy@host:22")
    assert found == tmp_path / "run-0-open.jsonl"
    assert parsed == []


def test_resume_parses_its_journal_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(tmp_path)
    engine = Engine.start_new(config, tmp_path / "journals", operator="Op", remote=FakeRemote())
    engine.skip("pre.server_accessible", "test")
    path = engine.journal.path
    events = engine.run.events
    engine.journal.close()
    from warungin_tui.engine import engine as engine_module

    reads: list[Path] = []
    parse = journal_module.iter_journal

    def counted(path: Path) -> Iterator[dict[str, Any]]:  # every parse goes through it
        reads.append(path)
        return parse(path)

    monkeypatch.setattr(engine_module, "iter_journal", counted)
    monkeypatch.setattr(journal_module, "iter_journal", counted)
    saved = load_unfinished_run(config, tmp_path / "journals")
    assert saved is not None and saved.run.events == events
    resumed = Engine.resume(config, path, remote=FakeRemote(), saved=saved)
    assert reads == [path]
    assert resumed.run is saved.run
    resumed.set_operator("Second")
    resumed.journal.close()
    assert verify_journal(path).ok
    # A journal that grew after it was read is read again (never a forked chain).
    extra = Journal(path)
    extra.append({"type": "operator_changed", "operator": "Third"})
    extra.close()
    again = Engine.resume(config, path, remote=FakeRemote(), saved=saved)
    assert again.run.operator == "Third" and again.run is not saved.run
    again.journal.close()
    assert verify_journal(path).ok


def test_benchmark_quick_run_writes_results_of_the_documented_shape(tmp_path: Path) -> None:
    """The quick measures without SSH (a few seconds); the SSH ones are the same harness."""
    out = tmp_path / "results.json"
    run_py = str(REPO / "benchmarks" / "run.py")
    proc = subprocess.run(
        [sys.executable, run_py, "--quick", "--only", "help,resume,readiness", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/sbin:/usr/bin:/bin"},
        timeout=170,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(out.read_text())
    keys = {"name", "baseline", "median_s", "baseline_median_s", "ratio", "goal", "met"}
    assert len(rows) == 4 and all(set(row) >= keys for row in rows)
    assert all(isinstance(row["met"], bool) for row in rows)
    assert all(isinstance(row[key], float) for row in rows for key in ("median_s", "ratio"))


class OverlapRemote(FakeRemote):
    """Each command waits (bounded) until another is in flight: a sequential run times out."""

    def __init__(self) -> None:
        super().__init__(rules=list(HEALTHY_RULES))
        self.in_flight = 0
        self.most = 0
        self.changed = asyncio.Condition()

    async def run(self, command: str, *, timeout: float, on_output: Any = None) -> Any:
        async with self.changed:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.changed.notify_all()
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.most >= 2), 5)
            except TimeoutError:
                pass  # the assertion on `most` says what went wrong
        try:
            return await super().run(command, timeout=timeout, on_output=on_output)
        finally:
            self.in_flight -= 1


async def test_check_probes_run_together_over_one_connection_rows_in_playbook_order(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    remote = OverlapRemote()
    engine = headless._probe_engine(config, remote)  # type: ignore[arg-type]
    steps = [s.id for s in engine.run.playbook.phase("pre").steps if s.automated]
    rows = await headless._probe(engine, steps)
    await engine.aclose()
    assert [row["id"] for row in rows] == steps
    # Concurrency changes no outcome: the same probes one after another give the same statuses.
    alone = headless._probe_engine(config, FakeRemote(rules=list(HEALTHY_RULES)))  # type: ignore[arg-type]
    expected = [str((await alone.run_step(step_id)).status) for step_id in steps]
    await alone.aclose()
    assert [row["status"] for row in rows] == expected
    assert 2 <= remote.most <= headless.PROBE_CONCURRENCY
    assert engine.run.values.get("db_backup_file")  # a capture made beside reaches the run


HTTPX_IN_A_THREAD = """
import asyncio, sys
from warungin_tui import background_import

module = asyncio.run(background_import.imported("httpx"))
assert module is sys.modules["httpx"] and module.AsyncClient
assert background_import.start("httpx") is background_import.start("httpx")  # once
try:  # the block on httpcore's trio import was lifted: trio imports as if never blocked
    import trio
except ModuleNotFoundError as exc:
    assert "halted" not in str(exc), exc  # trio is simply not installed here
print(" ".join(sorted(name for name, module in sys.modules.items() if module is not None)))
"""


def test_httpx_loads_in_a_thread_without_its_cli_and_trio_stays_importable() -> None:
    loaded = printed_by(HTTPX_IN_A_THREAD)
    assert {"httpx", "httpcore"} <= loaded  # both loaded in the thread, ready for a client
    # httpx's command-line client (and with it rich and pygments) was never imported
    cli = {"httpx._main", "rich", "pygments"}
    assert loaded.isdisjoint(cli), loaded & cli


async def test_a_background_import_that_fails_raises_in_the_awaiting_caller() -> None:
    from warungin_tui import background_import

    with pytest.raises(ModuleNotFoundError):
        await background_import.imported("warungin_tui.no_such_module")


async def test_a_module_imported_already_is_returned_without_yielding_to_the_loop() -> None:
    """Steps await httpx_loaded() on every HTTP probe: once httpx is in, no extra loop turn
    (which would let other steps run in between and change the order of journal lines)."""
    from warungin_tui import background_import

    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    task = asyncio.create_task(other())
    module = await background_import.imported("json")
    assert module is json and ran == []  # the other task has not had a turn yet
    await task
    assert ran == ["other"]


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """These tests turn the garbage collector off and freeze objects: undo both after."""
    import gc

    from warungin_tui import startup

    yield
    startup._began = False
    gc.unfreeze()
    gc.enable()


async def test_the_wizard_turns_the_collector_back_on_at_its_first_frame(
    tmp_path: Path, collector_restored: None
) -> None:
    import gc

    from warungin_tui import startup

    startup.begin()  # as the console script does
    assert not gc.isenabled()
    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.id == "start" and app.screen.is_mounted)
        await until(pilot, gc.isenabled)
        assert gc.get_freeze_count() > 0  # what the start created is never scanned again
        frozen = gc.get_freeze_count()
        await start(pilot)
        assert gc.get_freeze_count() <= frozen  # frozen once, at the first frame only


def test_a_command_other_than_check_turns_the_collector_back_on_first(
    collector_restored: None,
) -> None:
    import gc

    from click.testing import CliRunner

    from warungin_tui import startup
    from warungin_tui.cli import main

    startup.begin()
    result = CliRunner().invoke(main, ["plan", "--config", str(REPO / "sample_config.toml")])
    assert result.exit_code == 0, result.output
    assert gc.isenabled() and gc.get_freeze_count() == 0  # on, and nothing frozen
