"""The wizard: a Textual app over the engine. Start -> overview -> one screen per phase.

The engine runs in this event loop (steps are async workers); its listener turns journal
records into typed messages for the screens. Screens render run state and post requests.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App, ScreenStackError
from textual.binding import BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from warungin_tui import startup
from warungin_tui.config_beside import DeferredConfig, StartInfo
from warungin_tui.engine.actions import Action, Refusal
from warungin_tui.errors import EngineError, ReadOnlyRun
from warungin_tui.hostrecords import HostState
from warungin_tui.journal import (
    JournalLocked,
    describe_holder,
    find_unfinished_run,
    journal_holder,
)
from warungin_tui.outcome import StepStatus
from warungin_tui.remote_api import RemoteFactory, RemoteLink
from warungin_tui.screens.keys import APP_BINDINGS, explain_bindings
from warungin_tui.screens.messages import (
    STEP_GROUP,
    ExportRequested,
    Request,
    RollbackRequested,
    RunChanged,
    StartRequested,
    StepChanged,
    StepOutput,
    StepProgress,
)
from warungin_tui.screens.prompt import AnswerPrompt
from warungin_tui.screens.start import StartScreen

if TYPE_CHECKING:
    from textual.command import Provider

    from warungin_tui.config import Config
    from warungin_tui.driver import RunDriver
    from warungin_tui.engine.engine import Engine, SavedRun
    from warungin_tui.screens.base import RunScreen

# The first frame (the start screen) needs none of the run's machinery: the engine, the driver,
# the run screens and the command palette's provider are imported when first used, and the
# config's models (pydantic) are built right after the frame (config_beside.py).

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
QUIT_WAIT_S = 10.0
"""How long quitting waits for a cancelled step to record its interrupted outcome."""


def _default_remote(target: Any) -> RemoteLink:
    from warungin_tui.remote import Remote  # asyncssh loads after the first frame

    return Remote(target)


def _run_commands() -> type[Provider]:
    from warungin_tui.commands import RunCommands  # the palette's provider, on first open

    return RunCommands


class WarunginApp(App[int]):
    """Keyboard-only deployment wizard. Construct with the config; `run()` returns an exit code."""

    CSS_PATH = "app.tcss"
    TITLE = "warungin-tui"
    COMMANDS = App.COMMANDS | {_run_commands}
    BINDINGS: ClassVar[list[BindingType]] = [
        *APP_BINDINGS,
        *explain_bindings(APP_BINDINGS, action="explain_app"),
    ]

    def __init__(
        self,
        config: Config | DeferredConfig,
        config_path: Path,
        *,
        journal_dir: Path | None = None,
        remote_factory: RemoteFactory | None = None,
        prepare_engine: Callable[[Engine], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        demo_keep_dir: Path | None = None,
        demo_scenario: str | None = None,
    ) -> None:
        super().__init__()
        self.demo_keep_dir = demo_keep_dir
        """Set by `demo`: its run cannot be resumed; journal and exports move here at exit."""
        self.demo_scenario = demo_scenario
        """Set by `demo`: the rehearsal scenario in a line ("healthy: Everything works ...")."""
        # The wizard's own start passes a DeferredConfig: the start screen is drawn from its
        # validated StartInfo, and the models are built right after the first frame.
        self._config = config
        self.start_info = (
            config.start_info() if isinstance(config, DeferredConfig) else StartInfo.of(config)
        )
        self.config_path = config_path
        self.journal_dir = journal_dir or Path(self.start_info.journal_dir)
        self.remote_factory = remote_factory or _default_remote
        self.prepare_engine = prepare_engine
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.engine: Engine | None = None
        self.remote: RemoteLink | None = None
        self.progress: dict[str, dict[str, Any]] = {}
        self.refused = False
        self.emergency_cleanups: list[Callable[[], None]] = []
        """Synchronous cleanups run if a hangup's graceful exit hangs (the demo's target)."""
        self._unsubscribe: Callable[[], None] | None = None
        self._quitting = False
        self._autoran: set[str] = set()
        self.saved_run: SavedRun | None = None
        self._held_notices: list[tuple[str, str, SeverityLevel, float | None]] = []
        """Notices that arrived while a dialog was open (shown when it closes)."""
        self._run_driver: RunDriver | None = None

    @property
    def config(self) -> Config:
        """The validated config (a deferred one's models are built on first use: right after
        the first frame, or sooner when something needs it)."""
        config = self._config
        return config.load() if isinstance(config, DeferredConfig) else config

    @property
    def driver(self) -> RunDriver:
        """Turns the screens' requests into engine calls and step workers (made on first use:
        it imports the engine)."""
        if self._run_driver is None:
            from warungin_tui.driver import RunDriver

            self._run_driver = RunDriver(self)
        return self._run_driver

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Notifications quote commands, paths and server output: never read them as markup."""
        if self._dialog_open():
            # A toast must never cover a dialog's question: it waits until the dialog closes.
            self._held_notices.append((message, title, severity, timeout))
            return
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def _dialog_open(self) -> bool:
        try:
            return isinstance(self.screen, ModalScreen)
        except ScreenStackError:
            return False

    def _screen_changed(self, screen: Screen[Any]) -> None:
        """A dialog opening clears the toasts (none covers it); once the dialog is gone, the
        notices held meanwhile are shown."""
        if isinstance(screen, ModalScreen):
            self.clear_notifications()
            return
        held, self._held_notices = self._held_notices, []
        for message, title, severity, timeout in held:
            self.notify(message, title=title, severity=severity, timeout=timeout)

    # -- start -------------------------------------------------------------------------------
    HANGUP_SIGNALS = (signal.SIGHUP, signal.SIGTERM)

    def _exit_on_hangup(self) -> None:
        """A dropped SSH session (SIGHUP) or a kill (SIGTERM) exits like `q`: workers are
        cancelled, the running step is journaled as interrupted, the demo target is stopped."""
        loop = asyncio.get_running_loop()
        for sig in self.HANGUP_SIGNALS:
            try:
                loop.add_signal_handler(sig, self._on_hangup)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not on the main thread, or a platform without the signal

    def _on_hangup(self) -> None:
        self.exit(EXIT_OK)
        # Textual's shutdown can block forever writing to a terminal that is gone (seen here with
        # tmux kill-server): a watchdog makes sure the process ends, after the last-resort cleanups.
        watchdog = threading.Thread(
            target=_exit_after, args=(HANGUP_GRACE_S, list(self.emergency_cleanups)), daemon=True
        )
        watchdog.start()

    def _forget_hangup(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self.HANGUP_SIGNALS:
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    async def on_event(self, event: events.Event) -> None:
        # A key typed after a dialog's enter waits for the answer, then goes to the screen below
        # (screens/prompt.py): forwarded to the closing dialog's field, it was lost.
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded  # as it comes in (later it bubbles back up here)
            and self._screen_stack
            and isinstance(self.screen, AnswerPrompt)
            and self.screen.take_key(event, self.focused)
        ):
            return
        await super().on_event(event)

    def on_mount(self) -> None:
        self._exit_on_hangup()
        self.screen_change_signal.subscribe(self, self._screen_changed)
        # One parse of the unfinished journal serves the summary here and the resume later.
        # Without one (outlines only, no engine import) the first frame stays light.
        if find_unfinished_run(self.journal_dir, self.start_info.label) is not None:
            from warungin_tui.engine.engine import load_unfinished_run

            self.saved_run = load_unfinished_run(self.config, self.journal_dir)
        saved = self.saved_run
        path, run = (saved.path, saved.run) if saved is not None else (None, None)
        self.push_screen(
            StartScreen(self.start_info, self.config_path, path, run, scenario=self.demo_scenario)
        )
        self.call_after_refresh(self._first_frame_drawn)

    def _first_frame_drawn(self) -> None:
        if isinstance(self._config, DeferredConfig):  # built now, while the screen is read
            self._config.load()
        startup.first_frame_drawn()  # after them: what they made is frozen too

    def on_start_requested(self, message: StartRequested) -> None:
        self.connect_and_start(message.operator, message.resume_path)

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def connect_and_start(self, operator: str, resume_path: Path | None) -> None:
        from warungin_tui.engine.engine import Engine
        from warungin_tui.remote import HostKeyChanged, HostKeyUnknown, RemoteError
        from warungin_tui.screens.hostkey import HostKeyChangedScreen, HostKeyScreen

        start = self.get_screen_of(StartScreen)
        if resume_path is not None and (holder := journal_holder(resume_path)) is not None:
            # Another process has this run open: show it, never append to it.
            self._show_engine(Engine.open_read_only(self.config, resume_path, holder), start)
            self.notify(
                f"This run is open in {describe_holder(holder)}: shown read-only.",
                title="Read-only",
                severity="warning",
                timeout=15,
            )
            return
        if self.remote is None:
            self.remote = self.remote_factory(self.config.target)
        trusted: list[str] = []
        while True:
            try:
                await self.remote.connect()
                break
            except HostKeyUnknown as exc:
                if not await self.push_screen_wait(HostKeyScreen(exc)):
                    self.refused = True
                    start.connect_failed("Host key refused", "nothing was run or saved")
                    return
                await self.remote.trust_host_key(exc)
                trusted.append(exc.fingerprint)
            except HostKeyChanged as exc:
                self.refused = True
                start.connect_failed(exc.title, "refused; escape comes back here")
                self.push_screen(HostKeyChangedScreen(exc))
                return
            except RemoteError as exc:
                start.connect_failed(exc.title, str(exc))
                return
        if resume_path is not None:
            try:
                engine = Engine.resume(
                    self.config,
                    resume_path,
                    remote=self.remote,
                    guard_host=True,
                    saved=self.saved_run,
                )
            except JournalLocked as exc:  # opened elsewhere while we connected
                self._show_engine(
                    Engine.open_read_only(self.config, resume_path, exc.holder), start
                )
                self.notify(str(exc), title=exc.title, severity="warning", timeout=15)
                return
            engine.set_operator(operator)
        else:
            engine = Engine.start_new(
                self.config,
                self.journal_dir,
                operator=operator,
                remote=self.remote,
                guard_host=True,
            )
        for fingerprint in trusted:
            engine.trusted_host_key(fingerprint)
        if self.prepare_engine is not None:
            self.prepare_engine(engine)
        self._show_engine(engine, start)
        await self._tell_host_lock(engine)
        if resume_path is not None:
            await self._ask_host_about_interrupted(engine)

    async def _tell_host_lock(self, engine: Engine) -> None:
        """Another run holding the host lock is said at once, not only at Phase 1."""
        from warungin_tui.remote import RemoteError

        try:
            held, holder = await engine.host_lock()
        except RemoteError:
            return  # the first step that needs the lock will say what is wrong
        if held and (holder is None or holder.run_id != engine.run.run_id):
            who = holder.describe() if holder else "someone (its holder file is damaged)"
            self.notify(
                f"The host is locked by {who}. Phase 1 cannot start until that run ends or "
                "the lock is broken with a reason.",
                title="Host locked",
                severity="warning",
                timeout=20,
            )

    def _show_engine(self, engine: Engine, start: StartScreen) -> None:
        from warungin_tui.screens.overview import OverviewScreen

        self.engine = engine
        self._unsubscribe = engine.subscribe(self._on_record)
        while self.screen is not start:  # e.g. help opened while connecting
            self.pop_screen()
        self.switch_screen(OverviewScreen())

    async def _ask_host_about_interrupted(self, engine: Engine) -> None:
        """On resume: steps the journal left running are settled from the host's records."""
        said = await engine.resolve_interrupted()
        for step_id, found in said.items():
            title = engine.run.playbook.step(step_id).title
            if found is not None and found.state == HostState.RUNNING:
                self.notify(
                    f"{title} is still running on the host (pid {found.pid}): r offers to wait "
                    "for it or stop it.",
                    title="Still running on the host",
                    severity="warning",
                    timeout=15,
                )
            elif engine.run.status(step_id) != StepStatus.INTERRUPTED:
                result = engine.run.results[step_id]
                self.notify(f"{title}: {result.status}. {result.detail}", title="Learned")

    def get_screen_of(self, kind: type[StartScreen]) -> StartScreen:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, kind):
                return screen
        raise LookupError(kind.__name__)

    # -- requests from the screens: one handler -----------------------------------------------
    @on(Request)
    def _on_request(self, request: Request) -> None:
        self.driver.handle(request)

    def request(self, request: Request) -> bool:
        """Carry out a request at once (an answer from a prompt: the next frame must show it,
        or a key pressed meanwhile acts on a stale row); False when the engine refused it."""
        return self.driver.handle(request)

    def require_engine(self) -> Engine:
        if self.engine is None:
            raise RuntimeError("no run yet: the start screen creates it")
        return self.engine

    def step_workers(self) -> list[Worker[Any]]:
        return [w for w in self.workers if w.group == STEP_GROUP and w.is_running]

    def busy_step(self) -> str | None:
        """The title of the step (or run) in progress, if a step worker is running: the
        rulebook's busy rule (a second worker in the exclusive group would cancel it)."""
        for worker in self.step_workers():
            # the engine names every step the worker runs (a phase's probes run together)
            return self.require_engine().busy or worker.name
        return None

    def failed_run(self) -> bool:
        engine = self.engine
        return engine is not None and bool(engine.run.failed_gates())

    def start_new_run(self) -> None:
        """A new deployment is a new run: same operator and connection, a new journal."""
        from warungin_tui.engine.engine import Engine
        from warungin_tui.screens.overview import OverviewScreen

        old = self.require_engine()
        engine = Engine.start_new(
            self.config, self.journal_dir, operator=old.run.operator, remote=self.remote
        )
        if self.prepare_engine is not None:
            self.prepare_engine(engine)
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.run_worker(old.aclose(), name="close-old-run", exit_on_error=False)
        self.engine = engine
        self._unsubscribe = engine.subscribe(self._on_record)
        self.progress.clear()
        self._autoran.clear()
        self.show_overview()
        if isinstance(self.screen, OverviewScreen):
            self.screen.show_current()  # same playbook, new run: the rows redraw in place
        self.notify(f"Run {engine.run.run_id} started.", title="New run")

    # -- engine events -> messages -----------------------------------------------------------
    def _on_record(self, record: dict[str, Any]) -> None:
        """Engine listener (called in this loop, synchronously): post, never block."""
        event = record["event"]
        kind = event.get("type")
        step_id = event.get("step")
        message_type: type[Message]
        args: tuple[Any, ...]
        if kind == "step_output":
            lines = list(event.get("lines", ()))
            if not lines:
                return  # past the journal's limit only a count arrives
            total = self.require_engine().run.results[step_id].output_lines
            stream = event.get("stream", "stdout")
            message_type, args = StepOutput, (step_id, lines, stream, total)
        elif kind == "step_progress":
            self.progress[step_id] = {k: v for k, v in event.items() if k != "type"}
            message_type, args = StepProgress, (step_id, self.progress[step_id])
        elif kind in ("step_started", "step_reattached", "step_finished", "step_overridden"):
            if kind in ("step_started", "step_reattached"):
                self.progress.pop(step_id, None)
            message_type, args = StepChanged, (step_id,)
        else:
            message_type, args = RunChanged, (kind,)
        from warungin_tui.screens.base import RunScreen  # loaded with the first engine

        for screen in self.screen_stack:
            if isinstance(screen, RunScreen) and screen.wants(message_type, step_id):
                screen.post_message(message_type(*args))  # one instance per screen

    # -- navigation --------------------------------------------------------------------------
    def open_phase(
        self,
        phase_id: str,
        step_id: str | None = None,
        *,
        follow: bool = False,
        autorun: bool = False,
    ) -> None:
        """Show a phase (and select a step): replaces the phase screen on top of the overview.

        `follow`: the cursor follows the steps as they run (rollback, run-all).
        `autorun`: its automated steps start as `a` would (`n` from a finished phase: going on
        is what the operator asked for; destructive steps still ask, refusals stay silent).
        """
        from warungin_tui.screens.base import RunScreen
        from warungin_tui.screens.overview import OverviewScreen
        from warungin_tui.screens.phase import PhaseScreen

        top = self.screen
        if isinstance(top, RunScreen) and top.phase_id == phase_id:
            if isinstance(top, PhaseScreen):
                top.following = follow
            select = getattr(top, "select_step", None)
            if step_id is not None and select is not None:
                select(step_id)
            return
        if autorun and self.engine is not None:
            # Only a phase nothing has run in yet: a failed step is retried by `r`, not by `n`.
            run = self.engine.run
            steps = run.playbook.phase(phase_id).steps
            autorun = all(run.status(s.id) == StepStatus.PENDING for s in steps if s.automated)
        screen = self._screen_for(phase_id, step_id, autorun=autorun)
        if isinstance(screen, PhaseScreen):
            # A phase with checks to tick keeps the cursor where the operator works.
            automated_only = all(s.automated for s in screen.phase.steps)
            screen.following = follow or (screen.autorun and automated_only)
        if isinstance(top, RunScreen) and not isinstance(top, OverviewScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def _screen_for(self, phase_id: str, step_id: str | None, *, autorun: bool) -> RunScreen:
        from warungin_tui.screens.completion import CompletionScreen
        from warungin_tui.screens.golive import GoLiveScreen
        from warungin_tui.screens.phase import PhaseScreen
        from warungin_tui.screens.report import ReportScreen

        if phase_id == "report":
            return ReportScreen(step_id)
        if phase_id == "golive":
            return GoLiveScreen(autorun=autorun)
        if phase_id == "completion":
            return CompletionScreen(phase_id, step_id)
        if phase_id == "monitoring":
            from warungin_tui.screens.monitoring import MonitoringScreen

            return MonitoringScreen(phase_id, step_id, autorun=autorun)
        # The checklist's automated items run by themselves when it opens (once a session).
        autorun = autorun or (phase_id == "pre" and "pre" not in self._autoran)
        self._autoran.add(phase_id)
        return PhaseScreen(phase_id, step_id, autorun=autorun)

    def sync_journal(self) -> None:
        """Fold what the headless monitor appended to the run's journal meanwhile."""
        if self.engine is not None:
            self.engine.sync()

    def show_overview(self) -> None:
        from warungin_tui.screens.overview import OverviewScreen

        if any(isinstance(screen, OverviewScreen) for screen in self.screen_stack):
            while not isinstance(self.screen, OverviewScreen):
                self.pop_screen()

    # -- app keys ----------------------------------------------------------------------------
    RUN_ACTIONS: ClassVar[dict[str, Action]] = {
        "rollback": Action.ROLLBACK,
        "export": Action.EXPORT,
        "new_run": Action.NEW_RUN,
        "abandon": Action.ABANDON,
    }

    def refusal(self, action: str) -> Refusal | None:
        """The rulebook's answer for an app key (None: it applies now)."""
        if action not in self.RUN_ACTIONS:
            return None
        if self.engine is None:
            return Refusal("No run yet: start one first (enter on the start screen).")
        if action != "export" and self.engine.read_only:
            return Refusal(self.engine.read_only, ReadOnlyRun)  # open elsewhere: look only
        from warungin_tui.engine.rules import run_refusal

        return run_refusal(self.engine.run, self.RUN_ACTIONS[action], busy=self.busy_step())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "request_quit":
            # While a text field has focus `q` is a letter: the footer must not offer it.
            from textual.widgets import Input

            return not isinstance(self.focused, Input)
        return self.refusal(action) is None

    def action_explain_app(self, action: str) -> None:
        refusal = self.refusal(action)
        reason = refusal.reason if refusal else "That key does nothing here."
        self.notify(reason, title="Not now", severity="warning")

    def action_rollback(self) -> None:
        self.post_message(RollbackRequested())

    def action_export(self) -> None:
        self.post_message(ExportRequested())

    def action_help(self) -> None:
        from warungin_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_request_quit(self) -> None:
        if self.demo_keep_dir is not None:
            message = (
                "This is a demo: its run cannot be resumed (the rehearsal target stops). "
                f"Its journal and exports are moved to {self.demo_keep_dir}"
            )
            if self.engine is None:
                message = "This is a demo and no run was started: nothing is kept."
            elif busy := self.busy_step():
                message += f"\n{busy} is running: it is stopped and recorded as interrupted."
        elif self.engine is None:
            message = "No run was started."
        elif self.engine.run.finished_at:
            message = "The run is finished; its journal and exports stay on disk."
        else:
            message = "Everything is in the journal: start warungin-tui again to resume the run."
            busy = self.busy_step()
            if busy:
                message += f"\n{busy} is running: it is stopped and recorded as interrupted."

        from warungin_tui.screens.confirm import ConfirmScreen

        async def answer(yes: bool | None) -> None:
            if yes:
                await self.action_quit()

        self.clear_notifications()  # old toasts must not cover the question's text
        self.push_screen(ConfirmScreen("Quit warungin-tui?", message), answer)

    async def action_quit(self) -> None:
        """Stop running steps (the engine records them interrupted), close, exit."""
        if self._quitting:
            return
        self._quitting = True
        # The run as it stood: a step stopped because the operator quit has not failed.
        code = self.exit_code()
        workers = [w for w in self.workers if w.is_running and w.group in (STEP_GROUP, "connect")]
        for worker in workers:
            worker.cancel()
        for worker in workers:
            try:
                async with asyncio.timeout(QUIT_WAIT_S):
                    await worker.wait()
            except (Exception, asyncio.CancelledError):  # noqa: BLE001 - cancelled is expected
                pass
        await self._close()
        self.exit(code, return_code=code)

    def exit_code(self) -> int:
        if self.engine is None:
            return EXIT_REFUSED if self.refused else EXIT_OK
        return EXIT_FAILED if self.failed_run() else EXIT_OK

    async def _close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.engine is not None:
            await self.engine.aclose()
        if self.remote is not None:
            try:
                await self.remote.close()
            except Exception:  # noqa: BLE001 - closing a dead connection may fail; we leave
                pass

    async def on_unmount(self) -> None:
        self._forget_hangup()
        await self._close()

    # -- worker failures: one handler --------------------------------------------------------
    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == STEP_GROUP and self.screen_stack:  # none left while exiting
            self.screen.refresh_bindings()  # run keys come back once the worker is done
        if event.state == WorkerState.ERROR:
            error = worker.error
            title = getattr(error, "title", None) or "Unexpected error"
            message = str(error) or type(error).__name__
            if not isinstance(error, EngineError):
                self.log.error(f"worker {worker.name} failed", error)
            if worker.group == STEP_GROUP and not isinstance(error, EngineError):
                message += "\nr tries again."
            self.notify(message, title=title, severity="error", timeout=12)
            if worker.group == "connect":
                try:
                    self.get_screen_of(StartScreen).connect_failed(title, message)
                except LookupError:
                    pass
        elif event.state == WorkerState.CANCELLED and worker.group == STEP_GROUP:
            if not self._quitting:
                self.notify("Stopped; the step is recorded as interrupted.", severity="warning")


HANGUP_GRACE_S = 5.0
EXIT_HANGUP = 129


def _exit_after(grace_s: float, cleanups: list[Callable[[], None]]) -> None:
    """Watchdog thread: if the graceful exit has not ended the process, clean up and leave."""
    time.sleep(grace_s)
    for cleanup in cleanups:
        try:
            cleanup()
        except Exception:  # noqa: BLE001 - the next cleanup must still run
            pass
    os._exit(EXIT_HANGUP)


def run_wizard(
    config: Config | DeferredConfig, config_path: Path, *, journal_dir: Path | None = None
) -> int:
    """Run the wizard in this terminal; returns the process exit code."""
    app = WarunginApp(config, config_path, journal_dir=journal_dir)
    code = app.run()
    return code if isinstance(code, int) else EXIT_OK
