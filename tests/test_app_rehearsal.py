"""Pilot at 80x24 against the real rehearsal target (OpenSSH, real HTTP): keys only, state."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from tests.helpers import run_cli
from tests.test_app import Recorder, footer_keys, on_screen, selected, text_of, until
from warungin_tui.app import WarunginApp
from warungin_tui.config import archive_dir, journal_dir, load_config
from warungin_tui.engine.lifecycle import RunOutcome, RunState, run_outcome, run_state
from warungin_tui.journal import verify_journal
from warungin_tui.outcome import GATE_OK, PhaseStatus, StepStatus
from warungin_tui.sandbox.target import RehearsalTarget
from warungin_tui.screens.confirm import ConfirmScreen

pytestmark = pytest.mark.sshd
SIZE = (80, 24)


@asynccontextmanager
async def rehearsal_app(
    scenario: str, tmp_path: Path
) -> AsyncIterator[tuple[WarunginApp, RehearsalTarget]]:
    async with RehearsalTarget(scenario, root=tmp_path / "target", transport="openssh") as target:
        config = load_config(target.config_path)
        yield WarunginApp(config, target.config_path, journal_dir=journal_dir(config)), target


def engine(app: WarunginApp):
    assert app.engine is not None
    return app.engine


async def answer_dialogs_and_tick(pilot: Pilot, phase_id: str, limit: int = 80) -> None:
    """Space through a phase; sign, type or choose when a dialog asks (keys only)."""
    app = pilot.app
    for _ in range(limit):
        run = engine(app).run
        if run.gate_holds(phase_id) and app.screen.name not in ("prompt", "choice", "confirm"):
            return
        name = app.screen.name
        if name == "prompt":
            await pilot.press(*"Rehearsal Person", "enter")
        elif name == "choice":
            await pilot.press("enter")
        elif name == "confirm":
            await pilot.press("y")
        else:
            await pilot.press("space")
        await pilot.pause()
    raise AssertionError(f"{phase_id} never passed: {run.phase_status(phase_id)}")


async def run_phase(pilot: Pilot, phase_id: str, timeout: float = 90) -> None:
    """`n` to the phase (its automated steps start), `y` to each destructive confirmation."""
    app = pilot.app
    await pilot.press("n")

    def done_or_confirm() -> bool:
        return engine(app).run.gate_holds(phase_id) or app.screen.name == "confirm"

    while not engine(app).run.gate_holds(phase_id):
        await until(pilot, done_or_confirm, timeout)
        if app.screen.name == "confirm":
            dialog = app.screen
            await pilot.press("y")
            await until(pilot, lambda dialog=dialog: app.screen is not dialog)


def bar_text(app: WarunginApp) -> str:
    """The run bar at the top of the screen, as text."""
    from tests.test_app import text_of
    from warungin_tui.widgets.run_bar import RunBar

    return text_of(app.screen.query_one(RunBar))


def titled(app: WarunginApp, title: str) -> bool:
    """Whether the top screen is the dialog with this title (dialogs chain under one name)."""
    return getattr(app.screen, "title_text", None) == title and app.screen.is_mounted


async def start(pilot: Pilot) -> None:
    await on_screen(pilot, "start", timeout=30)
    await pilot.press("enter")
    await on_screen(pilot, "overview", timeout=30)


async def test_healthy_rehearsal_through_every_screen_to_the_report(tmp_path: Path) -> None:
    async with rehearsal_app("healthy", tmp_path) as (app, _target):
        async with app.run_test(size=SIZE) as pilot:
            await start(pilot)
            await pilot.press("enter")
            await on_screen(pilot, "phase-pre")
            run = engine(app).run
            infra = [s.id for s in run.playbook.phase("pre").steps if s.automated]
            await until(pilot, lambda: all(run.status(s) == StepStatus.PASSED for s in infra), 60)
            await answer_dialogs_and_tick(pilot, "pre")
            assert run.results["pre.qa_signoff"].value["name"] == "Rehearsal Person"

            await run_phase(pilot, "phase1")
            assert run.values["active_sessions"] == 0
            assert "Warungin POS is being updated" in run.results["phase1.notify"].value["body"]
            await run_phase(pilot, "phase2")
            assert run.values["services_summary"] == "8/8"
            await run_phase(pilot, "phase3")
            assert run.results["phase3.health"].status == StepStatus.PASSED

            await pilot.press("n")
            await on_screen(pilot, "phase-smoke")
            await answer_dialogs_and_tick(pilot, "smoke")
            await pilot.press("n")
            await on_screen(pilot, "phase-report")
            await answer_dialogs_and_tick(pilot, "report")
            for phase in ["pre", "phase1", "phase2", "phase3", "smoke", "report"]:
                assert run.phase_status(phase) == PhaseStatus.PASSED, phase
            assert run.values["api_response_ms"] > 0
            app.save_screenshot(str(tmp_path / "report.svg"))
            shown = (tmp_path / "report.svg").read_text().replace("&#160;", " ")
            assert "PRODUCTION VERIFICATION REPORT" in shown

            await pilot.press("escape")
            await on_screen(pilot, "overview")
            await pilot.press("e")  # export at any time
            await until(pilot, lambda: len(run.exports) == 2)
            for path in map(Path, run.exports):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600
                assert path.parent == archive_dir(engine(app).config)

            # completion: handoff ticks and the three sign-offs
            await pilot.press("n")
            await on_screen(pilot, "phase-completion")
            await answer_dialogs_and_tick(pilot, "completion")
            assert run.results["completion.ops_lead"].value["role"] == "Ops Lead"
            # monitoring: the automated rounds, then the 24-hour sign-off answers
            await pilot.press("n")  # its automated checks start by themselves
            await on_screen(pilot, "phase-monitoring")
            checks = [s.id for s in run.playbook.phase("monitoring").steps if s.automated]
            await until(pilot, lambda: all(run.status(s) in GATE_OK for s in checks), 60)
            await answer_dialogs_and_tick(pilot, "monitoring")
            assert run.results["monitoring.performance"].value == "GOOD"
            # go-live: n asks the decision at once; who and when in one form; then finish,
            # offered at once, which exports again
            await pilot.press("n")
            await on_screen(pilot, "choice")
            await pilot.press("enter")  # GO-LIVE APPROVED is the first choice
            await on_screen(pilot, "form")  # who, and when (offered: now)
            await pilot.press(*"Release Manager", "enter")
            # no monitoring samples cover 24 hours: approving needs an override with a reason
            await until(pilot, lambda: titled(app, "Override: monitoring not evidenced"))
            await pilot.press(*"rehearsal: monitored for minutes", "enter")
            await until(pilot, lambda: run.decision is not None)
            assert run.decision["decision"] == "GO-LIVE APPROVED"
            assert run.decision["authorized_by"] == "Release Manager"
            assert run.decision["monitoring_override"] == {
                "reason": "rehearsal: monitored for minutes",
                "hours_covered": 0.0,
            }
            await on_screen(pilot, "confirm")  # finishing is offered once the decision is in
            await pilot.press("y")
            await until(pilot, lambda: run.finished_at is not None and len(run.exports) == 4)
            markdown = Path(run.exports[-2]).read_text()
            assert "OVERALL STATUS: SUCCESS" in markdown
            assert "Production Deployment Status: GO-LIVE APPROVED" in markdown
            assert markdown.splitlines()[2] == "**Outcome: SUCCESS**"
            # the wizard's export is bound to its journal, as `warungin-tui export` is
            journal_path = engine(app).journal.path
            checked = verify_journal(journal_path)
            assert checked.ok and checked.last_hash
            exported = json.loads(Path(run.exports[-1]).read_text())["journal"]
            assert exported["path"] == str(journal_path) and exported["chain_ok"] is True
            assert exported["last_hash"] == checked.last_hash
            assert exported["lines"] == checked.lines
            assert f"| Final line sha256 | `{checked.last_hash}` |" in markdown
            verified = run_cli("verify-log", str(journal_path))
            assert verified.returncode == 0
            named = f"sha256 of line {checked.lines} {checked.last_hash}"
            assert verified.stdout.strip().endswith(named)


async def test_failed_release_offers_rollback_and_restores_the_host(tmp_path: Path) -> None:
    async with rehearsal_app("wrong-version", tmp_path) as (app, target):
        async with app.run_test(size=SIZE) as pilot:
            await start(pilot)
            await pilot.press("enter")
            await on_screen(pilot, "phase-pre")
            run = engine(app).run
            await until(pilot, lambda: run.status("pre.backup_tested") in GATE_OK, 60)
            await answer_dialogs_and_tick(pilot, "pre")
            await run_phase(pilot, "phase1")
            await run_phase(pilot, "phase2")
            await pilot.press("n")  # Phase 3's probes start by themselves
            # the health check fails on the version: the rollback is offered at once
            await until(pilot, lambda: app.screen.name == "confirm", 60)
            assert run.status("phase3.health") == StepStatus.FAILED
            await pilot.press("y")
            await on_screen(pilot, "prompt")
            await pilot.press(*"health reports 1.0.0", "enter")
            confirmations = 0
            dialogs: list[str] = []
            while not (run.rollbacks and "ok" in run.rollbacks[-1]):
                # the destructive rollback steps (stop, restore) each ask before they run
                await until(
                    pilot,
                    lambda: app.screen.name == "confirm" or "ok" in run.rollbacks[-1],
                    120,
                )
                if app.screen.name == "confirm":
                    confirmations += 1
                    dialog = app.screen
                    assert isinstance(dialog, ConfirmScreen)
                    dialogs.append(dialog.message)
                    await pilot.press("y")
                    # the next confirmation may follow at once: wait for this dialog to go
                    await until(pilot, lambda dialog=dialog: app.screen is not dialog)
            assert confirmations == 2
            # each destructive confirmation shows what the restore replaces and what it keeps
            for message in dialogs:
                assert message.startswith("The restore: replaced or removed"), message
                assert "VERSION: 1 file" in message and "kept as they are" not in message
            assert run.rollbacks[-1]["ok"] is True, run.rollbacks[-1]
            assert run.rollbacks[-1]["reason"] == "health reports 1.0.0"
            # the header says what runs now: the restored release, not the one deployed
            await until(pilot, lambda: "release 1.0.0 (rolled back)" in bar_text(app))
            health = httpx.get(f"{target.host.api_url}/api/health", timeout=10).json()
            assert health == {**health, "status": "ok", "version": "1.0.0"}
            # the rollback's end exports the log, bound to the journal, with the outcome on top
            await until(pilot, lambda: len(run.exports) == 2)
            markdown = Path(run.exports[0]).read_text()
            outcome = markdown.splitlines()[2]
            assert outcome == "**Outcome: ROLLED BACK** (previous version restored)"
            assert "| All code deployed successfully | **NO** |" in markdown
            assert "Code Pulled: ROLLED BACK (" in markdown
            exported = json.loads(Path(run.exports[1]).read_text())["journal"]
            assert exported["path"] == str(engine(app).journal.path)
            assert exported["chain_ok"] is True and len(exported["last_hash"]) == 64


async def test_rollback_closes_the_deployment_and_offers_a_new_run(tmp_path: Path) -> None:
    """Issue 11: after a completed rollback the deployment phases are closed (no retry, no
    override, no run), the overview's next step is the incident report, and N starts a new run."""
    notes = Recorder()
    async with rehearsal_app("backend-unhealthy", tmp_path) as (app, _target):
        async with app.run_test(size=SIZE, message_hook=notes) as pilot:
            await start(pilot)
            await pilot.press("enter")
            await on_screen(pilot, "phase-pre")
            run = engine(app).run
            await until(pilot, lambda: run.status("pre.backup_tested") in GATE_OK, 60)
            await answer_dialogs_and_tick(pilot, "pre")
            await run_phase(pilot, "phase1")
            await pilot.press("n")  # Phase 2 opens and runs by itself
            # destructive steps ask (y); the failure offers the rollback (y), which asks why
            while not (run.rollbacks and "ok" in run.rollbacks[-1]):
                await until(
                    pilot,
                    lambda: (
                        app.screen.name in ("confirm", "prompt")
                        or bool(run.rollbacks and "ok" in run.rollbacks[-1])
                    ),
                    120,
                )
                dialog = app.screen
                if dialog.name == "prompt":
                    await pilot.press(*"backend unhealthy", "enter")
                elif dialog.name == "confirm":
                    await pilot.press("y")
                else:
                    break
                await until(pilot, lambda dialog=dialog: app.screen is not dialog)
            assert run.status("phase2.ready.2") == StepStatus.FAILED
            assert run.rollbacks[-1]["ok"] is True, run.rollbacks[-1]
            assert run_outcome(run) == RunOutcome.ROLLED_BACK

            # the failed phase: retry, override and run-all are gone, and say why if pressed
            app.open_phase("phase2", "phase2.ready.2")
            await on_screen(pilot, "phase-phase2")
            assert not {"r", "o", "a", "O", "s"} & footer_keys(app)
            await pilot.press("r")
            assert notes.has("The deployment was rolled back: its phases are closed")
            assert run.status("phase2.ready.2") == StepStatus.FAILED

            await pilot.press("escape")
            await on_screen(pilot, "overview")
            assert selected(app) == "incident"
            hint = text_of(app.screen.query_one("#next", Static))
            assert "incident report" in hint and "N starts a new run" in hint
            assert "retry" not in hint
            assert "N" in footer_keys(app) and "R" not in footer_keys(app)

            old_run_id = run.run_id
            await pilot.press("N")
            await until(pilot, lambda: engine(app).run.run_id != old_run_id)
            await on_screen(pilot, "overview")
            new_run = engine(app).run
            assert run_state(new_run) == RunState.IN_PROGRESS
            assert new_run.operator == run.operator and new_run.rollbacks == []
            assert "N" not in footer_keys(app)
