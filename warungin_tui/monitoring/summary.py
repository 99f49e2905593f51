"""The 24-hour sign-off figures, computed from the samples: uptime with downtime intervals,
critical alerts, latency percentiles against the limit, gaps, and hourly aggregates.

A health sample stands for its slot in the schedule (until that probe's next due time), so
uptime is time-weighted and a missed round covers nothing: gaps lower coverage, never uptime.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warungin_tui.monitoring.alerts import CRITICAL

if TYPE_CHECKING:
    from warungin_tui.engine.run import Run


@dataclass
class HourAggregate:
    hour: int
    """0 is the first hour."""
    samples: int
    health_up: int
    health_checked: int
    errors: int
    critical: int
    worst_ms: float | None


@dataclass
class MonitoringSummary:
    started: bool
    period_hours: float
    coverage_hours: float
    uptime_percent: float | None
    downtime: list[tuple[float, float]]
    """Playbook-second intervals [from, to) when the health check failed."""
    critical_alerts: int
    warning_alerts: int
    unacknowledged: int
    latency_ms: dict[str, float | None]
    """p50, p95 and p99 of the API's response times."""
    latency_limit_ms: float
    performance: str
    """Suggested from p95: GOOD (at most half the limit), ACCEPTABLE, NEEDS REVIEW."""
    gaps: list[dict[str, Any]]
    gap_hours: float
    samples: int
    hourly: list[HourAggregate] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether the samples cover the whole configured period."""
        return self.started and self.coverage_hours >= self.period_hours - 1e-6

    @property
    def downtime_minutes(self) -> float:
        return sum(end - start for start, end in self.downtime) / 60.0


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (no interpolation: every figure is a measured one)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + 1e-6:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _health_slots(run: Run) -> list[tuple[float, float, bool]]:
    state, schedule = run.monitoring, run.monitoring.schedule
    if schedule is None:
        return []
    return [
        (s.due_s, s.due_s + schedule.probe_slot_s("health", s.due_s), bool(s.health_ok))
        for s in state.samples
        if s.health_ok is not None
    ]


def coverage_hours(run: Run) -> float:
    """Hours of the period the health samples stand for (what "24-hour monitoring" rests on)."""
    return sum(end - start for start, end, _ in _health_slots(run)) / 3600.0


def monitoring_summary(run: Run, default_limit_ms: float = 1000.0) -> MonitoringSummary:
    state = run.monitoring
    settings = state.settings
    slots = _health_slots(run)
    covered = sum(end - start for start, end, _ in slots)
    down = _merge([(start, end) for start, end, ok in slots if not ok])
    down_s = sum(end - start for start, end in down)
    latencies = [s.health_ms for s in state.samples if s.health_ok and s.health_ms is not None]
    latencies += [s.api_ms for s in state.samples if s.api_ms is not None]
    limit = (settings.latency_limit_ms if settings else None) or default_limit_ms
    shares = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
    figures = {name: percentile(latencies, share) for name, share in shares.items()}
    p95 = figures["p95"]
    if p95 is None:
        performance = "NEEDS REVIEW"
    elif p95 <= limit / 2:
        performance = "GOOD"
    elif p95 <= limit:
        performance = "ACCEPTABLE"
    else:
        performance = "NEEDS REVIEW"
    gap_s = sum(float(g.get("to_s", 0)) - float(g.get("from_s", 0)) for g in state.gaps)
    return MonitoringSummary(
        started=state.started is not None,
        period_hours=settings.period_hours if settings else 24.0,
        coverage_hours=covered / 3600.0,
        uptime_percent=round(100.0 * (covered - down_s) / covered, 3) if covered else None,
        downtime=down,
        critical_alerts=sum(e.severity == CRITICAL for e in state.alerts),
        warning_alerts=sum(e.severity != CRITICAL for e in state.alerts),
        unacknowledged=sum(e.acknowledged is None for e in state.alerts),
        latency_ms=figures,
        latency_limit_ms=limit,
        performance=performance,
        gaps=list(state.gaps),
        gap_hours=gap_s / 3600.0,
        samples=len(state.samples),
        hourly=_hourly(run),
    )


def _hourly(run: Run) -> list[HourAggregate]:
    hours: dict[int, HourAggregate] = {}
    for sample in run.monitoring.samples:
        hour = int(sample.due_s // 3600)
        agg = hours.setdefault(hour, HourAggregate(hour, 0, 0, 0, 0, 0, None))
        agg.samples += 1
        if sample.health_ok is not None:
            agg.health_checked += 1
            agg.health_up += sample.health_ok
        agg.errors += sample.errors
        agg.critical += sample.critical
        measured = [ms for ms in (sample.health_ms, sample.api_ms) if ms is not None]
        if measured:
            agg.worst_ms = max([*measured, agg.worst_ms or 0.0])
    return [hours[h] for h in sorted(hours)]


def clock_text(playbook_s: float) -> str:
    """Playbook seconds as "h+HH:MM" since monitoring began."""
    minutes = int(round(playbook_s / 60))
    return f"h+{minutes // 60:02d}:{minutes % 60:02d}"
