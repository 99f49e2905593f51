"""The wizard driven with keys at 80x24 against a scripted target; asserts state, not pixels."""

from __future__ import annotations

import asyncio
import io
import json
import stat
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table
from textual.command import CommandList
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.app_fixtures import HEALTHY_RULES, make_app, psql_count
from tests.fake_remote import FakeRemote
from warungin_tui.app import WarunginApp
from warungin_tui.engine.engine import Engine, find_unfinished_run
from warungin_tui.journal import read_journal
from warungin_tui.outcome import PhaseStatus, StepStatus
from warungin_tui.widgets.output_log import OutputLog
from warungin_tui.widgets.step_list import RowList

SIZE = (80, 24)
PRE_AUTOMATED = [
    "pre.server_accessible",
    "pre.ssh_working",
    "pre.docker_running",
    "pre.services_healthy",
    "pre.db_backups_recent",
    "pre.backup_tested",
]
CONTRACT_KEYS = ["up", "down", "j", "k", "enter", "space", "m", "x", "s", "r", "a", "n", "R", "e"]
CONTRACT_KEYS += ["?", "F1", "ctrl+p", "q", "escape", "o", "O", "w", "c", "t", "F", "N", "A"]
CONTRACT_KEYS += ["tab", "shift+tab", "pageup", "pagedown", "ctrl+q"]
CONTRACT_KEYS += ["v"]  # the full-screen output view
CONTRACT_KEYS += ["X"]  # abandon a run that changed nothing on the host


class Recorder:
    """Collects notifications (title, message) through the app's message hook."""

    def __init__(self) -> None:
        self.notes: list[tuple[str, str]] = []

    def __call__(self, message: Any) -> None:
        if isinstance(message, Notify):
            self.notes.append((message.notification.title, message.notification.message))

    def has(self, text: str) -> bool:
        return any(text in title or text in body for title, body in self.notes)


