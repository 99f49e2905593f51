"""Drives the engine through the whole playbook the way a careful operator would (for tests)."""

from __future__ import annotations

from warungin_tui.engine.engine import Engine
from warungin_tui.outcome import GATE_OK
from warungin_tui.playbook import StepKind

ANSWERS = {
    "monitoring.uptime": "99.9",
    "monitoring.critical_issues": "0",
    "monitoring.user_reports": "none",
}


async def answer_or_run(engine: Engine, step_id: str) -> None:
    spec = engine.run.playbook.step(step_id)
    if spec.kind == StepKind.MANUAL:
        engine.tick(step_id, note="checked in rehearsal")
    elif spec.kind == StepKind.SIGNOFF:
        engine.sign_off(step_id, f"{spec.role} Person")
    elif spec.kind == StepKind.INPUT:
        engine.record_input(
            step_id, ANSWERS.get(step_id, spec.choices[0] if spec.choices else "rehearsal answer")
        )
    elif spec.kind == StepKind.DECISION:
        engine.decide(
            "GO-LIVE APPROVED",
            authorized_by="Release Manager",
            monitoring_override_reason="rehearsal: no monitoring samples to wait for",
        )
    else:
        await engine.run_step(step_id, confirmed=True)


async def drive(engine: Engine, *, stop_before: str | None = None) -> str | None:
    """Run every linear phase in order; return the id of the first step that did not pass."""
    for phase in engine.run.playbook.linear_phases:
        for spec in phase.steps:
            if spec.id == stop_before:
                return None
            if engine.run.status(spec.id) in GATE_OK:
                continue
            await answer_or_run(engine, spec.id)
            if engine.run.status(spec.id) not in GATE_OK:
                return spec.id
    return None
