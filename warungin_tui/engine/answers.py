"""What people answer: ticks, sign-offs, inputs, skips, overrides and the go-live decision."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from warungin_tui.engine.events import Decision, JournalEvent
from warungin_tui.engine.rules import (
    APPROVED,
    Action,
    Refusal,
    decision_refusal,
    monitoring_hours_covered,
    monitoring_shortfall,
    phase_refusal,
)
from warungin_tui.engine.rules import approval_blockers as rule_approval_blockers
from warungin_tui.engine.run import Run
from warungin_tui.errors import EngineError
from warungin_tui.outcome import StepStatus
from warungin_tui.playbook import StepSpec
from warungin_tui.redact import redact_text


class HumanAnswers:
    """Mixed into Engine: every answer is checked by the rulebook (rules.py), then journaled."""

    if TYPE_CHECKING:
        run: Run

        @property
        def busy(self) -> str | None: ...

        enforce_gates: bool

        def record(self, event: JournalEvent) -> dict[str, Any]: ...

        def check_can_act(self, step_id: str, action: Action | None = None) -> StepSpec: ...

        def refuse(self, refusal: Refusal | None) -> None: ...

    def tick(self, step_id: str, *, passed: bool = True, note: str = "", by: str = "") -> None:
        self.check_can_act(step_id, Action.TICK if passed else Action.FAIL)
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
        spec = self.check_can_act(step_id, Action.SIGN)
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
        spec = self.check_can_act(step_id, Action.INPUT)
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
        self.check_can_act(step_id, Action.SKIP)
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
        self.check_can_act(step_id, Action.OVERRIDE_STEP)
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
        self.refuse(
            phase_refusal(
                self.run,
                phase_id,
                Action.OVERRIDE_GATE,
                busy=self.busy,
                enforce_gates=self.enforce_gates,
            )
        )
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
        spec = self.check_can_act(step_id, Action.CONFIRM_SENT)
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
        return rule_approval_blockers(self.run)

    def decide(
        self,
        decision: str,
        *,
        authorized_by: str,
        effective_at: str = "",
        monitoring_override_reason: str = "",
    ) -> None:
        """Record the go-live decision. Approval without monitoring samples covering the period
        needs `monitoring_override_reason`; it is kept in the event as `monitoring_override`."""
        self.refuse(
            decision_refusal(
                self.run,
                decision,
                authorized_by,
                monitoring_override_reason=monitoring_override_reason,
            )
        )
        blockers = self.approval_blockers()
        effective = effective_at.strip() or datetime.now().astimezone().isoformat("T", "minutes")
        event: Decision = {
            "type": "decision",
            "decision": decision,
            "authorized_by": authorized_by.strip(),
            "effective_at": effective,
            "blockers": blockers,
            "entered_by": self.run.operator,
        }
        if decision == APPROVED and monitoring_shortfall(self.run):
            event["monitoring_override"] = {
                "reason": monitoring_override_reason.strip(),
                "hours_covered": round(monitoring_hours_covered(self.run), 2),
            }
        self.record(event)
        self.record(
            {
                "type": "step_finished",
                "step": "golive.decision",
                "status": "passed" if decision == APPROVED else "warning",
                "detail": f"{decision} by {authorized_by.strip()}",
                "value": decision,
                "by": authorized_by.strip(),
                "entered_by": self.run.operator,
            }
        )
