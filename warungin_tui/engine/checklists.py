"""Checklist items the seed asks a person to tick, but which the run already knows: derived here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from warungin_tui.engine.run import Run
from warungin_tui.monitoring.summary import coverage_hours
from warungin_tui.outcome import GATE_OK, StepStatus
from warungin_tui.templating import render_plain


class ItemState(StrEnum):
    YES = "yes"
    NO = "no"
    OPEN = "open"
    OVERRIDDEN = "overridden"
    """Holds only because someone overrode a failure with a reason: never shown as plain YES."""


@dataclass(frozen=True)
class DerivedItem:
    label: str
    seed_ref: str
    steps: tuple[str, ...] = ()
    """Step ids (or `phase:<id>` for a whole phase gate) that must hold for the item to be YES."""
    special: str | None = None
    undone_by_rollback: bool = False
    """The item claims the new release is in place: a completed rollback makes it NO."""


def item_label(item: DerivedItem, values: Mapping[str, Any]) -> str:
    """The label with the configured threshold it quotes (config_values: never `threshold`)."""
    return render_plain(item.label, values) if "{" in item.label else item.label


def rolled_back(run: Run) -> bool:
    return bool(run.rollbacks) and run.rollbacks[-1].get("ok") is True


def _verification(label: str, steps: tuple[str, ...]) -> DerivedItem:
    return DerivedItem(label, f"PRODUCTION VERIFICATION REPORT: {label}", steps)


VERIFICATION_HEALTH = [
    _verification("Backend health endpoint: 200 OK", ("phase3.health",)),
    _verification("Database connectivity: Connected", ("phase3.database",)),
    _verification("Frontend loads: < {frontend_load_seconds} seconds", ("phase3.frontend",)),
    _verification("Authentication working: OK", ("phase3.auth",)),
    _verification("Error logs: Minimal/none", ("phase3.error_logs",)),
    _verification("All services started", ("phase2.services",)),
]
VERIFICATION_SECURITY = [
    _verification("2FA enforcement: Working", ("smoke.super_admin_2fa",)),
    _verification("Store authorization: 403 for unauthorized", ("smoke.store_authorization",)),
    _verification("No sensitive data exposed: Verified", ("report.no_data_exposed",)),
    _verification("Shift caching: 5s TTL", ("smoke.shift_caching",)),
    _verification("Request dedup: Working", ("report.request_dedup",)),
]
COMPLETION = [
    DerivedItem(
        "All code deployed successfully",
        "DEPLOYMENT COMPLETION: All code deployed",
        ("phase2.pull", "phase2.build"),
        undone_by_rollback=True,
    ),
    DerivedItem(
        "All services running and healthy",
        "DEPLOYMENT COMPLETION: All services running",
        ("phase2.services",),
    ),
    DerivedItem(
        "All post-deployment tests passed",
        "DEPLOYMENT COMPLETION: post-deployment tests",
        ("phase:phase3",),
    ),
    DerivedItem(
        "Production smoke tests passed",
        "DEPLOYMENT COMPLETION: smoke tests passed",
        ("phase:smoke",),
    ),
    DerivedItem(
        "No critical errors in logs",
        "DEPLOYMENT COMPLETION: No critical errors",
        ("phase3.error_logs",),
    ),
    DerivedItem(
        "Performance baseline verified",
        "DEPLOYMENT COMPLETION: Performance baseline",
        ("phase3.health", "phase3.frontend"),
    ),
]
SECURITY_HANDOFF = [
    DerivedItem(
        "2FA Verification", "SECURITY HANDOFF: 2FA Verification", ("smoke.super_admin_2fa",)
    ),
    DerivedItem(
        "Store Authorization",
        "SECURITY HANDOFF: Store Authorization",
        ("smoke.store_authorization",),
    ),
    DerivedItem(
        "No Data Exposure", "SECURITY HANDOFF: No Data Exposure", ("report.no_data_exposed",)
    ),
    DerivedItem(
        "Incident Response Ready",
        "SECURITY HANDOFF: Incident Response Ready",
        ("completion.incident_response_ready",),
    ),
    DerivedItem(
        "Security Team Briefed",
        "SECURITY HANDOFF: Security Team Briefed",
        ("completion.security_team_briefed",),
    ),
]
GO_LIVE = [
    DerivedItem(
        "All code fixes deployed",
        "GO-LIVE: All code fixes deployed",
        ("phase:phase2",),
        undone_by_rollback=True,
    ),
    DerivedItem(
        "All services verified healthy",
        "GO-LIVE: All services verified healthy",
        ("phase2.services", "phase3.health"),
    ),
    DerivedItem(
        "Security measures verified",
        "GO-LIVE: Security measures verified",
        tuple(s for item in VERIFICATION_SECURITY for s in item.steps),
    ),
    DerivedItem(
        "Performance baseline measured",
        "GO-LIVE: Performance baseline measured",
        ("phase3.health", "phase3.concurrent_users"),
    ),
    DerivedItem(
        "Post-deployment testing complete",
        "GO-LIVE: Post-deployment testing complete",
        ("phase:phase3", "phase:smoke", "phase:report"),
    ),
    DerivedItem(
        "All approvals signed",
        "GO-LIVE: All approvals signed",
        ("completion.tech_lead", "completion.ops_lead", "completion.product_manager"),
    ),
    DerivedItem("No rollback needed", "GO-LIVE: No rollback needed", special="no_rollback"),
    DerivedItem(
        "24-hour monitoring passed",
        "GO-LIVE: 24-hour monitoring passed",
        ("phase:monitoring",),
        special="monitoring_period",
    ),
]


MONITORING_PERIOD_HOURS = 24.0
"""The seed's 24-hour sign-off, unless the recorded config names another period."""