async def until(pilot: Pilot, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Let the app work until `predicate` holds, with a deadline (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {predicate}")
        await pilot.pause()


async def on_screen(pilot: Pilot, screen_id: str, timeout: float = 10.0) -> None:
    """Wait until `screen_id` is the active screen and has finished mounting.

    Screens have ids; dialogs (prompt, choice, confirm) have names, since they chain.
    """
    app = pilot.app

    def there() -> bool:
        screen = app.screen
        return screen_id in (screen.id, screen.name) and screen.is_mounted

    await until(pilot, there, timeout)


def text_of(widget: Static) -> str:
    """What a Static shows, as plain text (Rich renderables included)."""
    console = Console(width=200, file=io.StringIO(), color_system=None)
    console.print(widget.content)
    return console.file.getvalue()  # type: ignore[attr-defined]


async def start(pilot: Pilot) -> WarunginApp:
    app = pilot.app
    assert isinstance(app, WarunginApp)
    await on_screen(pilot, "start")
    await pilot.press("enter")
    await on_screen(pilot, "overview")
    return app


def engine_of(app: WarunginApp) -> Engine:
    assert app.engine is not None
    return app.engine


def status(app: WarunginApp, step_id: str) -> StepStatus:
    return engine_of(app).run.status(step_id)


def footer_keys(app: WarunginApp) -> set[str]:
    return {
        key
        for key, active in app.screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


def selected(app: WarunginApp) -> str | None:
    return app.screen.query_one(RowList).selected_id


def info_text(app: WarunginApp) -> str:
    return text_of(app.screen.query_one("#info-text", Static))


async def answer(pilot: Pilot, text: str) -> None:
    """Type into the open text prompt and accept it."""
    app = pilot.app
    await on_screen(pilot, "prompt")
    prompt = app.screen
    prompt.query_one(Input).value = text
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is not prompt)


async def answer_form(pilot: Pilot, *values: str | None) -> None:
    """Fill the open form (None keeps the offered value) and accept it with enter."""
    app = pilot.app
    await on_screen(pilot, "form")
    form = app.screen
    for field, value in zip(form.query(Input), values, strict=True):
        if value is not None:
            field.value = value
    form.query(Input).first().focus()
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is not form)


async def open_pre_with_checks_done(pilot: Pilot) -> WarunginApp:
    app = await start(pilot)
    await pilot.press("enter")
    await on_screen(pilot, "phase-pre")
    await until(pilot, lambda: all(status(app, s) == StepStatus.PASSED for s in PRE_AUTOMATED))
    await until(pilot, lambda: not app.step_workers())
    return app


def open_gates(app: WarunginApp, *phase_ids: str) -> None:
    """Scripted history: earlier phases overridden, as an operator could do with O."""
    for phase_id in phase_ids:
        engine_of(app).override_gate(phase_id, "test: earlier phase done elsewhere")


def host_key_error(cls: type[Any], tmp_path: Path) -> Any:
    """A HostKeyUnknown/HostKeyChanged as Remote.connect raises it (built without its __init__,
    whose arguments are the remote layer's business); returns (error, fingerprint)."""
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    error = cls.__new__(cls)
    Exception.__init__(error, "host key refused")
    error.message = "host key refused"
    error.host, error.port, error.known_hosts = "warungin.example.internal", 22, tmp_path / "kh"
    error.fingerprint = key.get_fingerprint("sha256")
    error.key_type = key.get_algorithm()
    error.public_key = key.export_public_key().decode().strip()
    return error


# -- start screen ---------------------------------------------------------------------------------
async def test_start_screen_to_overview_with_footer_keys(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, "start")
        assert app.screen.query_one("#operator", Input).value == "Ana Operator"
        await start(pilot)
        run = engine_of(app).run
        assert (
            run.operator == "Ana Operator" and run.target == "deploy@warungin.example.internal:22"
        )
        assert {"enter", "n", "question_mark", "q"} <= footer_keys(app)
        assert "space" not in footer_keys(app)  # nothing to tick on the overview
        summary = text_of(app.screen.query_one("#next", Static))
        assert "Open Pre-deployment checklist (enter)" in summary


async def test_start_needs_a_name_and_reports_unreachable_host(tmp_path: Path) -> None:
    from warungin_tui.remote import HostUnreachable

    class Unreachable(FakeRemote):
        attempts = 0

        async def connect(self) -> None:
            self.attempts += 1
            if self.attempts == 1:
                raise HostUnreachable("warungin.example.internal:22: Connection refused")

    app, remote = make_app(tmp_path, Unreachable(rules=list(HEALTHY_RULES)))
    async with app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, "start")
        app.screen.query_one("#operator", Input).value = "  "
        await pilot.press("enter")
        status_line = app.screen.query_one("#start-status", Static)
        assert "Type the operator's name" in text_of(status_line)
        app.screen.query_one("#operator", Input).value = "Budi"
        await pilot.press("enter")
        await until(pilot, lambda: "Host unreachable" in text_of(status_line))
        assert "Press enter to try again" in text_of(status_line)
        assert app.screen.id == "start" and app.engine is None
        await pilot.press("enter")  # retry
        await on_screen(pilot, "overview")
        assert engine_of(app).run.operator == "Budi"


async def test_unknown_host_key_is_shown_and_accepted(tmp_path: Path) -> None:
    from warungin_tui.remote import HostKeyUnknown

    error = host_key_error(HostKeyUnknown, tmp_path)

    class NewHost(FakeRemote):
        trusted: list[str] = []

        async def connect(self) -> None:
            if not self.trusted:
                raise error

        async def trust_host_key(self, error: HostKeyUnknown) -> None:
            self.trusted.append(error.fingerprint)

    app, remote = make_app(tmp_path, NewHost(rules=list(HEALTHY_RULES)))
    async with app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, "start")
        await pilot.press("enter")
        await on_screen(pilot, "host-key")
        fingerprint = error.fingerprint
        assert fingerprint in text_of(app.screen.query(Static)[1])
        await pilot.press("y")
        await on_screen(pilot, "overview")
        assert remote.trusted == [fingerprint]
        assert engine_of(app).run.trusted_host_keys == [fingerprint]


