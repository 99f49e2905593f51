"""A run's lifecycle and outcome: one answer, computed from the folded run, never from display text.

In progress -> finished (after the go-live decision and `F`), rolled back (a completed rollback
closes the deployment phases; redeploying is a new run) or abandoned (with a reason). The engine
refuses every change to a run that is no longer in progress; exports state the outcome on top.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warungin_tui.engine.run import Run

DEPLOYMENT_PHASES = ("phase1", "phase2", "phase3")


class RunState(StrEnum):
    IN_PROGRESS = "in progress"
    FINISHED = "finished"
    ROLLED_BACK = "rolled back"
    ABANDONED = "abandoned"


class RunOutcome(StrEnum):
    """The one-line verdict at the top of an export."""

    SUCCESS = "SUCCESS"
    ROLLED_BACK = "ROLLED BACK"
    FAILED = "FAILED"
    IN_PROGRESS = "IN PROGRESS"
    ABANDONED = "ABANDONED"


def run_state(run: Run) -> RunState:
    if run.abandoned is not None:
        return RunState.ABANDONED
    if run.rollbacks and run.rollbacks[-1].get("ok") is True:
        return RunState.ROLLED_BACK
    if run.finished_at is not None:
        return RunState.FINISHED
    return RunState.IN_PROGRESS


def run_outcome(run: Run) -> RunOutcome:
    """SUCCESS only for a finished run whose deployment phases all hold and go-live was approved."""
    from warungin_tui.outcome import PhaseStatus

    state = run_state(run)
    if state == RunState.ABANDONED:
        return RunOutcome.ABANDONED
    if state == RunState.ROLLED_BACK:
        return RunOutcome.ROLLED_BACK
    statuses = [run.phase_status(p) for p in DEPLOYMENT_PHASES]
    if run.rollbacks or PhaseStatus.FAILED in statuses:
        # a failed phase, or a rollback that failed or has not finished
        return RunOutcome.FAILED
    if state == RunState.FINISHED:
        approved = (run.decision or {}).get("decision") == "GO-LIVE APPROVED"
        holds = all(s in (PhaseStatus.PASSED, PhaseStatus.OVERRIDDEN) for s in statuses)
        return RunOutcome.SUCCESS if approved and holds else RunOutcome.FAILED
    return RunOutcome.IN_PROGRESS
