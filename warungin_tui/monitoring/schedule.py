"""The monitoring schedule as data: windows of the period, each with probes and their intervals.

Times are "playbook seconds" since monitoring began; a compressed rehearsal day runs the same
schedule on a faster clock (clock.py). A round is every probe due at one moment; rounds are
identified by their due time, so a restarted monitor never takes a round twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from warungin_tui.config import MonitoringConfig

PROBES = (
    "health",
    "services",
    "error_logs",
    "resources",
    "db_connections",
    "api_latency",
    "user_activity",
)
PROBE_TITLES = {
    "health": "Service health (API /api/health)",
    "services": "Container states (docker compose ps)",
    "error_logs": "Error log lines since the last sample",
    "resources": "CPU and memory per container (docker stats)",
    "db_connections": "Database connections (pg_stat_activity)",
    "api_latency": "API response time (through the front end)",
    "user_activity": "User activity: requests and failed logins",
}


@dataclass(frozen=True)
class Window:
    """A stretch of the period [start_h, end_h) with how often (minutes) each probe runs."""

    title: str
    seed_ref: str
    start_h: float
    end_h: float
    probes: dict[str, float]


@dataclass(frozen=True)
class Round:
    due_s: float
    probes: tuple[str, ...]
    window: str


@dataclass(frozen=True)
class Schedule:
    windows: tuple[Window, ...]
    period_h: float
    rounds: tuple[Round, ...] = field(default=())

    @property
    def period_s(self) -> float:
        return self.period_h * 3600.0

    def round_after(self, due_s: float | None) -> Round | None:
        """The first round due after `due_s` (None: the first round)."""
        for item in self.rounds:
            if due_s is None or item.due_s > due_s + 1e-6:
                return item
        return None

    def slot_end(self, item: Round) -> float:
        """When the round's slot ends: the next round's due time, or the period's end."""
        following = self.round_after(item.due_s)
        return following.due_s if following else self.period_s

    def probe_slot_s(self, probe: str, due_s: float) -> float:
        """How long a sample of `probe` taken at `due_s` stands for: its interval there."""
        for window in self.windows:
            if window.start_h * 3600 <= due_s < window.end_h * 3600 and probe in window.probes:
                end = min(window.end_h * 3600, self.period_s)
                return min(window.probes[probe] * 60.0, end - due_s)
        return 0.0


def seed_windows(settings: MonitoringConfig) -> tuple[Window, ...]:
    """The seed's POST-DEPLOYMENT MONITORING section, intervals from `[monitoring]`."""
    active, checks = settings.active_error_logs_minutes, settings.active_checks_minutes
    activity, standard = settings.user_activity_minutes, settings.standard_minutes
    return (
        Window(
            "Hour 1-2: active monitoring",
            "Hour 1-2: Active Monitoring",
            0.0,
            2.0,
            {
                "error_logs": active,
                "health": checks,
                "services": checks,
                "resources": checks,
                "db_connections": checks,
            },
        ),
        Window(
            "Hour 3-4: user activity",
            "Hour 3-4: User Activity",
            2.0,
            4.0,
            {
                "user_activity": activity,
                "api_latency": activity,
                "health": activity,
                "services": activity,
                "error_logs": activity,
            },
        ),
        Window(
            "Hour 5-24: standard monitoring",
            "Hour 5-24: Standard Monitoring",
            4.0,
            float("inf"),
            dict.fromkeys(PROBES, standard),
        ),
    )


def build_schedule(settings: MonitoringConfig) -> Schedule:
    """Every round of the period, in time order."""
    period_s = settings.period_hours * 3600.0
    windows = seed_windows(settings)
    due: dict[float, tuple[list[str], str]] = {}
    for window in windows:
        start, end = window.start_h * 3600.0, min(window.end_h * 3600.0, period_s)
        for probe, minutes in window.probes.items():
            at = start
            while at < end - 1e-6:
                key = round(at, 3)
                names, _ = due.setdefault(key, ([], window.title))
                names.append(probe)
                at += minutes * 60.0
    rounds = tuple(
        Round(at, tuple(p for p in PROBES if p in names), title)
        for at, (names, title) in sorted(due.items())
    )
    return Schedule(windows, settings.period_hours, rounds)