async def test_changed_host_key_is_refused_with_an_explanation(tmp_path: Path) -> None:
    from warungin_tui.remote import HostKeyChanged

    error = host_key_error(HostKeyChanged, tmp_path)

    class Impostor(FakeRemote):
        async def connect(self) -> None:
            raise error

    app, _ = make_app(tmp_path, Impostor())
    async with app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, "start")
        await pilot.press("enter")
        await on_screen(pilot, "host-key-changed")
        assert app.engine is None
        await pilot.press("escape")
        await on_screen(pilot, "start")
        assert app.exit_code() == 2


async def test_resume_is_offered_for_an_unfinished_run(tmp_path: Path) -> None:
    app, remote = make_app(tmp_path)
    old = Engine.start_new(app.config, tmp_path / "journals", operator="Night Shift")
    old.record({"type": "step_started", "step": "pre.server_accessible", "kind": "ssh"})
    old.journal.close()  # type: ignore[union-attr]
    async with app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, "start")
        assert "unfinished run" in text_of(app.screen.query_one("#unfinished", Static))
        await pilot.press("enter")  # resume is the default
        await on_screen(pilot, "overview")
        run = engine_of(app).run
        assert run.run_id == old.run.run_id
        assert run.operator == "Ana Operator"  # the operator confirmed on the start screen
        assert run.status("pre.server_accessible") == StepStatus.INTERRUPTED


# -- checklist ------------------------------------------------------------------------------------
async def test_pre_checklist_ticks_signoff_gate_and_override(tmp_path: Path) -> None:
    notes = Recorder()
    app, remote = make_app(tmp_path)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        app = await open_pre_with_checks_done(pilot)
        run = engine_of(app).run
        # the automated items ran by themselves, each over the (fake) SSH connection
        assert any("docker info" in c for c in remote.commands)
        assert selected(app) == "pre.smoke_test"
        assert {"space", "x", "s"} <= footer_keys(app) and "r" not in footer_keys(app)
        await pilot.press("space")
        assert status(app, "pre.smoke_test") == StepStatus.PASSED
        assert selected(app) == "pre.full_suite"  # the cursor moves on
        await pilot.press("x")
        await answer(pilot, "CI shows 38 tests")
        assert status(app, "pre.full_suite") == StepStatus.FAILED
        assert run.results["pre.full_suite"].note == "CI shows 38 tests"
        await pilot.press("down")
        assert selected(app) == "pre.qa_signoff"
        await pilot.press("space")
        await answer(pilot, "Quinn QA")
        assert run.results["pre.qa_signoff"].value == {"name": "Quinn QA", "role": "QA Lead"}
        # a key at the wrong time explains itself
        app.screen.select_step("pre.docker_running")
        await pilot.pause()
        await pilot.press("space")
        assert notes.has("is automated: enter runs it")
        # the gate stays closed, and n says why
        await pilot.press("n")
        assert app.screen.id == "phase-pre"
        assert notes.has("Gate closed") and notes.has("Finish them, or override the gate")
        # o overrides the failed step, O the gate: both ask a reason
        app.screen.select_step("pre.full_suite")
        await pilot.pause()
        assert "o" in footer_keys(app)
        await pilot.press("o")
        await answer(pilot, "38 tests cover the release")
        assert status(app, "pre.full_suite") == StepStatus.OVERRIDDEN
        await pilot.press("O")
        await on_screen(pilot, "prompt")
        await pilot.press("escape")  # cancelled: nothing recorded
        await on_screen(pilot, "phase-pre")
        assert run.phase_status("pre") != PhaseStatus.OVERRIDDEN
        await pilot.press("O")
        await answer(pilot, "rehearsal: remaining items checked on paper")
        assert run.gate_holds("pre")
        assert "n" in footer_keys(app)
        await pilot.press("n")  # goes on: Phase 1 opens and its automated steps start ...
        await on_screen(pilot, "confirm")  # ... and its destructive step still asks first
        assert status(app, "phase1.notify") == StepStatus.PASSED
        await pilot.press("n")
        await on_screen(pilot, "phase-phase1")
        await until(pilot, lambda: not app.step_workers())
        assert status(app, "phase1.stop_stack") == StepStatus.PENDING  # "no" ran nothing


