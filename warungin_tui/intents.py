"""What the screens ask the app to do: engine calls, step workers, files, clipboard.

A mixin of `WarunginApp`, kept apart so the app module stays about lifecycle and navigation.
Engine refusals (EngineError and subclasses, with a `title`) become notifications; failures of
a worker are handled in one place, the app's Worker.StateChanged handler.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import Worker

from warungin_tui.config import Config, archive_dir
from warungin_tui.engine import Engine, EngineError, NeedsConfirmation, StillRunningOnHost
from warungin_tui.hostlock import HostLockHeld
from warungin_tui.playbook import StepSpec
from warungin_tui.run import BAD, GATE_OK, StepStatus
from warungin_tui.screens.confirm import ConfirmScreen
from warungin_tui.screens.prompt import ChoicePrompt, TextPrompt
from warungin_tui.steps.base import Outcome
from warungin_tui.widgets.format import command_preview

if TYPE_CHECKING:
    from textual.app import App

    _Base = App[int]
else:
    _Base = object

STEP_GROUP = "steps"
HOST_CHOICES = ("Wait for it (its output is followed from the host)", "Stop it on the host")


class RunIntents(_Base):
    """Intents on the run; expects `engine`, `config` and `progress` from the app."""

    engine: Engine | None
    config: Config
    progress: dict[str, dict[str, Any]]
    clock: Callable[[], datetime]

    def open_phase(
        self, phase_id: str, step_id: str | None = None, *, follow: bool = False
    ) -> None:
        raise NotImplementedError  # the app navigates

    def require_engine(self) -> Engine:
        if self.engine is None:
            raise RuntimeError("no run yet: the start screen creates it")
        return self.engine

    # -- synchronous intents -----------------------------------------------------------------
    def act(self, intent: Callable[..., object], *args: Any, **kwargs: Any) -> bool:
        """Call an engine intent; a refusal is told to the operator, never raised."""
        try:
            intent(*args, **kwargs)
        except EngineError as exc:
            self.notify(str(exc), title=exc.title, severity="warning", timeout=8)
            return False
        return True

    def busy_step(self) -> str | None:
        """The title of the step (or run) in progress, if a step worker is running."""
        for worker in self.workers:
            if worker.group == STEP_GROUP and worker.is_running:
                engine = self.require_engine()
                active = engine.active_step
                return engine.run.playbook.step(active).title if active else worker.name
        return None

    def _refuse_if_busy(self) -> bool:
        busy = self.busy_step()
        if busy:
            # Starting another step worker would cancel this one (exclusive group): refuse.
            self.notify(f"{busy} is still running; wait for it.", title="Busy", severity="warning")
        return bool(busy)

    # -- step workers ------------------------------------------------------------------------
    def run_step(self, step_id: str, *, reconnect: bool = False) -> None:
        if not self._refuse_if_busy():
            self._step_worker(step_id, reconnect)

    def run_all(self, phase_id: str, *, auto: bool = False) -> None:
        engine = self.require_engine()
        phase = engine.run.playbook.phase(phase_id)
        if not any(s.automated and engine.run.status(s.id) not in GATE_OK for s in phase.steps):
            if not auto:
                self.notify(f"No automated step of {phase.title} is left to run.")
            return
        if auto and engine.run.blocking_phase(phase_id) is not None:
            return  # opening a gated phase only shows it; `a` says why it cannot run
        if not self._refuse_if_busy():
            self._phase_worker(phase_id)

    @work(exclusive=True, group=STEP_GROUP, exit_on_error=False, name="step")
    async def _step_worker(self, step_id: str, reconnect: bool) -> None:
        engine = self.require_engine()
        spec = engine.run.playbook.step(step_id)
        if reconnect:
            await self._reconnect(engine)
        outcome = await self._guarded(
            spec, lambda confirmed: engine.run_step(step_id, confirmed=confirmed)
        )
        if outcome is not None:
            self._tell_outcome(spec, outcome.status, outcome.detail)

    async def _guarded(
        self, spec: StepSpec, act: Callable[[bool], Awaitable[Outcome | None]]
    ) -> Outcome | None:
        """Run a step action, answering what the engine asks: a confirmation, a host lock held
        by another run (break it with a reason?), a command still running on the host (wait
        for it or stop it?). None when nothing was recorded."""
        confirmed = False
        while True:
            try:
                return await act(confirmed)
            except NeedsConfirmation as exc:
                if confirmed or not await self.confirm_step(spec, str(exc)):
                    self.notify(f"{spec.title} was not run.", title="Not confirmed")
                    return None
                confirmed = True
            except HostLockHeld as exc:
                if not await self._break_lock(exc):
                    return None
            except StillRunningOnHost as exc:
                return await self._still_running(spec, exc)

    async def _break_lock(self, held: HostLockHeld) -> bool:
        """Another run holds the host lock: break it only with a typed reason."""
        reason = await self.push_screen_wait(
            TextPrompt(
                "The host is locked by another run",
                f"{held}\n\nType why you break it (recorded in both journals), or escape to "
                "leave it.",
            )
        )
        if not reason:
            return False
        holder = await self.require_engine().break_host_lock(reason)
        who = holder.describe() if holder else "nobody any more"
        self.notify(f"Broken: it was held by {who}.", title="Host lock broken", timeout=10)
        return True

    async def _still_running(self, spec: StepSpec, running: StillRunningOnHost) -> Outcome | None:
        """The host says the command still runs: the engine offers to wait or to stop it."""
        engine = self.require_engine()
        choice = await self.push_screen_wait(
            ChoicePrompt(
                f"{spec.title} is still running on the host", list(HOST_CHOICES), str(running)
            )
        )
        if choice == HOST_CHOICES[0]:
            outcome = await engine.wait_for_host_command(spec.id)
        elif choice == HOST_CHOICES[1]:
            outcome = await engine.stop_host_command(spec.id)
        else:
            return None
        if outcome is None:
            result = engine.run.results[spec.id]
            self._tell_outcome(spec, result.status, result.detail)
        return outcome

    @work(exclusive=True, group=STEP_GROUP, exit_on_error=False, name="phase")
    async def _phase_worker(self, phase_id: str) -> None:
        engine = self.require_engine()
        await self._reconnect(engine)
        while True:
            try:
                outcomes = await engine.run_automated(phase_id, confirm=self.confirm_step)
                break
            except HostLockHeld as exc:
                if not await self._break_lock(exc):
                    return
            except StillRunningOnHost as exc:
                spec = engine.run.playbook.step(exc.step_id)
                outcome = await self._still_running(spec, exc)
                if outcome is None or outcome.status not in GATE_OK:
                    if outcome is not None:
                        self._tell_outcome(spec, outcome.status, outcome.detail)
                    return
        self._select_next_open_step(phase_id)
        phase = engine.run.playbook.phase(phase_id)
        left = [s for s in phase.steps if s.automated and engine.run.status(s.id) not in GATE_OK]
        if not left:
            self.notify(f"{len(outcomes)} automated step(s) of {phase.title} done.", title="Done")
            return
        spec = left[0]
        result = engine.run.results[spec.id]
        if result.status in BAD:
            self._tell_outcome(spec, result.status, result.detail)
        else:
            self.notify(f"Stopped before {spec.title}.", title=phase.title, severity="warning")

    def _select_next_open_step(self, phase_id: str) -> None:
        """After `a`, put the cursor on what still needs the operator (a tick, a name)."""
        from warungin_tui.screens.base import StepScreen

        screen = self.screen
        next_step = self.require_engine().run.next_step(phase_id)
        if isinstance(screen, StepScreen) and screen.phase_id == phase_id and next_step:
            screen.following = False
            screen.select_step(next_step)

    @work(exclusive=True, group=STEP_GROUP, exit_on_error=False, name="rollback")
    async def _rollback_worker(self, reason: str) -> None:
        engine = self.require_engine()
        await self._reconnect(engine)
        try:
            ok = await engine.rollback(reason=reason, confirm=self.confirm_step)
        except HostLockHeld as exc:
            if not await self._break_lock(exc):
                return
            ok = await engine.rollback(reason=reason, confirm=self.confirm_step)
        detail = engine.run.rollbacks[-1].get("detail", "") if engine.run.rollbacks else ""
        if ok:
            self.export_now()  # the rollback ends the deployment: archive what happened
        self.notify(
            detail,
            title="Rollback done" if ok else "Rollback stopped",
            severity="information" if ok else "error",
            timeout=15,
        )

    async def confirm_step(self, spec: StepSpec, why: str = "") -> bool:
        """Ask before a destructive (or not retry-safe) step; only from inside a worker."""
        engine = self.require_engine()
        preview = command_preview(spec, engine.values(spec), engine.run.results[spec.id])
        lines = preview.splitlines()
        if len(lines) > 4:  # a long script: its start, the rest in `warungin-tui plan`
            rest = f"... ({len(lines) - 3} more lines: `warungin-tui plan` shows them all)"
            preview = "\n".join([*lines[:3], rest])
        if not why:
            why = (
                f"{spec.title} is destructive."
                if spec.destructive
                else f"{spec.title} was interrupted and the host cannot say how it ended."
            )
        message = f"{why}\n\n{spec.seed_ref}\n$ {preview}"
        if spec.id.startswith("rollback.") and (restore := engine.restore_preview()):
            message = f"{restore}\n\n{message}"
        return bool(
            await self.push_screen_wait(ConfirmScreen(f"Run {spec.title}?", message, danger=True))
        )

    async def _reconnect(self, engine: Engine) -> None:
        """Open the SSH connection again first, so a dead host does not cost an attempt."""
        remote = engine.remote
        if remote is None or getattr(remote, "connected", True):
            return
        self.notify(f"Reconnecting to {self.config.target.label} ...")
        await remote.connect()

    def _tell_outcome(self, spec: StepSpec, status: StepStatus, detail: str) -> None:
        if status in GATE_OK:
            return
        hint = {
            StepStatus.INTERRUPTED: "r reconnects and asks the host what became of it first",
            StepStatus.FAILED: "r retries, o overrides with a reason, R rolls back",
        }.get(status, "")
        self.notify(
            f"{detail}\n{hint}".strip(),
            title=f"{spec.title}: {status}",
            severity="error",
            timeout=12,
        )
        self._offer_rollback(spec, detail)

    def _offer_rollback(self, spec: StepSpec, detail: str) -> None:
        """A gate failed after the backup exists: offer the rollback at once (seed: CRITICAL
        ISSUES RESPONSE); `n` keeps the operator in charge (retry, override, investigate)."""
        engine = self.require_engine()
        phase = engine.run.playbook.phase_of(spec.id)
        if phase.procedure or not engine.run.rollback_available:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.start_rollback(confirmed=True)

        self.push_screen(
            ConfirmScreen(
                f"{phase.title} failed. Roll back now?",
                f"{spec.title}: {detail}\n\ny starts the rollback (asks why, then restores the "
                "pre-deployment version); n keeps this deployment to retry (r) or override (o).",
                danger=True,
            ),
            answered,
        )

    # -- rollback ----------------------------------------------------------------------------
    def start_rollback(self, *, confirmed: bool = False) -> None:
        """`confirmed`: the operator already said yes (the automatic offer after a failure)."""
        engine = self.require_engine()
        if self._refuse_if_busy():
            return
        backup = engine.run.values.get("backup_file", "?")

        def reason_given(reason: str | None) -> None:
            if reason is None:
                return
            self.open_phase("rollback", follow=True)
            self._rollback_worker(reason)

        def ask_reason(yes: bool | None) -> None:
            if yes:
                self.push_screen(
                    TextPrompt("Why roll back?", "Kept in the log and the incident report."),
                    reason_given,
                )

        if confirmed:
            ask_reason(True)
            return
        self.push_screen(
            ConfirmScreen(
                "Roll back to the pre-deployment version?",
                f"Restores exactly the pre-deployment tree and commit from {backup}, rebuilds "
                "and restarts the services; users are offline meanwhile. Destructive steps "
                "ask again before they run.",
                danger=True,
            ),
            ask_reason,
        )

    # -- notification messages ---------------------------------------------------------------
    def _notice(self, step_id: str) -> dict[str, str] | None:
        value = self.require_engine().run.results[step_id].value
        return value if isinstance(value, dict) and "body" in value else None

    def save_message(self, step_id: str) -> Path | None:
        """Write the filled-in message to the archive folder, readable by the operator only."""
        notice = self._notice(step_id)
        if notice is None:
            self.notify("No message yet: run the step first.", severity="warning")
            return None
        folder = archive_dir(self.config)
        path = folder / f"{self.require_engine().run.run_id}-{step_id}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)  # an existing file keeps its old mode otherwise
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(f"Subject: {notice.get('subject', '')}\n\n{notice['body']}\n")
        except OSError as exc:
            self.notify(f"{path}: {exc.strerror or exc}", title="Not saved", severity="error")
            return None
        self.notify(str(path), title="Message saved")
        return path

    def copy_message(self, step_id: str) -> None:
        notice = self._notice(step_id)
        if notice is None:
            self.notify("No message yet: run the step first.", severity="warning")
            return
        self.copy_to_clipboard(notice["body"])
        self.notify(
            "Copied through the terminal (OSC 52); paste it into your mail client.",
            title="Message copied",
        )

    # -- export ------------------------------------------------------------------------------
    def export_now(self) -> list[Path]:
        engine = self.require_engine()
        try:
            from warungin_tui.export import export_recorded
        except ImportError as exc:
            self.notify(
                f"The exporter is not available: {exc}", title="Export failed", severity="error"
            )
            return []
        journal = engine.journal.path if engine.journal is not None else None
        out_dir = archive_dir(self.config)
        try:
            if engine.read_only:  # a read-only view never appends to the run's journal
                from warungin_tui.export import export_run

                paths = export_run(engine.run, self.config, out_dir, journal_path=journal)
            else:
                paths = export_recorded(
                    engine.run, self.config, out_dir, journal_path=journal, record=engine.record
                )
        except Exception as exc:  # noqa: BLE001 - an export problem must not end the run
            title = getattr(exc, "title", "Export failed")
            self.notify(f"{type(exc).__name__}: {exc}", title=title, severity="error")
            return []
        self.notify("\n".join(str(p) for p in paths), title="Log exported", timeout=10)
        return list(paths)

    def step_workers(self) -> list[Worker[Any]]:
        return [w for w in self.workers if w.group == STEP_GROUP and w.is_running]

    def failed_run(self) -> bool:
        engine = self.engine
        return engine is not None and bool(engine.run.failed_gates())
