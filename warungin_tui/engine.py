"""The run engine: executes steps, enforces gates, records every change in the journal first.

No Textual here: a UI subscribes to events and calls the intent methods.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from warungin_tui import __version__
from warungin_tui.config import Config
from warungin_tui.journal import Journal, read_journal
from warungin_tui.playbook import Playbook, StepKind, StepSpec, build_playbook
from warungin_tui.redact import LineRedactor, redact_text
from warungin_tui.run import BAD, GATE_OK, Run, StepStatus, rebuild_run
from warungin_tui.steps.base import Outcome, StepContext
from warungin_tui.steps.http import HttpProber, run_http_step
from warungin_tui.steps.notify import run_notify_step
from warungin_tui.steps.ssh import run_ssh_step, run_wait_step
from warungin_tui.templating import TemplateValueMissing
from warungin_tui.values import config_values

OUTPUT_JOURNAL_LIMIT = 5000
"""Lines per step attempt written to the journal; the rest is counted, not kept."""

Listener = Callable[[dict[str, Any]], None]
Executor = Callable[[StepContext, StepSpec], Awaitable[Outcome]]
EXECUTORS: dict[StepKind, Executor] = {
    StepKind.SSH: run_ssh_step,
    StepKind.WAIT: run_wait_step,
    StepKind.HTTP: run_http_step,
    StepKind.NOTIFY: run_notify_step,
}
DECISIONS = ("GO-LIVE APPROVED", "HOLD FOR REVIEW")
ROLLBACK_HOST_STATE = {
    "rollback.verify_archive": "unchanged: nothing was stopped or deleted, the new release still "
    "runs as before",
    "rollback.stop": "services may be partly stopped; the project tree is untouched (new release)",
    "rollback.restore": "services are DOWN and the project tree may be partly deleted: restore it "
    "by hand from the backup archive",
    "rollback.build": "services are DOWN; the pre-deployment tree and commit are restored, the "
    "images are not rebuilt",
    "rollback.start": "the previous version is restored and built, but the stack did not start",
}
"""What a failed rollback step leaves behind on the host, for the operator's next move."""


class EngineError(Exception):
    title = "Not possible now"


class GateClosed(EngineError):
    title = "Gate closed"


class NeedsConfirmation(EngineError):
    title = "Confirmation needed"