async def test_input_with_choices_and_escape_back(tmp_path: Path) -> None:
    notes = Recorder()
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        app = await start(pilot)
        app.open_phase("monitoring", "monitoring.performance")
        await on_screen(pilot, "phase-monitoring")
        assert selected(app) == "monitoring.performance"
        assert "GOOD / ACCEPTABLE / NEEDS REVIEW" in info_text(app)
        # the earlier phases are not done: enter explains instead of asking
        assert "enter" not in footer_keys(app)
        await pilot.press("enter")
        assert notes.has("Gate closed: Pre-deployment checklist is not complete")
        assert app.screen.id == "phase-monitoring"
        assert status(app, "monitoring.performance") == StepStatus.PENDING
        open_gates(app, "pre", "phase1", "phase2", "phase3", "smoke", "report", "completion")
        await pilot.press("enter")
        await on_screen(pilot, "choice")
        await pilot.press("down", "enter")
        await until(pilot, lambda: status(app, "monitoring.performance") == StepStatus.PASSED)
        assert engine_of(app).run.results["monitoring.performance"].value == "ACCEPTABLE"
        await pilot.press("escape")
        await on_screen(pilot, "overview")


# -- phase 1 --------------------------------------------------------------------------------------
class DrainingRemote(FakeRemote):
    """Active sessions: 3 on the first poll; the next poll waits for the test, then 0."""

    def __init__(self) -> None:
        super().__init__(rules=list(HEALTHY_RULES))
        self.release = asyncio.Event()
        self.polls = 0

    async def run(
        self, command: str, *, timeout: float, on_output: Any = None, record: Any = None
    ) -> Any:
        if "FROM sessions" in command:
            self.polls += 1
            if self.polls > 1:
                await self.release.wait()
            count = 3 if self.polls == 1 else 0
            self.rules = [("FROM sessions", 0, psql_count(count)), *HEALTHY_RULES]
        return await super().run(command, timeout=timeout, on_output=on_output)


async def test_phase1_notice_wait_progress_and_destructive_confirmation(tmp_path: Path) -> None:
    remote = DrainingRemote()
    app, _ = make_app(tmp_path, remote)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        open_gates(app, "pre")
        app.open_phase("phase1")
        await on_screen(pilot, "phase-phase1")
        run = engine_of(app).run
        # Step 1.2: the filled-in notice, saved 0600 and copied
        assert selected(app) == "phase1.notify"
        assert "w" not in footer_keys(app)  # no message before it runs
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "phase1.notify") == StepStatus.PASSED)
        await until(pilot, lambda: "w" in footer_keys(app))
        await pilot.press("w")
        saved = tmp_path / "archive" / f"{run.run_id}-phase1.notify.txt"
        await until(pilot, saved.exists)
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert "being updated to version 1.1.0" in saved.read_text()
        await pilot.press("c")
        assert "Expected downtime: 15-30 minutes." in app.clipboard
        assert "State: prepared, not confirmed sent" in info_text(app)
        await pilot.press("t")  # the operator sent it: a tick with who and when
        await until(pilot, lambda: "phase1.notify" in run.notices_confirmed)
        assert run.notices_confirmed["phase1.notify"]["by"] == run.operator
        await until(pilot, lambda: "State: confirmed sent by " in info_text(app))
        log = app.screen.query_one("#output", OutputLog)
        assert any("Dear Team," in line for line in log.plain_lines)
        # Step 1.3: the wait shows the current count and the next poll
        await pilot.press("down", "enter")
        await until(pilot, lambda: "poll 1" in info_text(app))
        text = info_text(app)
        assert "3 active sessions" in text and "next poll in" in text
        assert status(app, "phase1.active_sessions") == StepStatus.RUNNING
        assert "enter" not in footer_keys(app) and "a" not in footer_keys(app)  # busy
        remote.release.set()
        await until(pilot, lambda: status(app, "phase1.active_sessions") == StepStatus.PASSED)
        assert run.values["active_sessions"] == 0
        # record the commit, then the destructive stop asks first
        await pilot.press("down", "enter")
        await until(pilot, lambda: status(app, "phase1.record_commit") == StepStatus.PASSED)
        await pilot.press("down", "enter")
        await on_screen(pilot, "confirm")
        await pilot.press("n")
        await until(pilot, lambda: not app.step_workers())
        assert status(app, "phase1.stop_stack") == StepStatus.PENDING
        assert not any(c.endswith("docker compose down") for c in remote.commands)
        await pilot.press("enter")
        await on_screen(pilot, "confirm")
        await pilot.press("y")
        await until(pilot, lambda: status(app, "phase1.stop_stack") == StepStatus.PASSED)
        assert remote.commands[-1].endswith("docker compose down")
        # the backup makes rollback available: R appears in the footer
        assert "R" not in footer_keys(app)
        await pilot.press("down", "enter")
        await until(pilot, lambda: status(app, "phase1.backup") == StepStatus.PASSED)
        await until(pilot, lambda: "R" in footer_keys(app))
        assert run.gate_holds("phase1")


