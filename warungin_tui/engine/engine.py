"""The run engine: executes steps, enforces gates, records every change in the journal first.

No Textual here: a UI subscribes to events and calls the intent methods.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from warungin_tui import __version__
from warungin_tui.config import Config, parse_config
from warungin_tui.engine.answers import HumanAnswers
from warungin_tui.engine.events import JournalEvent, StepFinished, StepStarted, check_event
from warungin_tui.engine.hostguard import HostGuard
from warungin_tui.engine.issue import the_issue
from warungin_tui.engine.rollback import ROLLBACK_HOST_STATE, RollbackProcedure
from warungin_tui.engine.rules import (
    DECISIONS,
    Action,
    Refusal,
    open_automated_steps,
    phase_refusal,
    run_refusal,
    runs_together,
    step_refusal,
)
from warungin_tui.engine.run import Run, rebuild_run
from warungin_tui.engine.step_output import OUTPUT_JOURNAL_LIMIT, OutputRecorder
from warungin_tui.engine.stepslots import StepSlots
from warungin_tui.errors import (
    EngineError,
    GateClosed,
    NeedsConfirmation,
    ReadOnlyRun,
    RunClosed,
    StepBusy,
    StillRunningOnHost,
)
from warungin_tui.hostrecords import record_dir
from warungin_tui.journal import (
    GENESIS,
    Journal,
    JournalLocked,
    describe_holder,
    find_unfinished_run,
    iter_journal,
    read_journal,
    unfinished_journals,
)
from warungin_tui.monitoring.answers import MonitoringAnswers
from warungin_tui.outcome import GATE_OK, Outcome, StepStatus
from warungin_tui.playbook import Playbook, StepKind, StepSpec, build_playbook
from warungin_tui.redact import STRING_CHARS, redact_text, redact_value
from warungin_tui.remote_api import RemoteLink
from warungin_tui.steps.base import StepContext
from warungin_tui.steps.http import HttpProber, run_http_step
from warungin_tui.steps.notify import run_notify_step
from warungin_tui.steps.ssh import run_ssh_step, run_wait_step
from warungin_tui.templating import TemplateValueMissing
from warungin_tui.values import config_values, group_values

PROBES_AT_ONCE = 4
"""Probes of a `probes_together` phase in flight at once over the one connection (sshd's
MaxSessions is 10 by default, and `check` may run beside the wizard)."""

Listener = Callable[[dict[str, Any]], None]
Executor = Callable[[StepContext, StepSpec], Awaitable[Outcome]]
EXECUTORS: dict[StepKind, Executor] = {
    StepKind.SSH: run_ssh_step,
    StepKind.WAIT: run_wait_step,
    StepKind.HTTP: run_http_step,
    StepKind.NOTIFY: run_notify_step,
}


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


TYPED_FIELDS = ("note", "reason", "detail", "blockers", "monitoring_override")
"""Fields a person may type into (a note, a reason, a blocker) or that quote it: redacted here,
the one place every answer enters the engine, so a pasted password never reaches the journal."""


def redact_typed(event: Mapping[str, Any]) -> dict[str, Any]:
    typed = {k: v for k in TYPED_FIELDS if (v := event.get(k))}
    return {**event, **{k: redact_value(v, STRING_CHARS) for k, v in typed.items()}}


class Engine(HumanAnswers, HostGuard, RollbackProcedure, MonitoringAnswers):
    def __init__(
        self,
        config: Config,
        run: Run,
        journal: Journal | None,
        remote: RemoteLink | None = None,
        *,
        enforce_gates: bool = True,
        guard_host: bool = False,
        read_only: str | None = None,
    ) -> None:
        self.config = config
        self.run = run
        self.journal = journal
        self.remote = remote
        self.enforce_gates = enforce_gates
        self.guard_host = guard_host
        """Take the host lock before Phase 1 and leave a record of every command on the host."""
        self.read_only = read_only
        """Why this process may only look at the run (another process has it open), or None."""
        self._host_lock_held = False
        self.http = HttpProber(remote, config.endpoints.ca_bundle)
        self._listeners: list[Listener] = []
        self.slots = StepSlots()
        self._seq = 0
        self._recorders: dict[str, OutputRecorder] = {}
        """Output of the attempts under way, by step: `_finish` ends each one."""

    # -- construction --
    @classmethod
    def start_new(
        cls,
        config: Config,
        journal_dir: Path,
        *,
        operator: str,
        remote: RemoteLink | None = None,
        playbook: Playbook | None = None,
        guard_host: bool = False,
    ) -> Engine:
        playbook = playbook or build_playbook(config)
        run_id = new_run_id()
        journal = Journal(journal_dir / f"run-{run_id}.jsonl", operator=operator)
        engine = cls(config, Run(playbook), journal, remote, guard_host=guard_host)
        engine.record(
            {
                "type": "run_started",
                "run_id": run_id,
                "target": config.target.label,
                "release": config.release.version,
                "operator": operator,
                "config": config.model_dump(mode="json"),
                "playbook": playbook.fingerprint(),
                "tool_version": __version__,
            }
        )
        return engine

    @classmethod
    def resume(
        cls,
        config: Config,
        path: Path,
        *,
        remote: RemoteLink | None = None,
        guard_host: bool = False,
        saved: SavedRun | None = None,
    ) -> Engine:
        """Rebuild the run from its journal; steps left running become `interrupted`.

        The run goes on with the config it was started with (recorded in its first line): a
        config edited meanwhile could rename steps (start groups) or change what was checked.
        Raises JournalLocked when another process has the run open (see `open_read_only`).
        After connecting, `resolve_interrupted` asks the host what became of those steps.
        `saved`: the journal as the start screen loaded it; used when the file is unchanged
        once locked, so the journal is parsed once.
        """
        if saved is None or saved.path != path:
            saved = load_saved_run(config, path)
        # The OS lock next: nobody else may write while we use what was read; if the file
        # changed before we held it, it is read again under the lock.
        journal = Journal(path, tail=(saved.records, saved.last_hash, saved.size))
        try:
            if (journal.seq, journal.prev) != (saved.records, saved.last_hash):
                saved = load_saved_run(config, path)
                # The headless monitor may have appended meanwhile: what was folded is where
                # the journal stands for us (later lines are caught up on the next append).
                journal.assume(saved.records, saved.last_hash, saved.size)
        except BaseException:
            journal.close()
            raise
        config, run = saved.config, saved.run
        engine = cls(config, run, journal, remote, guard_host=guard_host)
        running = run.running_steps()
        for step_id in running:
            engine.record(
                {
                    "type": "step_finished",
                    "step": step_id,
                    "status": StepStatus.INTERRUPTED,
                    "detail": "the tool stopped while this step ran; its outcome on the server "
                    "is unknown: check before retrying",
                }
            )
        if run.rollbacks and "ok" not in run.rollbacks[-1]:
            # Nothing runs any more: the rollback ended when the tool did, wherever it was.
            stopped_at = next(
                (s for s in running if run.playbook.phase_of(s).id == "rollback"), None
            )
            detail = "interrupted: the tool stopped during the rollback"
            if stopped_at is None:
                detail += " (between two of its steps): check the host before going on"
            engine._rollback_finished(False, detail, stopped_at, [])
        return engine

    @classmethod
    def open_read_only(cls, config: Config, path: Path, holder: dict[str, Any]) -> Engine:
        """The run as its journal stands, for looking only: another process has it open."""
        records = read_journal(path)
        config = cls._recorded_config(config, records, path)
        run = rebuild_run(build_playbook(config), records)
        why = f"Read-only: this run is open in {describe_holder(holder)}."
        return cls(config, run, None, None, read_only=why)

    @staticmethod
    def _recorded_config(config: Config, records: list[dict[str, Any]], path: Path) -> Config:
        recorded = records[0]["event"].get("config") if records else None
        return parse_config(recorded, path) if recorded else config

    # -- events --
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def record(self, event: JournalEvent) -> dict[str, Any]:
        """Journal first (fsynced), then fold into the run, then tell listeners.

        An event of a kind nobody wrote is refused before it reaches the journal."""
        if self.read_only is not None:
            raise ReadOnlyRun(self.read_only)
        check_event(event)
        clean = redact_typed(event)
        if self.journal is not None:
            record = self.journal.append(clean)
            self._fold_others()
        else:
            record = {"seq": self._seq, "at": datetime.now(UTC).isoformat(), "event": clean}
            self._seq += 1
        self.run.fold(record)  # checked above, before the write
        self._notify(record)
        return record

    def sync(self) -> int:
        """Fold what another writer (the headless monitor) appended to the journal; how many."""
        if self.journal is None:
            return 0
        self.journal.catch_up()
        return self._fold_others()

    def _fold_others(self) -> int:
        assert self.journal is not None
        others = self.journal.drain_unseen()
        for record in others:
            self.run.apply(record)
            self._notify(record)
        return len(others)

    def _notify(self, record: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(record)

    # -- template values --
    def values(self, spec: StepSpec | None = None) -> dict[str, Any]:
        """Every template value, plus `{group}`... for an expanded start-order step."""
        values = config_values(self.config)
        now = datetime.now().astimezone()
        minutes = self.config.thresholds.maintenance_minutes
        values.update(
            today=now.strftime("%B %d, %Y"),
            window_start=now.strftime("%H:%M %Z"),
            window_end=(now + timedelta(minutes=minutes)).strftime("%H:%M %Z"),
            operator=self.run.operator,
            run_id=self.run.run_id,
            issue_summary=self.issue_summary(),
            rollback_state=self.rollback_state(),
        )
        values.update(self.run.values)
        if spec is not None:
            values.update(group_values(spec.start_group, spec.start_group_index))
        return values

    def issue_summary(self) -> str:
        """The issue (issue.the_issue: the earliest failure that led to the rollback), one line."""
        issue = the_issue(self.run)
        return redact_text(issue.summary()) if issue else "no failed step recorded"

    def rollback_state(self) -> str:
        if not self.run.rollbacks:
            return "not started"
        last = self.run.rollbacks[-1]
        if "ok" not in last:
            return f"in progress since {last['started_at']}"
        return "completed, previous version restored" if last["ok"] else "FAILED: see the log"

    # -- checks: the rulebook (rules.py) answers, the engine raises its refusal --
    def set_operator(self, name: str) -> None:
        super().set_operator(name)
        if self.journal is not None:
            self.journal.set_operator(self.run.operator)

    @property
    def busy(self) -> str | None:
        """What is being executed (its title), if anything: a phase run, a rollback or
        finishing waits for every running step (the rulebook's busy rule)."""
        return self.slots.busy()

    def refuse(self, refusal: Refusal | None) -> None:
        """Raise the rulebook's refusal; a read-only view (run open elsewhere) refuses all."""
        if self.read_only is not None:
            raise ReadOnlyRun(self.read_only)
        if refusal is not None:
            raise refusal.exception()

    def check_can_act(self, step_id: str, action: Action | None = None) -> StepSpec:
        """Raise the rulebook's refusal of `action` on this step; running it by default (a
        first run, or a retry of a step that ran before)."""
        if action is None:
            pending = self.run.status(step_id) == StepStatus.PENDING
            action = Action.RUN_STEP if pending else Action.RETRY
        spec = self.run.playbook.step(step_id)
        # busy: only a running step this one may not run beside (read-only probes may)
        busy = self.slots.busy(spec)
        self.refuse(
            step_refusal(self.run, step_id, action, busy=busy, enforce_gates=self.enforce_gates)
        )
        return spec

    def check_phase_action(self, phase_id: str, action: Action) -> None:
        self.refuse(
            phase_refusal(
                self.run, phase_id, action, busy=self.busy, enforce_gates=self.enforce_gates
            )
        )

    def check_run_action(self, action: Action) -> None:
        self.refuse(run_refusal(self.run, action, busy=self.busy))

    # -- executing --
    async def run_step(self, step_id: str, *, confirmed: bool = False) -> Outcome:
        """Run a step. An interrupted step is first looked up on the host: a finished command
        is recorded as it ended (not run again), a running one raises StillRunningOnHost, and
        only an unknown outcome leads to a new run (confirmed unless the step is retry-safe)."""
        spec = self.check_can_act(step_id)
        with self.slots.hold(spec):
            if self.run.status(step_id) == StepStatus.INTERRUPTED:
                learned = await self.learn_from_host(spec)
                if learned is not None:
                    return learned
            if spec.destructive and not confirmed:
                raise NeedsConfirmation(f"{spec.title} is destructive: confirm to run it")
            interrupted = self.run.status(step_id) == StepStatus.INTERRUPTED
            if interrupted and not spec.retry_safe and not confirmed:
                raise NeedsConfirmation(
                    f"{spec.title} was interrupted and its outcome on the host is unknown; "
                    "it is not safe to retry blindly: confirm to run it again"
                )
            await self.ensure_host_lock(spec)
            return await self._execute(spec)

    def output_recorder(self, spec: StepSpec) -> OutputRecorder:
        """The output callback of the attempt just started: the first lines journaled (redacted,
        bounded), all of them in the attempt's side file; `_finish` ends it."""
        previous = self._recorders.pop(spec.id, None)
        if previous is not None:
            previous.finish_now()
        journal_path = None if self.journal is None else self.journal.path
        attempt = self.run.results[spec.id].attempts
        recorder = OutputRecorder(spec.id, self.record, journal_path, attempt)
        self._recorders[spec.id] = recorder
        return recorder

    def _context(self, spec: StepSpec) -> StepContext:
        """A context for judging a result learned from the host (output already journaled)."""

        async def discard(stream: str, lines: list[str]) -> None:
            return None

        return StepContext(self.config, self.values(spec), discard, lambda _: None, self.remote)

    async def _execute(self, spec: StepSpec) -> Outcome:
        values = self.values(spec)

        def on_progress(progress: dict[str, Any]) -> None:
            clean = redact_value(progress)
            self._notify({"event": {"type": "step_progress", "step": spec.id, **clean}})

        record = self.new_host_record(spec)
        started_event: StepStarted = {
            "type": "step_started",
            "step": spec.id,
            "kind": str(spec.kind),
        }
        if record is not None:
            started_event["host_record"] = record
        self.record(started_event)
        on_output = self.output_recorder(spec)  # after step_started: it names the attempt
        ctx = StepContext(self.config, values, on_output, on_progress, self.remote, self.http)
        ctx.host_record = None if record is None else record_dir(record)
        started = time.monotonic()
        try:
            outcome = await EXECUTORS[spec.kind](ctx, spec)
        except asyncio.CancelledError:
            self._finish(
                spec,
                Outcome(
                    StepStatus.INTERRUPTED,
                    "cancelled while running; the command was stopped on the server",
                ),
                started,
            )
            raise
        except TemplateValueMissing as exc:
            outcome = Outcome(StepStatus.FAILED, str(exc))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a recorded outcome
            outcome = await self._outcome_of_error(exc, spec, record)
        output = await on_output.finish()  # the side file's backlog, written in its thread
        return self._finish(spec, outcome, started, output)

    async def _outcome_of_error(
        self, exc: Exception, spec: StepSpec, record: str | None = None
    ) -> Outcome:
        """A dropped connection: reconnect once and ask the host what became of the command."""
        from warungin_tui import remote as remote_module

        if isinstance(exc, remote_module.ConnectionLost):
            partial = exc.partial
            lost = f"connection lost during the command after {partial.duration_s:.1f} s"
            if record is not None:
                learned = await self.outcome_after_reconnect(spec, record, lost, partial.command)
                if learned is not None:
                    return learned
            detail = f"{lost}; its outcome on the server is unknown"
            return Outcome(StepStatus.INTERRUPTED, detail, command=partial.command)
        if isinstance(exc, remote_module.RemoteError):
            return Outcome(StepStatus.FAILED, f"{exc.title}: {exc}")
        return Outcome(StepStatus.FAILED, f"{type(exc).__name__}: {exc}")

    def _finish(
        self,
        spec: StepSpec,
        outcome: Outcome,
        started: float | None,
        output: dict[str, Any] | None = None,
    ) -> Outcome:
        """Record the step's outcome redacted (every field, however deep); return what was
        recorded, so callers (check, monitor, the wizard) never hold the raw one. The attempt's
        output ends here: its side file's name, sha256 and line count go into the event."""
        recorder = self._recorders.pop(spec.id, None)
        # The attempt's recorder, unless a reconnect followed the command with a newer one:
        # that one ends here too, and its file is the attempt's output.
        latest = None if recorder is None else recorder.finish_now()
        output = latest or output
        clean = outcome.redacted()
        duration = None if started is None else round(time.monotonic() - started, 3)
        event: StepFinished = {
            "type": "step_finished",
            "step": spec.id,
            "status": str(clean.status),
            "detail": clean.detail,
            "exit_code": clean.exit_code,
            "duration_s": duration,
            "value": clean.value,
            "captures": clean.captures,
        }
        if clean.command:
            event["command"] = clean.command
        if output:
            event["output_file"] = output
        self.record(event)
        return clean

    async def run_automated(
        self,
        phase_id: str,
        *,
        confirm: Callable[[StepSpec], Awaitable[bool]] | None = None,
    ) -> list[Outcome]:
        """Run the phase's automated steps in order; stop at the first one that does not pass.
        A `probes_together` phase runs its read-only probes at once and reports each."""
        self.check_phase_action(phase_id, Action.RUN_PHASE)
        if runs_together(self.run, phase_id):
            return await self._run_together(open_automated_steps(self.run, phase_id))
        outcomes = []
        for spec in open_automated_steps(self.run, phase_id):
            try:
                # An interrupted step is first asked about on the host: the operator is asked
                # only when it would really run (destructive, or its outcome is unknown).
                outcome = await self.run_step(spec.id)
            except NeedsConfirmation:
                if confirm is None or not await confirm(spec):
                    break
                outcome = await self.run_step(spec.id, confirmed=True)
            outcomes.append(outcome)
            if outcome.status not in GATE_OK:
                break
        return outcomes

    async def _run_together(self, specs: list[StepSpec]) -> list[Outcome]:
        """Run read-only probes at the same time over the one connection; each is recorded,
        whatever the others do. The first exception (a host lock held by another run, a
        command still running on the host) is raised once every probe has ended."""
        if specs:
            await self.ensure_host_lock(specs[0])  # once, not raced by every probe
        limit = asyncio.Semaphore(PROBES_AT_ONCE)

        async def probe(spec: StepSpec) -> Outcome:
            async with limit:
                return await self.run_step(spec.id)

        ended = await asyncio.gather(*(probe(spec) for spec in specs), return_exceptions=True)
        for item in ended:
            if isinstance(item, BaseException):
                raise item
        return [item for item in ended if isinstance(item, Outcome)]

    # -- human answers --
    def finish(self) -> None:
        """Seal the run after the go-live decision: the engine refuses every later change."""
        self.check_run_action(Action.FINISH)
        self.record({"type": "run_finished", "by": self.run.operator})

    def abandon(self, reason: str, *, by: str = "") -> None:
        """End a run that will not go on (a new deployment is a new run); needs a reason."""
        self.check_run_action(Action.ABANDON)
        if not reason.strip():
            raise EngineError("abandoning a run needs a reason")
        self.record(
            {"type": "run_abandoned", "reason": reason.strip(), "by": by or self.run.operator}
        )

    async def aclose(self) -> None:
        await self.release_host_lock_if_ended()
        await self.http.aclose()
        if self.journal is not None:
            self.journal.close()


@dataclass
class SavedRun:
    """A journal read and folded once: the start screen's summary and resume share it."""

    path: Path
    config: Config
    """The config the run was started with (recorded in its first line): a config edited
    meanwhile could rename steps (start groups) or change what was checked."""
    run: Run
    records: int
    last_hash: str
    size: int
    """Of the file when read: resume trusts this read only while the size is unchanged."""


def load_saved_run(config: Config, path: Path) -> SavedRun:
    """Parse a journal once and fold it; JournalError or ConfigError when it cannot be."""
    size = path.stat().st_size
    run: Run | None = None
    count, last_hash = 0, GENESIS
    # Folded as parsed: no list of 10,000 records for the garbage collector to walk.
    for record in iter_journal(path):
        if run is None:
            config = Engine._recorded_config(config, [record], path)
            run = Run(build_playbook(config))
        run.apply(record)
        count, last_hash = count + 1, record["hash"]
    if run is None:
        run = Run(build_playbook(config))
    return SavedRun(path, config, run, count, last_hash, size)


def load_unfinished_run(config: Config, journal_dir: Path) -> SavedRun | None:
    """The newest unfinished run against the config's target that loads; an unreadable journal
    is simply not offered."""
    for path in unfinished_journals(journal_dir, config.target.label):
        try:
            return load_saved_run(config, path)
        except Exception:  # noqa: BLE001 - a broken journal is skipped, the next one offered
            continue
    return None


__all__ = [
    "DECISIONS",
    "ROLLBACK_HOST_STATE",
    "Engine",
    "EngineError",
    "GateClosed",
    "JournalLocked",
    "NeedsConfirmation",
    "OUTPUT_JOURNAL_LIMIT",
    "ReadOnlyRun",
    "SavedRun",
    "RunClosed",
    "StepBusy",
    "StillRunningOnHost",
    "find_unfinished_run",
    "load_saved_run",
    "load_unfinished_run",
    "new_run_id",
]