def monitoring_period_hours(run: Run) -> float:
    """The configured monitoring period: the monitor's (as it started), else the run's config."""
    if (settings := run.monitoring.settings) is not None:
        return settings.period_hours
    section = run.config.get("monitoring")
    hours = section.get("period_hours") if isinstance(section, dict) else None
    return float(hours) if isinstance(hours, int | float) and hours > 0 else MONITORING_PERIOD_HOURS


def monitoring_hours(run: Run) -> float:
    """Hours of the period the samples cover (monitoring/summary.py: each health sample stands
    for its slot in the schedule); samples recorded without the monitor's schedule count from
    the first to the last (0 without two samples)."""
    if run.monitoring.started is not None:
        return coverage_hours(run)
    times = sorted(t for s in run.monitoring_samples if (t := _moment(s.get("at"))) is not None)
    return (times[-1] - times[0]).total_seconds() / 3600 if len(times) > 1 else 0.0


def monitoring_override(run: Run) -> dict[str, Any] | None:
    """{reason, hours_covered}: the go-live decision's `monitoring_override`, else an override
    of the monitoring phase's gate (also a reason someone gave); None when nobody overrode."""
    override = (run.decision or {}).get("monitoring_override")
    if isinstance(override, dict) and override.get("reason"):
        return override
    gate = run.gate_overrides.get("monitoring")
    if gate:
        return {"reason": gate["reason"], "hours_covered": monitoring_hours(run)}
    return None


def monitoring_covered(run: Run) -> bool:
    return monitoring_hours(run) >= monitoring_period_hours(run)


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def item_state(run: Run, item: DerivedItem) -> ItemState:
    if item.special == "no_rollback":
        return ItemState.NO if run.rollbacks else ItemState.YES
    if item.undone_by_rollback and rolled_back(run):
        return ItemState.NO
    states = []
    for ref in item.steps:
        if ref.startswith("phase:"):
            phase_status = str(run.phase_status(ref.removeprefix("phase:")))
            states.append(
                {
                    "passed": ItemState.YES,
                    "overridden": ItemState.OVERRIDDEN,
                    "failed": ItemState.NO,
                }.get(phase_status, ItemState.OPEN)
            )
            continue
        status = run.status(ref)
        if status == StepStatus.OVERRIDDEN:
            states.append(ItemState.OVERRIDDEN)
        elif status in GATE_OK and status != StepStatus.SKIPPED:
            states.append(ItemState.YES)
        elif status in (StepStatus.FAILED, StepStatus.INTERRUPTED):
            states.append(ItemState.NO)
        else:
            states.append(ItemState.OPEN)
    state = next(
        (w for w in (ItemState.NO, ItemState.OPEN, ItemState.OVERRIDDEN) if w in states),
        ItemState.YES,
    )
    if item.special == "monitoring_period" and not monitoring_covered(run):
        # The checks passing is not enough: the samples must cover the period, or someone
        # overrode that with a reason.
        if monitoring_override(run):
            return ItemState.OVERRIDDEN
        if state in (ItemState.YES, ItemState.OVERRIDDEN):
            return ItemState.NO
    return state


def evaluate(run: Run, items: list[DerivedItem]) -> list[tuple[DerivedItem, ItemState]]:
    return [(item, item_state(run, item)) for item in items]
