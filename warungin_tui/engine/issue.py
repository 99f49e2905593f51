"""What was the issue? One answer for the incident messages, the overview and the export.

The issue is the earliest failure that led to the rollback: among the deployment steps (never the
rollback or incident procedures, which are the response), the first whose failure still stood
when the rollback started. Without a rollback, the cut-off is now. A failure fixed by a retry
before the cut-off was resolved, not the issue; an overridden failure (an accepted risk) is named
only when nothing else failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from warungin_tui.engine.run import Run
from warungin_tui.outcome import BAD, StepStatus


@dataclass(frozen=True)
class Issue:
    step_id: str
    title: str
    status: StepStatus
    """The step's outcome when the issue was found (failed, interrupted or overridden)."""
    at: str | None
    detail: str

    def summary(self) -> str:
        return f"{self.title}: {self.detail}"


def the_issue(run: Run) -> Issue | None:
    cutoff = run.rollbacks[0].get("seq") if run.rollbacks else None
    deployment = {s.id for p in run.playbook.linear_phases for s in p.steps}
    # Each step's outcomes in journal order, up to the cut-off.
    standing: dict[str, list[dict[str, object]]] = {}
    for outcome in run.history:
        seq = outcome["seq"]
        if cutoff is not None and isinstance(seq, int) and seq > cutoff:
            break
        step_id = str(outcome["step"])
        if step_id not in deployment:
            continue
        if outcome["status"] == StepStatus.OVERRIDDEN:
            standing[step_id] = [outcome]  # the failure was accepted with a reason
        elif outcome["status"] in BAD:
            standing.setdefault(step_id, []).append(outcome)
        elif outcome["status"] != StepStatus.RUNNING:
            standing.pop(step_id, None)  # passed (or skipped) later: resolved
    failures = [o for outcomes in standing.values() for o in outcomes]
    if not failures:
        return None

    def rank(outcome: dict[str, object]) -> tuple[int, int]:
        accepted = outcome["status"] == StepStatus.OVERRIDDEN
        return (1 if accepted else 0, int(str(outcome["seq"])))

    first = min(failures, key=rank)
    step_id = str(first["step"])
    return Issue(
        step_id=step_id,
        title=run.playbook.step(step_id).title,
        status=StepStatus(str(first["status"])),
        at=str(first["at"]) if first["at"] else None,
        detail=str(first["detail"]),
    )
