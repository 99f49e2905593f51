"""The run's outcome as the export words it: the enum from lifecycle.run_outcome, and beside it
the reason in words. Never the other way round: nothing here branches on display text."""

from __future__ import annotations

from warungin_tui.engine.lifecycle import RunOutcome, run_outcome
from warungin_tui.engine.run import Run
from warungin_tui.outcome import PhaseStatus

DEPLOYMENT_PHASES = ("phase1", "phase2", "phase3", "smoke")
"""The phases a deployment log's TOTAL DEPLOYMENT TIME and OVERALL STATUS are about."""


def outcome_detail(run: Run, outcome: RunOutcome) -> str:
    """The words beside the outcome: why it is what it is (the outcome itself is `run_outcome`)."""
    if outcome == RunOutcome.ABANDONED:
        abandoned = run.abandoned or {}
        return f"abandoned by {abandoned.get('by') or 'unknown'} - {abandoned.get('reason', '')}"
    if outcome == RunOutcome.ROLLED_BACK:
        return "previous version restored"
    statuses = {p: run.phase_status(p) for p in DEPLOYMENT_PHASES}
    if run.rollbacks:
        last = run.rollbacks[-1]
        if "ok" not in last:
            return "rollback started, not finished"
        return f"the rollback itself FAILED - {last.get('detail', '')}"
    failed = [p for p, s in statuses.items() if s == PhaseStatus.FAILED]
    if failed:
        return f"{run.playbook.phase(failed[0]).title} failed; no rollback recorded"
    holds = all(s in (PhaseStatus.PASSED, PhaseStatus.OVERRIDDEN) for s in statuses.values())
    overridden = any(s == PhaseStatus.OVERRIDDEN for s in statuses.values())
    if outcome == RunOutcome.SUCCESS:
        return "with overrides" if overridden else ""
    if outcome == RunOutcome.FAILED:  # finished without approval, or with a phase still open
        decision = (run.decision or {}).get("decision") or "no go-live decision"
        return f"finished with {decision}" if holds else "finished before the deployment ended"
    if all(s == PhaseStatus.NOT_STARTED for s in statuses.values()):
        return "Phase 1 not started yet"
    if holds:
        return "deployment done; the run is not finished yet"
    return f"at {run.playbook.phase(run.current_phase()).title}"


def overall_status(run: Run) -> str:
    """OVERALL STATUS as printed: the outcome, then its detail in brackets."""
    outcome = run_outcome(run)
    detail = outcome_detail(run, outcome)
    return f"{outcome} ({detail})" if detail else str(outcome)


def deployment_ended(run: Run) -> bool:
    """The deployment phases are over: all hold, or a rollback finished (either way)."""
    if run.rollbacks and "ok" in run.rollbacks[-1]:
        return True
    return all(run.gate_holds(p) for p in DEPLOYMENT_PHASES)
