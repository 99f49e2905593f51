"""A Run's state, rebuilt by folding journal events: the journal is the truth, this is its view."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from warungin_tui.engine.events import check_event
from warungin_tui.monitoring.state import MonitoringState
from warungin_tui.outcome import BAD, GATE_OK, PhaseStatus, StepStatus
from warungin_tui.playbook import Playbook

OUTPUT_KEPT_IN_MEMORY = 400
"""Lines of a step's latest attempt kept for the UI; the journal keeps more."""


@dataclass
class StepResult:
    step_id: str
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    exit_code: int | None = None
    detail: str = ""
    value: Any = None
    command: str | None = None
    by: str | None = None
    entered_by: str | None = None
    """The operator who typed the answer (the signer or authorizer may be someone else)."""
    note: str | None = None
    override_reason: str | None = None
    overridden_at: str | None = None
    failed_detail: str | None = None
    output_chunks: deque[tuple[str, list[str]]] = field(
        default_factory=lambda: deque(maxlen=OUTPUT_KEPT_IN_MEMORY)
    )
    """The latest attempt's output as journaled, batch by batch (stream, lines): folding keeps
    the batches as they are (a resume folds thousands), `output` flattens the tail on demand."""
    output_lines: int = 0
    output_file: dict[str, Any] | None = None
    """The latest attempt's side file (output_file.py): name, sha256, lines; or why none."""
    host_record: str | None = None
    """The host-side record of the latest attempt's command (hostrecords.py), if any."""

    @property
    def output(self) -> list[tuple[str, str]]:
        """The last OUTPUT_KEPT_IN_MEMORY lines of the latest attempt, as (stream, line)."""
        tail: list[tuple[str, str]] = []
        for stream, lines in reversed(self.output_chunks):
            wanted = OUTPUT_KEPT_IN_MEMORY - len(tail)
            tail.extend((stream, line) for line in reversed(lines[-wanted:]))
            if len(tail) >= OUTPUT_KEPT_IN_MEMORY:
                break
        tail.reverse()
        return tail

    def add_output(self, stream: str, lines: list[str]) -> None:
        if lines:
            self.output_chunks.append((stream, lines))

    def snapshot(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "output_chunks"}
        data["status"] = str(self.status)
        data["output"] = self.output
        return data


