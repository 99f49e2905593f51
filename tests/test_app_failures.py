"""Pilot at 80x24 against the real rehearsal target: each failure scenario explains itself.

For each scenario the failing step's detail pane must name the failure, show its evidence (the
output line that shows it) and list the next actions the rulebook allows now, with their keys;
and no toast may ever be visible while a dialog (ModalScreen) is on top.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets._toast import Toast

from tests.test_app import info_text, on_screen, selected, until
from tests.test_app_rehearsal import (
    answer_dialogs_and_tick,
    engine,
    rehearsal_app,
    start,
    titled,
)
from warungin_tui.app import WarunginApp
from warungin_tui.outcome import GATE_OK, StepStatus
from warungin_tui.screens.confirm import ConfirmScreen

pytestmark = pytest.mark.sshd
SIZE = (80, 24)
EVIDENCE = "Evidence (v shows all):"
ROLLBACK_OFFER = "Phase 2: Code deployment failed. Roll back now?"


class DialogWatch:
    """Checks at every pause that no toast shows while a dialog is on top; counts dialogs."""

    def __init__(self, app: WarunginApp) -> None:
        self.app = app
        self.dialogs_seen: list[str] = []

    def check(self) -> None:
        screen = self.app.screen
        if isinstance(screen, ModalScreen):
            title = str(getattr(screen, "title_text", type(screen).__name__))
            if not self.dialogs_seen or self.dialogs_seen[-1] != title:
                self.dialogs_seen.append(title)
            toasts = [toast for toast in screen.query(Toast) if toast.display]
            assert not toasts, f"a toast covers the dialog {title!r}: {toasts}"

    async def until(self, pilot: Pilot, predicate: Callable[[], Any], timeout: float) -> None:
        def checked() -> Any:
            self.check()
            return predicate()

        await until(pilot, checked, timeout)


async def through_pre(pilot: Pilot, watch: DialogWatch) -> None:
    app = pilot.app
    await start(pilot)
    await pilot.press("enter")
    await on_screen(pilot, "phase-pre")
    run = engine(app).run
    await watch.until(pilot, lambda: run.status("pre.backup_tested") in GATE_OK, 60)
    await answer_dialogs_and_tick(pilot, "pre")


async def run_phase_until(
    pilot: Pilot, watch: DialogWatch, phase_id: str, stop: Callable[[], bool], timeout: float = 90
) -> None:
    """`n` to the phase (its automated steps start), `y` to each destructive confirmation,
    until `stop`."""
    app = pilot.app
    await pilot.press("n")
    while not stop():
        await watch.until(pilot, lambda: stop() or app.screen.name == "confirm", timeout)
        if not stop() and app.screen.name == "confirm":
            dialog = app.screen
            assert isinstance(dialog, ConfirmScreen)
            assert "Roll back now?" not in dialog.title_text, dialog.title_text
            await pilot.press("y")
            await watch.until(pilot, lambda dialog=dialog: app.screen is not dialog, timeout)


def gate_holds(app: WarunginApp, phase_id: str) -> Callable[[], bool]:
    return lambda: engine(app).run.gate_holds(phase_id)


def step_ended(app: WarunginApp, step_id: str, status: StepStatus) -> Callable[[], bool]:
    def ended() -> bool:
        return engine(app).run.status(step_id) == status and not app.step_workers()

    return ended


async def decline_rollback_offer(pilot: Pilot, watch: DialogWatch) -> None:
    """The offer opens at once after a real failure past the backup; `n` keeps the deployment."""
    app = pilot.app
    await watch.until(pilot, lambda: titled(app, ROLLBACK_OFFER), 30)
    dialog = app.screen
    await pilot.press("n")
    await watch.until(pilot, lambda: app.screen is not dialog, 10)


def pane(app: WarunginApp, step_id: str) -> str:
    assert selected(app) == step_id, selected(app)
    return " ".join(info_text(app).split())  # wrapped lines joined: assert words, not layout


async def test_stale_backup_says_take_a_fresh_dump_and_offers_no_rollback(tmp_path: Path) -> None:
    async with rehearsal_app("stale-backup", tmp_path) as (app, _target):
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            watch = DialogWatch(app)
            await start(pilot)
            await pilot.press("enter")
            await on_screen(pilot, "phase-pre")
            failed = step_ended(app, "pre.db_backups_recent", StepStatus.FAILED)
            await watch.until(pilot, failed, 60)
            await watch.until(pilot, lambda: selected(app) == "pre.db_backups_recent", 10)
            text = pane(app, "pre.db_backups_recent")
            result = engine(app).run.results["pre.db_backups_recent"]
            assert f"Failed: {' '.join(result.detail.split())}" in text
            assert "72" in result.detail  # the dump's age names the failure
            assert EVIDENCE in text and "backups/db/" in text  # the dump the check found
            assert "Take a fresh database dump" in text
            assert "r: retry" in text and "o: go on despite it, with a reason" in text
            assert "R:" not in text  # no backup yet: nothing to roll back to
            assert "exit 0" not in text  # "failed exit 0" contradicts itself
            assert watch.dialogs_seen == []


async def test_build_fails_shows_the_build_error_and_offers_rollback(tmp_path: Path) -> None:
    async with rehearsal_app("build-fails", tmp_path) as (app, _target):
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            watch = DialogWatch(app)
            await through_pre(pilot, watch)
            await run_phase_until(pilot, watch, "phase1", gate_holds(app, "phase1"))
            failed = step_ended(app, "phase2.build", StepStatus.FAILED)
            await run_phase_until(
                pilot, watch, "phase2", lambda: failed() or titled(app, ROLLBACK_OFFER)
            )
            await decline_rollback_offer(pilot, watch)
            text = pane(app, "phase2.build")
            assert "Failed: exit code" in text
            assert EVIDENCE in text and "npm" in text.split(EVIDENCE)[1]
            assert "Read the build error" in text
            assert "r: retry" in text and "R: roll back to the pre-deployment version" in text
            assert ROLLBACK_OFFER in watch.dialogs_seen


async def test_backend_unhealthy_names_the_service_and_offers_rollback(tmp_path: Path) -> None:
    async with rehearsal_app("backend-unhealthy", tmp_path) as (app, _target):
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            watch = DialogWatch(app)
            await through_pre(pilot, watch)
            await run_phase_until(pilot, watch, "phase1", gate_holds(app, "phase1"))
            run = engine(app).run

            def bad_step() -> str | None:
                ids = [s.id for s in run.playbook.phase("phase2").steps]
                return next((i for i in ids if run.status(i) == StepStatus.FAILED), None)

            await run_phase_until(
                pilot, watch, "phase2", lambda: titled(app, ROLLBACK_OFFER), timeout=120
            )
            await decline_rollback_offer(pilot, watch)
            step_id = bad_step()
            assert step_id is not None and step_id.startswith("phase2.ready"), step_id
            text = pane(app, step_id)
            assert "Failed:" in text and "backend" in text.split("Failed:")[1]
            assert "unhealthy" in text
            assert "What to do: A service is not healthy" in text
            assert "r: retry" in text and "R: roll back" in text


async def test_ssh_drop_offers_reconnect_not_rollback(tmp_path: Path) -> None:
    async with rehearsal_app("ssh-drop", tmp_path) as (app, _target):
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            watch = DialogWatch(app)
            await through_pre(pilot, watch)
            await run_phase_until(pilot, watch, "phase1", gate_holds(app, "phase1"))
            run = engine(app).run

            def build_settled() -> bool:
                return (
                    run.status("phase2.build")
                    not in (
                        StepStatus.PENDING,
                        StepStatus.RUNNING,
                    )
                    and not app.step_workers()
                )

            await run_phase_until(pilot, watch, "phase2", build_settled, timeout=120)
            assert run.status("phase2.build") == StepStatus.INTERRUPTED, run.results[
                "phase2.build"
            ].detail
            # no "Phase 2 failed. Roll back now?": an interrupted step is not a failed release
            assert ROLLBACK_OFFER not in watch.dialogs_seen
            await watch.until(pilot, lambda: selected(app) == "phase2.build", 10)
            text = pane(app, "phase2.build")
            assert "Interrupted: connection lost" in text
            assert "the drop stopped the command (exit 143)" in text  # the host's record says
            assert "check on the host, then mark it done or retry" in text
            next_actions = text.split("Next:")[1]
            assert next_actions.index("r: reconnect and retry") < next_actions.index(
                "o: mark it done once you checked on the host"
            )
            assert "R:" not in next_actions
            # r reconnects; the build is not safe to rerun blindly, so it asks first
            await pilot.press("r")
            asked = step_ended(app, "phase2.build", StepStatus.PASSED)
            await watch.until(pilot, lambda: app.screen.name == "confirm" or asked(), 60)
            if app.screen.name == "confirm":
                await pilot.press("y")
            await watch.until(pilot, lambda: run.status("phase2.build") == StepStatus.PASSED, 120)


async def test_errors_in_logs_quotes_the_error_lines(tmp_path: Path) -> None:
    async with rehearsal_app("errors-in-logs", tmp_path) as (app, _target):
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            watch = DialogWatch(app)
            await through_pre(pilot, watch)
            run = engine(app).run
            await run_phase_until(pilot, watch, "phase1", gate_holds(app, "phase1"))
            await run_phase_until(pilot, watch, "phase2", gate_holds(app, "phase2"), 120)
            offer = "Phase 3: Post-deployment verification failed. Roll back now?"
            await pilot.press("n")  # opens Phase 3 and starts its probes
            await watch.until(
                pilot,
                lambda: titled(app, offer) or run.status("phase3.error_logs") == StepStatus.FAILED,
                90,
            )
            await watch.until(pilot, lambda: titled(app, offer), 30)
            dialog = app.screen
            await pilot.press("n")
            await watch.until(pilot, lambda: app.screen is not dialog, 10)
            await watch.until(pilot, lambda: not app.step_workers(), 60)
            app.screen.select_step("phase3.error_logs")
            await pilot.pause()
            text = pane(app, "phase3.error_logs")
            assert "Failed:" in text and "ERROR" in text.split(EVIDENCE)[1]
            assert "decide with the Tech Lead" in text
            assert "R: roll back" in text and "o: go on despite it" in text