class StepBusy(EngineError):
    title = "Busy"


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class Engine:
    def __init__(
        self,
        config: Config,
        run: Run,
        journal: Journal | None,
        remote: Any = None,
        *,
        enforce_gates: bool = True,
    ) -> None:
        self.config = config
        self.run = run
        self.journal = journal
        self.remote = remote
        self.enforce_gates = enforce_gates
        self.http = HttpProber(remote)
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()
        self.active_step: str | None = None
        self._seq = 0

    # -- construction --
    @classmethod
    def start_new(
        cls,
        config: Config,
        journal_dir: Path,
        *,
        operator: str,
        remote: Any = None,
        playbook: Playbook | None = None,
    ) -> Engine:
        playbook = playbook or build_playbook(config)
        run_id = new_run_id()
        journal = Journal(journal_dir / f"run-{run_id}.jsonl")
        engine = cls(config, Run(playbook), journal, remote)
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
    def resume(cls, config: Config, path: Path, *, remote: Any = None) -> Engine:
        """Rebuild the run from its journal; steps left running become `interrupted`."""
        playbook = build_playbook(config)
        records = read_journal(path)
        run = rebuild_run(playbook, records)
        engine = cls(config, run, Journal(path), remote)
        for step_id in run.running_steps():
            engine.record(
                {
                    "type": "step_finished",
                    "step": step_id,
                    "status": StepStatus.INTERRUPTED,
                    "detail": "the tool stopped while this step ran; its outcome on the server "
                    "is unknown: check before retrying",
                }
            )
        return engine

    # -- events --
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def record(self, event: dict[str, Any]) -> dict[str, Any]:
        """Journal first (fsynced), then fold into the run, then tell listeners."""
        if self.journal is not None:
            record = self.journal.append(event)
        else:
            record = {"seq": self._seq, "at": datetime.now(UTC).isoformat(), "event": event}
            self._seq += 1
        self.run.apply(record)
        self._notify(record)
        return record

    def _notify(self, record: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(record)

    # -- template values --
    def values(self) -> dict[str, Any]:
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
        return values

    def issue_summary(self) -> str:
        """The latest step that failed or was interrupted; an override only when nothing failed."""
        failed = [
            (result.finished_at or "", step)
            for step in self.run.playbook.all_steps()
            if (result := self.run.results[step.id]).status in BAD
        ]
        if failed:
            _, step = max(failed, key=lambda item: item[0])
            return redact_text(f"{step.title}: {self.run.results[step.id].detail}")
        for step in self.run.playbook.all_steps():
            result = self.run.results[step.id]
            if result.override_reason:
                return redact_text(f"{step.title}: {result.failed_detail or result.detail}")
        return "no failed step recorded"

    def rollback_state(self) -> str:
        if not self.run.rollbacks:
            return "not started"
        last = self.run.rollbacks[-1]
        if "ok" not in last:
            return f"in progress since {last['started_at']}"
        return "completed, previous version restored" if last["ok"] else "FAILED: see the log"

    # -- checks --
    def check_can_act(self, step_id: str) -> StepSpec:
        spec = self.run.playbook.step(step_id)
        if not self.enforce_gates or spec.kind == StepKind.DECISION:
            return spec
        phase = self.run.playbook.phase_of(step_id)
        blocking = self.run.blocking_phase(phase.id)
        if blocking is not None:
            title = self.run.playbook.phase(blocking).title
            raise GateClosed(
                f"{title} is not complete: pass or override its steps, or override its gate"
            )
        if phase.id == "rollback" and not self.run.rollback_available:
            raise GateClosed("no backup from Step 1.1 yet: there is nothing to roll back to")
        return spec

    # -- executing --
    async def run_step(self, step_id: str, *, confirmed: bool = False) -> Outcome:
        spec = self.check_can_act(step_id)
        if not spec.automated:
            raise EngineError(f"{spec.title} is a {spec.kind} step: a person answers it")
        previous = self.run.results[step_id]
        if spec.destructive and not confirmed:
            raise NeedsConfirmation(f"{spec.title} is destructive: confirm to run it")
        if previous.status == StepStatus.INTERRUPTED and not spec.retry_safe and not confirmed:
            raise NeedsConfirmation(
                f"{spec.title} was interrupted and is not safe to retry blindly: confirm"
            )
        if self._lock.locked():
            raise StepBusy(f"{self.active_step} is still running")
        async with self._lock:
            self.active_step = step_id
            try:
                return await self._execute(spec)
            finally:
                self.active_step = None

    async def _execute(self, spec: StepSpec) -> Outcome:
        values = self.values()
        journaled = 0
        dropped = 0
        redactor = LineRedactor()

        async def on_output(stream: str, lines: list[str]) -> None:
            nonlocal journaled, dropped
            clean = [line for line in redactor.lines(lines)]
            room = max(0, OUTPUT_JOURNAL_LIMIT - journaled)
            kept, extra = clean[:room], len(clean) - min(room, len(clean))
            journaled += len(kept)
            dropped += extra
            if kept or extra:
                event = {"type": "step_output", "step": spec.id, "stream": stream, "lines": kept}
                if extra:
                    event["dropped"] = extra
                self.record(event)

        def on_progress(progress: dict[str, Any]) -> None:
            self._notify({"event": {"type": "step_progress", "step": spec.id, **progress}})

        ctx = StepContext(self.config, values, on_output, on_progress, self.remote, self.http)
        self.record({"type": "step_started", "step": spec.id, "kind": str(spec.kind)})
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
            outcome = self._outcome_of_error(exc)
        self._finish(spec, outcome, started)
        return outcome

    def _outcome_of_error(self, exc: Exception) -> Outcome:
        from warungin_tui import remote as remote_module

        if isinstance(exc, remote_module.ConnectionLost):
            partial = exc.partial
            detail = (
                f"connection lost during the command after {partial.duration_s:.1f} s; "
                "its outcome on the server is unknown"
            )
            return Outcome(StepStatus.INTERRUPTED, detail, command=partial.command)
        if isinstance(exc, remote_module.RemoteError):
            return Outcome(StepStatus.FAILED, f"{exc.title}: {exc}")
        return Outcome(StepStatus.FAILED, f"{type(exc).__name__}: {exc}")

    def _finish(self, spec: StepSpec, outcome: Outcome, started: float) -> None:
        event: dict[str, Any] = {
            "type": "step_finished",
            "step": spec.id,
            "status": str(outcome.status),
            "detail": redact_text(outcome.detail),
            "exit_code": outcome.exit_code,
            "duration_s": round(time.monotonic() - started, 3),
            "value": outcome.value,
            "captures": outcome.captures,
        }
        if outcome.command:
            event["command"] = redact_text(outcome.command)
        self.record(event)

    async def run_automated(
        self,
        phase_id: str,
        *,
        confirm: Callable[[StepSpec], Awaitable[bool]] | None = None,
    ) -> list[Outcome]:
        """Run the phase's automated steps in order; stop at the first one that does not pass."""
        outcomes = []
        for spec in self.run.playbook.phase(phase_id).steps:
            if not spec.automated or self.run.status(spec.id) in GATE_OK:
                continue
            confirmed = False
            if spec.destructive or (
                self.run.status(spec.id) == StepStatus.INTERRUPTED and not spec.retry_safe
            ):
                if confirm is None or not await confirm(spec):
                    break
                confirmed = True
            outcome = await self.run_step(spec.id, confirmed=confirmed)
            outcomes.append(outcome)
            if outcome.status not in GATE_OK:
                break
        return outcomes

    # -- human answers --
    def _human(self, step_id: str, kinds: set[StepKind]) -> StepSpec:
        spec = self.check_can_act(step_id)
        if spec.kind not in kinds:
            raise EngineError(f"{spec.title} is not a {' or '.join(sorted(kinds))} step")
        if self.run.status(step_id) == StepStatus.RUNNING:
            raise StepBusy(f"{spec.title} is running")
        return spec

    def tick(self, step_id: str, *, passed: bool = True, note: str = "", by: str = "") -> None:
        self._human(step_id, {StepKind.MANUAL})
        self.record(
            {
                "type": "step_finished",
                "step": step_id,
                "status": str(StepStatus.PASSED if passed else StepStatus.FAILED),
                "detail": note or ("checked" if passed else "failed by the operator"),
                "by": by or self.run.operator,
                "note": note,
            }
        )

    def sign_off(self, step_id: str, name: str) -> None:
        spec = self._human(step_id, {StepKind.SIGNOFF})
        name = name.strip()
        if not name:
            raise EngineError("a sign-off needs the signer's name")
        self.record(
            {
                "type": "step_finished",
                "step": step_id,
                "status": "passed",
                "detail": f"{spec.role}: {name}",
                "value": {"name": name, "role": spec.role},
                "by": name,
            }
        )

    def record_input(self, step_id: str, value: str) -> None:
        spec = self._human(step_id, {StepKind.INPUT})
        value = value.strip()
        if not value:
            raise EngineError(f"{spec.title}: a value is needed")
        if spec.choices and value not in spec.choices:
            raise EngineError(f"{spec.title}: choose one of {', '.join(spec.choices)}")
        self.record(
            {
                "type": "step_finished",
                "step": step_id,
                "status": "passed",
                "detail": redact_text(value),
                "value": redact_text(value),
                "by": self.run.operator,
            }
        )

    def skip(self, step_id: str, reason: str, *, by: str = "") -> None:
        self.check_can_act(step_id)
        if not reason.strip():
            raise EngineError("skipping needs a reason")
        self.record(
            {
                "type": "step_finished",
                "step": step_id,
                "status": "skipped",
                "detail": f"skipped: {reason.strip()}",
                "note": reason.strip(),
                "by": by or self.run.operator,
            }
        )

    def override_step(self, step_id: str, reason: str, *, by: str = "") -> None:
        if self.run.status(step_id) not in BAD and self.run.status(step_id) != StepStatus.PENDING:
            raise EngineError("only a failed, interrupted or pending step can be overridden")
        if not reason.strip():
            raise EngineError("an override needs a reason")
        self.record(
            {
                "type": "step_overridden",
                "step": step_id,
                "reason": reason.strip(),
                "by": by or self.run.operator,
            }
        )

    def override_gate(self, phase_id: str, reason: str, *, by: str = "") -> None:
        if not reason.strip():
            raise EngineError("overriding a gate needs a reason")
        self.record(
            {
                "type": "gate_overridden",
                "phase": phase_id,
                "reason": reason.strip(),
                "by": by or self.run.operator,
            }
        )

    def set_operator(self, name: str) -> None:
        if name.strip() and name.strip() != self.run.operator:
            self.record({"type": "operator_changed", "operator": name.strip()})

    def trusted_host_key(self, fingerprint: str) -> None:
        self.record({"type": "host_key_trusted", "fingerprint": fingerprint})

    def approval_blockers(self) -> list[str]:
        """Why GO-LIVE APPROVED cannot be given now (empty when it can)."""
        blockers = []
        for phase in self.run.playbook.linear_phases:
            if phase.id == "golive":
                break
            if not self.run.gate_holds(phase.id):
                blockers.append(f"{phase.title}: {self.run.phase_status(phase.id)}")
        if self.run.rollbacks:
            blockers.append("a rollback happened")
        return blockers

    def decide(self, decision: str, *, authorized_by: str, effective_at: str = "") -> None:
        if decision not in DECISIONS:
            raise EngineError(f"the decision is one of {', '.join(DECISIONS)}")
        if not authorized_by.strip():
            raise EngineError("the decision needs the name of who authorizes it")
        blockers = self.approval_blockers()
        if decision == DECISIONS[0] and blockers:
            raise GateClosed("GO-LIVE APPROVED is refused: " + "; ".join(blockers))
        effective = effective_at.strip() or datetime.now().astimezone().isoformat("T", "minutes")
        self.record(
            {
                "type": "decision",
                "decision": decision,
                "authorized_by": authorized_by.strip(),
                "effective_at": effective,
                "blockers": blockers,
            }
        )
        self.record(
            {
                "type": "step_finished",
                "step": "golive.decision",
                "status": "passed" if decision == DECISIONS[0] else "warning",
                "detail": f"{decision} by {authorized_by.strip()}",
                "value": decision,
                "by": authorized_by.strip(),
            }
        )

    # -- rollback --
    async def rollback(
        self, *, reason: str, confirm: Callable[[StepSpec], Awaitable[bool]] | None = None
    ) -> bool:
        """Run the rollback procedure; stop at the first failed step and say where the host is.

        `confirm` is asked before each destructive step; None means the caller already had the
        whole rollback confirmed. The error logs are collected first: `compose down` loses them.
        """
        self.check_can_act("rollback.verify_archive")
        self.record({"type": "rollback_started", "reason": reason, "by": self.run.operator})
        if self.run.status("incident.collect_logs") not in GATE_OK:
            await self.run_step("incident.collect_logs")
        commands: list[str] = []
        # A fresh attempt re-runs every rollback step, even those that passed in an earlier attempt.
        for spec in self.run.playbook.phase("rollback").steps:
            if spec.destructive and confirm is not None and not await confirm(spec):
                self._rollback_finished(
                    False, f"stopped before {spec.title}: not confirmed", spec.id, commands
                )
                return False
            outcome = await self.run_step(spec.id, confirmed=True)
            if outcome.command:
                commands.append(outcome.command)
            if outcome.status not in GATE_OK:
                self._rollback_finished(
                    False, f"{spec.title} failed: {outcome.detail}", spec.id, commands
                )
                return False
        self._rollback_finished(True, "previous version running", None, commands)
        return True

    def _rollback_finished(
        self, ok: bool, detail: str, stopped_at: str | None, commands: list[str]
    ) -> None:
        host_state = ROLLBACK_HOST_STATE.get(stopped_at or "", "")
        if stopped_at and not host_state:
            host_state = "previous version restored and started, but this check failed"
        if host_state:
            detail = f"{detail}. Host state: {host_state}"
        self.record(
            {
                "type": "rollback_finished",
                "ok": ok,
                "detail": redact_text(detail),
                "stopped_at": stopped_at,
                "commands": [redact_text(c) for c in commands],
            }
        )

    def finish(self) -> None:
        if self.run.finished_at is None:
            self.record({"type": "run_finished"})

    async def aclose(self) -> None:
        await self.http.aclose()
        if self.journal is not None:
            self.journal.close()


def find_unfinished_run(journal_dir: Path, target_label: str) -> Path | None:
    """The newest journal of an unfinished run against this target, if any."""
    if not journal_dir.is_dir():
        return None
    for path in sorted(journal_dir.glob("run-*.jsonl"), reverse=True):
        try:
            records = read_journal(path)
        except Exception:  # noqa: BLE001 - an unreadable journal is simply not offered
            continue
        if not records:
            continue
        first = records[0]["event"]
        finished = any(r["event"].get("type") == "run_finished" for r in records)
        if (
            first.get("type") == "run_started"
            and first.get("target") == target_label
            and not finished
        ):
            return path
    return None