@dataclass
class Run:
    playbook: Playbook
    run_id: str = ""
    target: str = ""
    release: str = ""
    operator: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    results: dict[str, StepResult] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    gate_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    rollbacks: list[dict[str, Any]] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    abandoned: dict[str, Any] | None = None
    trusted_host_keys: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    exported_at: str | None = None
    """When the last export was written (the overview's "what next" after the finish)."""
    notices_confirmed: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Notification steps whose message the operator confirmed sending: step id -> by, at."""
    monitoring_samples: list[dict[str, Any]] = field(default_factory=list)
    """`monitoring_sample` events (issue 12 records them), each with its journal time `at`."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """Every step outcome and override in journal order (`seq`, `step`, `status`, `at`,
    `detail`): the folded results keep only the latest; "what was the issue" needs the past."""
    monitoring: MonitoringState = field(default_factory=MonitoringState)
    """Samples, gaps and alerts of the headless monitor (monitoring/state.py), folded small."""
    events: int = 0

    def __post_init__(self) -> None:
        for step in self.playbook.all_steps():
            self.results.setdefault(step.id, StepResult(step.id))

    # -- folding -------------------------------------------------------------------------------
    def apply(self, record: dict[str, Any]) -> None:
        """Fold one journal record into the state; the only way state ever changes.

        An unknown kind or a malformed event raises (events.check_event): never a silent skip."""
        check_event(record["event"], f"journal line {record.get('seq', self.events) + 1}")
        self.fold(record)

    def fold(self, record: dict[str, Any]) -> None:
        """`apply` without the check, for a record whose event was checked before it was
        written (Engine.record checks before the journal write)."""
        event = record["event"]
        handler = getattr(self, f"_on_{event['type']}", None)
        if handler is not None:  # host lock events are kept for the record, not folded
            handler(event, record.get("at"))
        self.events += 1

    def _on_run_started(self, event: dict[str, Any], at: str | None) -> None:
        self.run_id = event["run_id"]
        self.target = event["target"]
        self.release = event["release"]
        self.operator = event["operator"]
        self.config = event.get("config", {})
        self.started_at = at

    def _on_operator_changed(self, event: dict[str, Any], at: str | None) -> None:
        self.operator = event["operator"]

    def _on_step_started(self, event: dict[str, Any], at: str | None) -> None:
        result = self.results[event["step"]]
        result.status = StepStatus.RUNNING
        result.attempts += 1
        result.started_at = at
        result.finished_at = None
        result.duration_s = None
        result.exit_code = None
        result.detail = ""
        result.command = event.get("command")
        result.host_record = event.get("host_record")
        self.notices_confirmed.pop(event["step"], None)  # a new message is not the one sent
        result.output_chunks.clear()
        result.output_lines = 0
        result.output_file = None

    def _on_step_reattached(self, event: dict[str, Any], at: str | None) -> None:
        """Following a command that still runs on the host: its output streams again in full."""
        result = self.results[event["step"]]
        result.status = StepStatus.RUNNING
        result.finished_at = None
        result.detail = ""
        result.output_chunks.clear()
        result.output_lines = 0
        result.output_file = None

    def _on_step_output(self, event: dict[str, Any], at: str | None) -> None:
        result = self.results[event["step"]]
        stream = event.get("stream", "stdout")
        result.add_output(stream, event["lines"])  # resume folds 1000s of these: no copy
        result.output_lines += len(event["lines"]) + int(event.get("dropped", 0))

    def _on_step_finished(self, event: dict[str, Any], at: str | None) -> None:
        result = self.results[event["step"]]
        result.status = StepStatus(event["status"])
        result.finished_at = at
        result.duration_s = event.get("duration_s")
        result.exit_code = event.get("exit_code")
        result.detail = event.get("detail", "")
        result.value = event.get("value")
        result.by = event.get("by")
        result.entered_by = event.get("entered_by")
        result.note = event.get("note")
        result.override_reason = None
        result.overridden_at = None
        if "command" in event:
            result.command = event["command"]
        if "output_file" in event:
            result.output_file = event["output_file"]
        if result.status in BAD:
            result.failed_detail = result.detail
        self.values.update(event.get("captures") or {})
        self._remember(event["step"], result.status, at, result.detail)

    def _remember(self, step_id: str, status: StepStatus, at: str | None, detail: str) -> None:
        self.history.append(
            {"seq": self.events, "step": step_id, "status": status, "at": at, "detail": detail}
        )

    def _on_step_overridden(self, event: dict[str, Any], at: str | None) -> None:
        result = self.results[event["step"]]
        result.status = StepStatus.OVERRIDDEN
        result.override_reason = event["reason"]
        result.overridden_at = at
        result.by = event.get("by")
        result.entered_by = event.get("entered_by")
        self._remember(event["step"], StepStatus.OVERRIDDEN, at, result.failed_detail or "")

    def _on_gate_overridden(self, event: dict[str, Any], at: str | None) -> None:
        self.gate_overrides[event["phase"]] = {
            "reason": event["reason"],
            "by": event.get("by", ""),
            "entered_by": event.get("entered_by", ""),
            "at": at or "",
        }

    def _on_host_key_trusted(self, event: dict[str, Any], at: str | None) -> None:
        self.trusted_host_keys.append(event["fingerprint"])

    def _on_rollback_started(self, event: dict[str, Any], at: str | None) -> None:
        self.rollbacks.append(
            {
                "started_at": at,
                "reason": event.get("reason", ""),
                "by": event.get("by"),
                "seq": self.events,
            }
        )

    def _on_rollback_finished(self, event: dict[str, Any], at: str | None) -> None:
        if self.rollbacks:
            self.rollbacks[-1].update(
                finished_at=at,
                ok=event["ok"],
                detail=event.get("detail", ""),
                stopped_at=event.get("stopped_at"),
                commands=event.get("commands", []),
            )

    def _on_decision(self, event: dict[str, Any], at: str | None) -> None:
        self.decision = {**{k: v for k, v in event.items() if k != "type"}, "at": at}

    def _on_export_written(self, event: dict[str, Any], at: str | None) -> None:
        self.exports.extend(event["paths"])
        self.exported_at = at

    def _on_monitoring_sample(self, event: dict[str, Any], at: str | None) -> None:
        self.monitoring_samples.append(
            {**{k: v for k, v in event.items() if k != "type"}, "at": at}
        )
        if "due_s" in event:  # taken by the monitor on its schedule (monitoring/monitor.py)
            self.monitoring.on_sample(event, at)

    def _on_notice_confirmed(self, event: dict[str, Any], at: str | None) -> None:
        self.notices_confirmed[event["step"]] = {
            "by": event.get("by"),
            "entered_by": event.get("entered_by"),
            "at": at,
        }

    def _on_export_failed(self, event: dict[str, Any], at: str | None) -> None:
        self.exports = [p for p in self.exports if p not in event["paths"]]
        if not self.exports:
            self.exported_at = None

    def _on_run_finished(self, event: dict[str, Any], at: str | None) -> None:
        self.finished_at = at

    def _on_run_abandoned(self, event: dict[str, Any], at: str | None) -> None:
        self.abandoned = {"reason": event["reason"], "by": event.get("by"), "at": at}

    def _on_monitoring_started(self, event: dict[str, Any], at: str | None) -> None:
        self.monitoring.on_started(event, at)

    def _on_monitoring_gap(self, event: dict[str, Any], at: str | None) -> None:
        self.monitoring.on_gap(event, at)

    def _on_monitoring_alert_acknowledged(self, event: dict[str, Any], at: str | None) -> None:
        self.monitoring.on_acknowledged(event, at)

    def _on_monitoring_completed(self, event: dict[str, Any], at: str | None) -> None:
        self.monitoring.on_completed(event, at)

    # -- derived views -------------------------------------------------------------------------
    def status(self, step_id: str) -> StepStatus:
        return self.results[step_id].status

    def phase_status(self, phase_id: str) -> PhaseStatus:
        phase = self.playbook.phase(phase_id)
        statuses = [self.results[s.id].status for s in phase.steps]
        if all(s == StepStatus.PENDING for s in statuses) and phase_id not in self.gate_overrides:
            return PhaseStatus.NOT_STARTED
        if phase_id in self.gate_overrides:
            return PhaseStatus.OVERRIDDEN
        if any(s in BAD for s in statuses):
            return PhaseStatus.FAILED
        if all(s in GATE_OK for s in statuses):
            if any(s == StepStatus.OVERRIDDEN for s in statuses):
                return PhaseStatus.OVERRIDDEN
            return PhaseStatus.PASSED
        return PhaseStatus.RUNNING

    def gate_holds(self, phase_id: str) -> bool:
        return self.phase_status(phase_id) in (PhaseStatus.PASSED, PhaseStatus.OVERRIDDEN)

    def blocking_phase(self, phase_id: str) -> str | None:
        """The first earlier linear phase whose gate does not hold, if any."""
        if self.playbook.phase(phase_id).procedure:
            return None
        for phase in self.playbook.linear_phases:
            if phase.id == phase_id:
                return None
            if not self.gate_holds(phase.id):
                return phase.id
        return None

    def current_phase(self) -> str:
        for phase in self.playbook.linear_phases:
            if not self.gate_holds(phase.id):
                return phase.id
        return self.playbook.linear_phases[-1].id

    def next_step(self, phase_id: str) -> str | None:
        for step in self.playbook.phase(phase_id).steps:
            if self.results[step.id].status not in GATE_OK:
                return step.id
        return None

    def running_steps(self) -> list[str]:
        return [sid for sid, r in self.results.items() if r.status == StepStatus.RUNNING]

    def failed_gates(self) -> list[str]:
        """Linear phases that failed and were not overridden."""
        return [
            p.id
            for p in self.playbook.linear_phases
            if self.phase_status(p.id) == PhaseStatus.FAILED
        ]

    @property
    def rollback_available(self) -> bool:
        return bool(self.values.get("backup_file"))

    def snapshot(self) -> dict[str, Any]:
        """Everything that defines the run, for equality checks (resume must rebuild this)."""
        return {
            "run_id": self.run_id,
            "target": self.target,
            "release": self.release,
            "operator": self.operator,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "results": {k: v.snapshot() for k, v in sorted(self.results.items())},
            "values": dict(sorted(self.values.items())),
            "gate_overrides": self.gate_overrides,
            "rollbacks": self.rollbacks,
            "decision": self.decision,
            "abandoned": self.abandoned,
            "trusted_host_keys": self.trusted_host_keys,
            "notices_confirmed": self.notices_confirmed,
            "exports": self.exports,
            "monitoring_samples": self.monitoring_samples,
            "monitoring": self.monitoring.snapshot(),
            "events": self.events,
        }


def rebuild_run(playbook: Playbook, records: list[dict[str, Any]]) -> Run:
    run = Run(playbook)
    for record in records:
        run.apply(record)
    return run