async def test_dropped_connection_shows_interrupted_and_r_retries(tmp_path: Path) -> None:
    notes = Recorder()
    remote = FakeRemote(rules=list(HEALTHY_RULES), drop_on="docker info")
    app, _ = make_app(tmp_path, remote)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        app = await start(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "pre.docker_running") == StepStatus.INTERRUPTED)
        await until(pilot, lambda: not app.step_workers())
        run = engine_of(app).run
        assert status(app, "pre.services_healthy") == StepStatus.PENDING  # stopped there
        # the pane is put on the interrupted step and explains it: no toast over the output
        await until(pilot, lambda: selected(app) == "pre.docker_running")
        assert not notes.has("Docker daemon running: interrupted")
        text = info_text(app)
        assert "connection lost" in text and "r: reconnect and retry" in text
        assert [line for _, line in run.results["pre.docker_running"].output]  # output kept
        assert "Server Version: 24.0.7" in app.screen.query_one("#output", OutputLog).plain_lines
        assert {"r", "o"} <= footer_keys(app)
        remote.drop_on = None
        await pilot.press("r")
        await until(pilot, lambda: status(app, "pre.docker_running") == StepStatus.PASSED)
        assert run.results["pre.docker_running"].attempts == 2


async def test_the_pane_says_how_many_lines_it_does_not_show_and_which_key_opens_them(
    tmp_path: Path,
) -> None:
    build = "".join(f"layer {i} ... done\n" for i in range(7000))
    rules = [("docker info", 0, "Server Version: 24.0.7\n" + build), *HEALTHY_RULES]
    remote = FakeRemote(rules=rules)
    app, _ = make_app(tmp_path, remote)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "pre.docker_running") == StepStatus.PASSED)
        await until(pilot, lambda: not app.step_workers())
        result = engine_of(app).run.results["pre.docker_running"]
        assert result.output_lines == 7001 and result.output_file is not None
        app.screen.select_step("pre.docker_running")
        await pilot.pause()
        lines = app.screen.query_one("#output", OutputLog).plain_lines
        shown = len(lines) - 1
        assert 0 < shown < 7001
        note = f"... {7001 - shown:,} of 7,001 lines not shown: v opens the full output"
        assert lines[-1] == note
        await pilot.press("v")  # the full-screen view reads the side file: every line
        await on_screen(pilot, "output-view")
        assert len(app.screen.shown) == 7001 and app.screen.shown[-1] == "layer 6999 ... done"


