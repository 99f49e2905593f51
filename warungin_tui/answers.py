"""What people answer: ticks, sign-offs, inputs, skips, overrides and the go-live decision."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from warungin_tui.errors import EngineError, GateClosed, StepBusy
from warungin_tui.playbook import StepKind, StepSpec
from warungin_tui.redact import redact_text
from warungin_tui.run import BAD, Run, StepStatus

DECISIONS = ("GO-LIVE APPROVED", "HOLD FOR REVIEW")


class HumanAnswers:
    """Mixed into Engine: every answer is checked against the gates, then journaled."""

    if TYPE_CHECKING:
        run: Run

        def record(self, event: dict[str, Any]) -> dict[str, Any]: ...

        def check_can_act(self, step_id: str) -> StepSpec: ...

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
                "entered_by": self.run.operator,
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
                "entered_by": self.run.operator,
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
                "entered_by": self.run.operator,
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
                "entered_by": self.run.operator,
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
                "entered_by": self.run.operator,
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
                "entered_by": self.run.operator,
            }
        )

    def confirm_notice_sent(self, step_id: str) -> None:
        """The operator says they sent the prepared message themselves (the tick: who, when)."""
        spec = self.run.playbook.step(step_id)
        if spec.kind != StepKind.NOTIFY:
            raise EngineError(f"{spec.title} is not a notification step")
        result = self.run.results[step_id]
        notice = result.value if isinstance(result.value, dict) else None
        if result.status == StepStatus.RUNNING or notice is None or "body" not in notice:
            raise EngineError(f"{spec.title} has no prepared message yet: run the step first")
        sent = notice.get("sent")
        if isinstance(sent, dict) and sent.get("ok"):
            raise EngineError(f"{spec.title} was already sent by {sent.get('command')}")
        if step_id in self.run.notices_confirmed:
            raise EngineError(f"{spec.title} is already confirmed sent")
        self.record(
            {
                "type": "notice_confirmed",
                "step": step_id,
                "by": self.run.operator,
                "entered_by": self.run.operator,
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
                "entered_by": self.run.operator,
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
                "entered_by": self.run.operator,
            }
        )
