"""The monitoring part of a run, folded from its journal events; small enough for a week.

Run.apply hands monitoring events here. Nothing is computed twice: the sign-off figures
(summary.py) read this state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from warungin_tui.config import MonitoringConfig
from warungin_tui.monitoring.alerts import probe_of
from warungin_tui.monitoring.schedule import Schedule, build_schedule


@dataclass
class SampleView:
    """What the sign-off and the screen need of one sample."""

    due_s: float
    probes: tuple[str, ...]
    health_ok: bool | None
    health_ms: float | None
    api_ms: float | None
    errors: int
    critical: int


@dataclass
class AlertEpisode:
    """One alert from the sample that raised it until the first sample without it."""

    id: str
    key: str
    severity: str
    text: str
    first_s: float
    last_s: float
    samples: int = 1
    open: bool = True
    acknowledged: dict[str, str] | None = None


@dataclass
class MonitoringState:
    started: dict[str, Any] | None = None
    samples: list[SampleView] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[AlertEpisode] = field(default_factory=list)
    last: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The latest result of each probe, with its due time ("due_s")."""
    log_until: dict[str, float] = field(default_factory=dict)
    """Per log probe, the wall epoch its latest sample read up to."""
    handled_through_s: float | None = None
    """Due time of the latest round that was sampled or given up as missed."""
    completed_at: str | None = None
    _schedule: Schedule | None = None

    @property
    def settings(self) -> MonitoringConfig | None:
        if self.started is None:
            return None
        return MonitoringConfig.model_validate(self.started["settings"])

    @property
    def schedule(self) -> Schedule | None:
        if self._schedule is None and (settings := self.settings) is not None:
            self._schedule = build_schedule(settings)
        return self._schedule

    def on_started(self, event: dict[str, Any], at: str | None) -> None:
        if self.started is None:  # a restarted monitor keeps the first clock
            self.started = {k: v for k, v in event.items() if k != "type"} | {"at": at}
            self._schedule = None

    def on_sample(self, event: dict[str, Any], at: str | None) -> None:
        due, probes = float(event["due_s"]), event["probes"]
        health, api = probes.get("health") or {}, probes.get("api_latency") or {}
        alerts = event.get("alerts", [])
        self.samples.append(
            SampleView(
                due,
                tuple(probes),
                health.get("ok") if "health" in probes else None,
                health.get("latency_ms"),
                api.get("latency_ms"),
                int((probes.get("error_logs") or {}).get("errors") or 0),
                sum(a["severity"] == "critical" for a in alerts),
            )
        )
        for name, result in probes.items():
            self.last[name] = {**result, "due_s": due}
            if "until" in result:
                self.log_until[name] = float(result["until"])
        self._fold_alerts(due, tuple(probes), alerts)
        self.handled_through_s = max(self.handled_through_s or 0.0, due)

    def _fold_alerts(
        self, due: float, probes: tuple[str, ...], alerts: list[dict[str, str]]
    ) -> None:
        raised = {a["key"]: a for a in alerts}
        for episode in self.alerts:
            if episode.open and episode.key not in raised and probe_of(episode.key) in probes:
                episode.open = False
        open_keys = {e.key: e for e in self.alerts if e.open}
        for key, alert in raised.items():
            if (current := open_keys.get(key)) is not None:
                current.last_s, current.samples = due, current.samples + 1
            else:
                self.alerts.append(
                    AlertEpisode(f"{key}@{due:g}", key, alert["severity"], alert["text"], due, due)
                )

    def on_gap(self, event: dict[str, Any], at: str | None) -> None:
        self.gaps.append({k: v for k, v in event.items() if k != "type"})
        through = event.get("through_due_s")
        if through is not None:
            self.handled_through_s = max(self.handled_through_s or 0.0, float(through))

    def on_acknowledged(self, event: dict[str, Any], at: str | None) -> None:
        for episode in self.alerts:
            if episode.id == event["alert"]:
                episode.acknowledged = {
                    "note": event.get("note", ""),
                    "by": event.get("by", ""),
                    "at": at or "",
                }

    def on_completed(self, event: dict[str, Any], at: str | None) -> None:
        self.completed_at = at

    def snapshot(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "samples": len(self.samples),
            "gaps": self.gaps,
            "alerts": [e.__dict__ for e in self.alerts],
            "handled_through_s": self.handled_through_s,
            "completed_at": self.completed_at,
        }
