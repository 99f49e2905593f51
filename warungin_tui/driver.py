"""The one place requests become engine calls and step workers (harlequin's `_execute_query`).

Screens post typed requests (`screens/messages.py`); the app hands each to `RunDriver.handle`.
Refusals are handled one way: the rulebook's sentence (an `EngineError`) becomes a warning toast,
and the screen that asked gets a `RequestRefused` to show it in place if it wants. Failures of a
worker are handled in the app's Worker.StateChanged handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from warungin_tui.config import archive_dir
from warungin_tui.engine.engine import Engine, EngineError, NeedsConfirmation, StillRunningOnHost
from warungin_tui.engine.rules import (
    Action,
    open_automated_steps,
    phase_refusal,
    rollback_offer_refusal,
    run_refusal,
    step_refusal,
)
from warungin_tui.files import notice_of, save_notice
from warungin_tui.hostlock import HostLockHeld
from warungin_tui.outcome import BAD, GATE_OK, Outcome, StepStatus
from warungin_tui.playbook import StepSpec
from warungin_tui.screens.base import StepScreen
from warungin_tui.screens.confirm import ConfirmScreen
from warungin_tui.screens.messages import (
    STEP_GROUP,
    AbandonRequested,
    AcknowledgeAlertRequested,
    ConfirmSentRequested,
    CopyMessageRequested,
    DecisionRequested,
    ExportRequested,
    FinishRequested,
    GateOverrideRequested,
    InputRequested,
    NewRunRequested,
    OverrideRequested,
    Request,
    RequestRefused,
    RollbackRequested,
    RunPhaseRequested,
    RunStepRequested,
    SaveMessageRequested,
    SignOffRequested,
    SkipRequested,
    TickRequested,
)
from warungin_tui.screens.prompt import ChoicePrompt, TextPrompt, open_prompt
from warungin_tui.widgets.format import command_preview

if TYPE_CHECKING:
    from warungin_tui.app import WarunginApp

HOST_CHOICES = ("Wait for it (its output is followed from the host)", "Stop it on the host")


class RunDriver:
    """Turns requests into engine calls (answers) or exclusive step workers (runs, rollback)."""

    def __init__(self, app: WarunginApp) -> None:
        self.app = app

    @property
    def engine(self) -> Engine:
        return self.app.require_engine()

    # -- the one entry point -----------------------------------------------------------------
    def handle(self, request: Request) -> bool:
        """Carry out `request`; False when the engine refused it (the operator was told why)."""
        try:
            self._dispatch(request)
        except EngineError as exc:
            self.refused(request, exc)
            return False
        return True

    def refused(self, request: Request, exc: EngineError) -> None:
        self.app.notify(str(exc), title=exc.title, severity="warning", timeout=8)
        self.app.screen.post_message(RequestRefused(request, str(exc), exc.title))

    def _dispatch(self, request: Request) -> None:
        engine = self.engine
        match request:
            case TickRequested(step_id=step_id, passed=passed, note=note):
                engine.tick(step_id, passed=passed, note=note)
            case SignOffRequested(step_id=step_id, name=name):
                engine.sign_off(step_id, name)
            case InputRequested(step_id=step_id, value=value):
                engine.record_input(step_id, value)
            case SkipRequested(step_id=step_id, reason=reason):
                engine.skip(step_id, reason)
            case OverrideRequested(step_id=step_id, reason=reason):
                engine.override_step(step_id, reason)
            case GateOverrideRequested(phase_id=phase_id, reason=reason):
                engine.override_gate(phase_id, reason)
            case DecisionRequested():
                engine.decide(
                    request.decision,
                    authorized_by=request.authorized_by,
                    effective_at=request.effective_at,
                    monitoring_override_reason=request.monitoring_override_reason,
                )
            case FinishRequested():
                engine.finish()
                self.export()
            case AbandonRequested(reason=reason):
                engine.abandon(reason)
                self.export()
            case ExportRequested():
                self.export()
            case RunStepRequested(step_id=step_id, reconnect=reconnect):
                action = Action.RETRY if reconnect else Action.RUN_STEP
                busy = self.app.busy_step()
                engine.refuse(step_refusal(engine.run, step_id, action, busy=busy))
                self._start(self._run_step(step_id, reconnect), "step")
            case RunPhaseRequested(phase_id=phase_id, auto=auto):
                self.run_phase(phase_id, auto=auto)
            case RollbackRequested(confirmed=confirmed):
                self.start_rollback(confirmed=confirmed)
            case NewRunRequested():
                engine.refuse(run_refusal(engine.run, Action.NEW_RUN, busy=self.app.busy_step()))
                self.app.start_new_run()
            case ConfirmSentRequested(step_id=step_id):
                engine.confirm_notice_sent(step_id)
            case AcknowledgeAlertRequested(alert_id=alert_id, note=note):
                engine.acknowledge_monitoring_alert(alert_id, note)
            case SaveMessageRequested(step_id=step_id):
                self.save_message(step_id)
            case CopyMessageRequested(step_id=step_id):
                self.copy_message(step_id)
            case _:
                raise TypeError(f"no handler for {type(request).__name__}")

    # -- step workers ------------------------------------------------------------------------
    def _start(self, work: Awaitable[None], name: str) -> None:
        """One step worker at a time: the busy rule refused a second one before this."""
        self.app.run_worker(work, name=name, group=STEP_GROUP, exclusive=True, exit_on_error=False)

    def run_phase(self, phase_id: str, *, auto: bool = False) -> None:
        engine = self.engine
        refusal = phase_refusal(engine.run, phase_id, Action.RUN_PHASE, busy=self.app.busy_step())
        if auto and refusal is not None:
            return  # opening a phase only shows it; `a` says why it cannot run
        engine.refuse(refusal)
        self._start(self._run_phase(phase_id), "phase")

    async def _run_step(self, step_id: str, reconnect: bool) -> None:
        engine = self.engine
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
                    self.app.notify(f"{spec.title} was not run.", title="Not confirmed")
                    return None
                confirmed = True
            except HostLockHeld as exc:
                if not await self._break_lock(exc):
                    return None
            except StillRunningOnHost as exc:
                return await self._still_running(spec, exc)

    async def _break_lock(self, held: HostLockHeld) -> bool:
        """Another run holds the host lock: break it only with a typed reason."""
        reason = await self.app.push_screen_wait(
            TextPrompt(
                "The host is locked by another run",
                f"{held}\n\nType why you break it (recorded in both journals), or escape to "
                "leave it.",
            )
        )
        if not reason:
            return False
        holder = await self.engine.break_host_lock(reason)
        who = holder.describe() if holder else "nobody any more"
        self.app.notify(f"Broken: it was held by {who}.", title="Host lock broken", timeout=10)
        return True

    async def _still_running(self, spec: StepSpec, running: StillRunningOnHost) -> Outcome | None:
        """The host says the command still runs: the engine offers to wait or to stop it."""
        engine = self.engine
        choice = await self.app.push_screen_wait(
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

    async def _run_phase(self, phase_id: str) -> None:
        engine = self.engine
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
        left = open_automated_steps(engine.run, phase_id)
        if not left:
            if not self._showing_phase(phase_id):  # on the phase its rows already say so
                self.app.notify(
                    f"{len(outcomes)} automated step(s) of {phase.title} done.", title="Done"
                )
            return
        # probes run together all report: name each failure, not only the first
        failed = [s for s in left if engine.run.results[s.id].status in BAD]
        spec = failed[0] if failed else left[0]
        result = engine.run.results[spec.id]
        if result.status in BAD:
            detail = result.detail
            if len(failed) > 1:
                detail += f"\n{len(failed)} failed: " + "; ".join(s.title for s in failed)
            self._tell_outcome(spec, result.status, detail)
        else:
            self.app.notify(f"Stopped before {spec.title}.", title=phase.title, severity="warning")

    def _select_next_open_step(self, phase_id: str) -> None:
        """After `a`, put the cursor on what still needs the operator (a tick, a name)."""
        screen = self.app.screen
        next_step = self.engine.run.next_step(phase_id)
        if isinstance(screen, StepScreen) and screen.phase_id == phase_id and next_step:
            screen.following = False
            screen.select_step(next_step)

    async def _rollback(self, reason: str) -> None:
        engine = self.engine
        await self._reconnect(engine)
        try:
            ok = await engine.rollback(reason=reason, confirm=self.confirm_step)
        except HostLockHeld as exc:
            if not await self._break_lock(exc):
                return
            ok = await engine.rollback(reason=reason, confirm=self.confirm_step)
        detail = engine.run.rollbacks[-1].get("detail", "") if engine.run.rollbacks else ""
        if ok:
            self.export()  # the rollback ends the deployment: archive what happened
        self.app.notify(
            detail,
            title="Rollback done" if ok else "Rollback stopped",
            severity="information" if ok else "error",
            timeout=15,
        )

    async def confirm_step(self, spec: StepSpec, why: str = "") -> bool:
        """Ask before a destructive (or not retry-safe) step; only from inside a worker."""
        engine = self.engine
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
        dialog = ConfirmScreen(f"Run {spec.title}?", message, danger=True)
        confirmed: bool = await self.app.push_screen_wait(dialog)
        return confirmed

    async def _reconnect(self, engine: Engine) -> None:
        """Open the SSH connection again first, so a dead host does not cost an attempt."""
        remote = engine.remote
        if remote is None or remote.connected:
            return
        self.app.notify(f"Reconnecting to {self.app.config.target.label} ...")
        await remote.connect()

    def _showing_phase(self, phase_id: str) -> bool:
        screen = self.app.screen
        return isinstance(screen, StepScreen) and screen.phase_id == phase_id

    def _tell_outcome(self, spec: StepSpec, status: StepStatus, detail: str) -> None:
        """A step did not pass: its detail pane explains it (what, evidence, what to do, keys),
        so the pane is put on it; a toast only points there from another screen."""
        if status in GATE_OK:
            return
        phase = self.engine.run.playbook.phase_of(spec.id)
        screen = self.app.screen
        if self._showing_phase(phase.id) and isinstance(screen, StepScreen):
            screen.select_step(spec.id)
        else:
            self.app.notify(
                f"Open {phase.title}: its detail says why and what to do.",
                title=f"{spec.title}: {status}",
                severity="error",
                timeout=8,
            )
        self._offer_rollback(spec, detail)

    def _offer_rollback(self, spec: StepSpec, detail: str) -> None:
        """A step really failed after the backup exists: offer the rollback at once (seed:
        CRITICAL ISSUES RESPONSE); `n` keeps the operator in charge. The rulebook says when
        (never for an interrupted step: reconnect and ask the host first)."""
        engine = self.engine
        phase = engine.run.playbook.phase_of(spec.id)
        if rollback_offer_refusal(engine.run, spec.id) is not None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.handle(RollbackRequested(confirmed=True))

        self.app.push_screen(
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
        engine = self.engine
        engine.refuse(run_refusal(engine.run, Action.ROLLBACK, busy=self.app.busy_step()))
        backup = engine.run.values.get("backup_file", "?")

        def reason_given(reason: str) -> None:
            self.app.open_phase("rollback", follow=True)
            self._start(self._rollback(reason), "rollback")

        def ask_reason(yes: bool | None) -> None:
            if yes:
                open_prompt(
                    self.app,
                    TextPrompt("Why roll back?", "Kept in the log and the incident report."),
                    reason_given,
                )

        if confirmed:
            ask_reason(True)
            return
        self.app.push_screen(
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
    def save_message(self, step_id: str) -> Path | None:
        """Write the filled-in message to the archive folder, readable by the operator only."""
        folder = archive_dir(self.app.config)
        try:
            path = save_notice(self.engine.run, step_id, folder)
        except LookupError as exc:
            self.app.notify(str(exc.args[0]), severity="warning")
            return None
        except OSError as exc:
            where = exc.filename or folder
            self.app.notify(f"{where}: {exc.strerror or exc}", title="Not saved", severity="error")
            return None
        self.app.notify(str(path), title="Message saved")
        return path

    def copy_message(self, step_id: str) -> None:
        notice = notice_of(self.engine.run, step_id)
        if notice is None:
            self.app.notify("No message yet: run the step first.", severity="warning")
            return
        self.app.copy_to_clipboard(notice["body"])
        self.app.notify(
            "Copied through the terminal (OSC 52); paste it into your mail client.",
            title="Message copied",
        )

    # -- export ------------------------------------------------------------------------------
    def export(self) -> list[Path]:
        engine = self.engine
        try:
            from warungin_tui.report.export import export_recorded
        except ImportError as exc:
            self.app.notify(
                f"The exporter is not available: {exc}", title="Export failed", severity="error"
            )
            return []
        journal = engine.journal.path if engine.journal is not None else None
        out_dir = archive_dir(self.app.config)
        try:
            if engine.read_only:  # a read-only view never appends to the run's journal
                from warungin_tui.report.export import export_run

                paths = export_run(engine.run, self.app.config, out_dir, journal_path=journal)
            else:
                paths = export_recorded(
                    engine.run, self.app.config, out_dir, journal_path=journal, record=engine.record
                )
        except Exception as exc:  # noqa: BLE001 - an export problem must not end the run
            title = getattr(exc, "title", "Export failed")
            self.app.notify(f"{type(exc).__name__}: {exc}", title=title, severity="error")
            return []
        self.app.notify("\n".join(str(p) for p in paths), title="Log exported", timeout=10)
        return list(paths)