# -- smoke test and report ------------------------------------------------------------------------
async def test_smoke_test_and_verification_report(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        open_gates(app, "pre", "phase1")
        run = engine_of(app).run
        for phase_id in ("phase2", "phase3"):
            app.open_phase(phase_id)
            await on_screen(pilot, f"phase-{phase_id}")
            await pilot.press("a")
            await until(pilot, lambda p=phase_id: run.gate_holds(p), timeout=20)
            await until(pilot, lambda: not app.step_workers())
        await pilot.press("n")
        await on_screen(pilot, "phase-smoke")
        assert selected(app) == "smoke.frontend_loads"
        text = info_text(app)
        assert "Open: https://pos.example.internal" in text
        assert "Look for: The login page loads in under 3 seconds." in text
        assert "measured" in text and "Step 3.3" in text
        assert {"space", "m"} <= footer_keys(app)  # passing and a note: two keys, both shown
        await pilot.press("m")
        await answer(pilot, "login page in about a second")
        assert run.results["smoke.frontend_loads"].note == "login page in about a second"
        for number in range(2, 6):
            await pilot.press("space")  # passes: never opens a text field
            assert app.screen.id == "phase-smoke"
            assert selected(app) != f"smoke.test{number}"  # the cursor moved on at once
        assert not run.results["smoke.super_admin_2fa"].note
        assert run.gate_holds("smoke")
        await pilot.press("n")
        await on_screen(pilot, "phase-report")
        report = text_of(app.screen.query_one("#report-text", Static))
        assert "PRODUCTION VERIFICATION REPORT" in report
        assert "warungin-backend" in report and "UP & HEALTHY" in report
        assert "warungin-loki" in report
        assert "API Response Time:" in report and " ms" in report
        assert "Concurrent Users:        0" in report
        assert "[ ] No sensitive data exposed" in report
        await pilot.press("m")
        await answer(pilot, "checked the API answers")
        await pilot.press("space")
        assert app.screen.id == "phase-report"
        report = text_of(app.screen.query_one("#report-text", Static))
        assert "[✔] No sensitive data exposed" in report and "[✔] Request dedup" in report
        assert run.gate_holds("report")


async def test_go_live_refused_with_blockers_then_hold(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        app.open_phase("golive")
        await on_screen(pilot, "phase-golive")
        await pilot.press("enter")
        await on_screen(pilot, "choice")
        await pilot.press("enter")  # GO-LIVE APPROVED
        await answer_form(pilot, "Boss", None)  # who, and the offered effective time: now
        body = text_of(app.screen.query_one("#golive-text", Static))
        assert "GO-LIVE APPROVED is refused" in body and "Pre-deployment checklist" in body
        assert engine_of(app).run.decision is None
        await pilot.press("enter")
        await on_screen(pilot, "choice")
        await pilot.press("down", "enter")  # HOLD FOR REVIEW
        await answer_form(pilot, "Boss", "2025-01-02T09:00")
        decision = engine_of(app).run.decision
        assert decision and decision["decision"] == "HOLD FOR REVIEW"
        assert decision["effective_at"] == "2025-01-02T09:00"
        await on_screen(pilot, "confirm")  # the decision is in: finishing is offered at once
        assert "Finish the run?" in str(app.screen.query_one(".dialog-title", Static).content)
        await pilot.press("n")  # not yet: F stays on the go-live screen
        await on_screen(pilot, "phase-golive")
        assert engine_of(app).run.finished_at is None
        assert "F" in footer_keys(app)


# -- keys, palette, help, export, quit ------------------------------------------------------------
async def test_help_lists_every_key_of_the_contract(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        await pilot.press("question_mark")
        await on_screen(pilot, "help")
        table = app.screen.query_one("#help-table", Static).content
        assert isinstance(table, Table)
        # the key column only (the descriptions would match any letter): "up / down, j / k"
        cells = [str(cell) for cell in table.columns[0]._cells if str(cell) != "Prompts"]
        parts = [part for cell in cells for part in cell.split(",")]
        shown = {key.strip() for part in parts for key in part.split(" / ")}
        assert shown == set(CONTRACT_KEYS)
        await pilot.press("escape")
        await on_screen(pilot, "overview")
        await pilot.press("f1")
        await on_screen(pilot, "help")


async def test_every_binding_has_description_tooltip_and_id() -> None:
    from warungin_tui.screens import (
        base,
        confirm,
        golive,
        help,
        hostkey,
        overview,
        phase,
        prompt,
        report,
        start,
    )

    owners = [
        WarunginApp,
        RowList,
        base.RunScreen,
        overview.OverviewScreen,
        phase.PhaseScreen,
        report.ReportScreen,
        golive.GoLiveScreen,
        start.StartScreen,
        help.HelpScreen,
        confirm.ConfirmScreen,
        prompt.TextPrompt,
        prompt.ChoicePrompt,
        prompt.FormPrompt,
        hostkey.HostKeyScreen,
        hostkey.HostKeyChangedScreen,
    ]
    for owner in owners:
        for binding in owner.BINDINGS:
            assert binding.description and binding.tooltip and binding.id, (owner, binding)


async def test_command_palette_jumps_to_a_step(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette")
        await pilot.press(*"stop the stack")
        results = app.screen.query_one(CommandList)
        # the palette searches in the background: wait for the best hit to be highlighted
        await until(pilot, lambda: results.option_count and results.highlighted == 0)
        assert "Stop the stack" in str(results.get_option_at_index(0).prompt)
        await pilot.press("enter")
        await on_screen(pilot, "phase-phase1")
        assert selected(app) == "phase1.stop_stack"


async def test_wrong_keys_explain_and_export(tmp_path: Path, monkeypatch: Any) -> None:
    notes = Recorder()
    written: list[Path] = []

    def export_recorded(
        run: Any, config: Any, out_dir: Path, *, journal_path: Path, record: Any
    ) -> list[Path]:
        assert journal_path.is_file(), "the wizard's export is bound to its journal"
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{run.run_id}.md"
        record({"type": "export_written", "paths": [str(path)]})
        path.write_text("# log\n")
        written.append(path)
        return [path]

    fake = types.ModuleType("warungin_tui.report.export")
    fake.export_recorded = export_recorded  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "warungin_tui.report.export", fake)
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        app = await start(pilot)
        await pilot.press("space")
        assert notes.has("Open a phase first")
        await pilot.press("R")
        assert notes.has("No backup from Step 1.1 yet")
        await pilot.press("escape")
        assert notes.has("This is the overview")
        await pilot.press("e")
        await until(pilot, lambda: written)
        assert notes.has("Log exported")
        assert engine_of(app).run.exports == [str(written[0])]


async def test_x_abandons_a_run_that_changed_nothing_with_a_reason(tmp_path: Path) -> None:
    notes = Recorder()
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        app = await start(pilot)
        assert "N" not in footer_keys(app)  # in progress: no new run yet
        await pilot.press("X")
        await on_screen(pilot, "prompt")
        await pilot.press("escape")  # cancelled: the run goes on
        await on_screen(pilot, "overview")
        assert engine_of(app).run.abandoned is None
        await pilot.press("X")
        await answer(pilot, "wrong release tag; redeploying tomorrow")
        run = engine_of(app).run
        assert run.abandoned is not None
        assert run.abandoned["reason"] == "wrong release tag; redeploying tomorrow"
        assert run.abandoned["by"] == "Ana Operator"
        await until(pilot, lambda: "N" in footer_keys(app))  # ended: a new run may start
        from warungin_tui.screens.base import release_running

        assert release_running(run) == f"{run.release} (abandoned)"  # never deployed
        journal = engine_of(app).journal
        assert journal is not None
        events = [
            json.loads(line)["event"]["type"] for line in journal.path.read_text().splitlines()
        ]
        assert "run_abandoned" in events and "export_written" in events  # the log is written
        await pilot.press("X")  # sealed: X says why it does not apply
        assert notes.has("abandoned")


async def test_quit_asks_first_and_the_run_stays_resumable(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        await pilot.press("q")
        await on_screen(pilot, "confirm")
        await pilot.press("n")
        await on_screen(pilot, "overview")
        await pilot.press("q")
        await on_screen(pilot, "confirm")
        await pilot.press("y")
        await until(pilot, lambda: app.return_value is not None)
    assert app.return_value == 0
    run_id = engine_of(app).run.run_id
    found = find_unfinished_run(tmp_path / "journals", app.config.target.label)
    assert found is not None and run_id in found.name


async def test_quit_while_a_step_runs_records_it_interrupted(tmp_path: Path) -> None:
    remote = DrainingRemote()
    app, _ = make_app(tmp_path, remote)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        open_gates(app, "pre")
        app.open_phase("phase1", "phase1.active_sessions")
        await on_screen(pilot, "phase-phase1")
        await pilot.press("enter")
        await until(pilot, lambda: remote.polls == 2)  # the second poll hangs
        await pilot.press("q")
        await on_screen(pilot, "confirm")
        assert "is running: it is stopped" in text_of(app.screen.query(Static)[1])
        await pilot.press("y")
        await until(pilot, lambda: app.return_value is not None)
    journal = next((tmp_path / "journals").glob("run-*.jsonl"))
    events = [r["event"] for r in read_journal(journal)]
    last = [e for e in events if e.get("step") == "phase1.active_sessions"][-1]
    assert last["type"] == "step_finished" and last["status"] == "interrupted"
    assert app.return_value == 0  # quitting stopped it: the run had not failed


@pytest.mark.sshd
@pytest.mark.parametrize("key", ["q", "ctrl+q"])
async def test_quit_while_a_real_command_runs_exits_0_without_asyncio_noise(
    tmp_path: Path, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Over real sshd, a command that never ends: quitting records it interrupted, exits 0,
    and asyncio logs no unretrieved `_GatheringFuture` CancelledError on the way out."""
    import gc

    from tests.app_fixtures import make_config, mock_http
    from tests.conftest import processes_mentioning
    from warungin_tui.remote import Remote
    from warungin_tui.sandbox.openssh import OpenSSHServer

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text("#!/bin/sh\nsleep 300\n")
    (bin_dir / "docker").chmod(0o755)
    server = OpenSSHServer(tmp_path / "sshd", path_prepend=[bin_dir])
    server.start()
    try:
        config = make_config(tmp_path)
        target = config.target.model_copy(
            update={
                "host": server.host,
                "port": server.port,
                "user": server.user,
                "project_dir": str(tmp_path),
                "known_hosts": str(server.known_hosts_path),
                "identity_file": str(server.client_key_path),
            }
        )
        app = WarunginApp(
            config.model_copy(update={"target": target}),
            tmp_path / "warungin.toml",
            journal_dir=tmp_path / "journals",
            remote_factory=Remote,
            prepare_engine=mock_http,
        )
        async with app.run_test(size=SIZE) as pilot:
            app = await start(pilot)
            open_gates(app, "pre")
            app.open_phase("phase1", "phase1.active_sessions")
            await on_screen(pilot, "phase-phase1")
            await pilot.press("enter")
            await until(pilot, lambda: processes_mentioning(f"{bin_dir}/docker compose exec"))
            await pilot.press(key)
            if key == "q":
                await on_screen(pilot, "confirm")
                await pilot.press("y")
            await until(pilot, lambda: app.return_value is not None)
        gc.collect()  # an unretrieved future's exception is logged when it is collected
    finally:
        server.stop()
    assert app.return_value == 0
    journal = next((tmp_path / "journals").glob("run-*.jsonl"))
    events = [r["event"] for r in read_journal(journal)]
    last = [e for e in events if e.get("step") == "phase1.active_sessions"][-1]
    assert last["type"] == "step_finished" and last["status"] == "interrupted"
    noise = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert not noise, noise


@pytest.mark.parametrize("size", [(60, 20), (120, 40)])
async def test_other_sizes_and_resize(tmp_path: Path, size: tuple[int, int]) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_pre_with_checks_done(pilot)
        await pilot.resize_terminal(*size)
        await pilot.pause()
        await pilot.press("down", "space")
        assert status(app, "pre.full_suite") == StepStatus.PASSED
        app.open_phase("phase2")
        await on_screen(pilot, "phase-phase2")
        await pilot.press("escape")
        await on_screen(pilot, "overview")
