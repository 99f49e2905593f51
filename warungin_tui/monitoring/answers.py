"""Mixed into Engine: a person acknowledges a monitoring alert with a note (journaled)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from warungin_tui.engine.events import JournalEvent
from warungin_tui.engine.rules import Action, Refusal, run_refusal
from warungin_tui.errors import EngineError

if TYPE_CHECKING:
    from warungin_tui.engine.run import Run


class MonitoringAnswers:
    if TYPE_CHECKING:
        run: Run

        def record(self, event: JournalEvent) -> dict[str, Any]: ...

        def refuse(self, refusal: Refusal | None) -> None: ...

    def acknowledge_monitoring_alert(self, alert_id: str, note: str, *, by: str = "") -> None:
        """An alert stands out until a person says, in a note, what they made of it."""
        # A sealed run (finished, rolled back, abandoned) takes no answer, this one included.
        self.refuse(run_refusal(self.run, Action.ACKNOWLEDGE_ALERT))
        episode = next((e for e in self.run.monitoring.alerts if e.id == alert_id), None)
        if episode is None:
            raise EngineError(f"no monitoring alert {alert_id!r}")
        if episode.acknowledged is not None:
            raise EngineError(f"already acknowledged by {episode.acknowledged['by']}")
        if not note.strip():
            raise EngineError("an acknowledgement needs a note: what was done or why it is fine")
        self.record(
            {
                "type": "monitoring_alert_acknowledged",
                "alert": alert_id,
                "note": note.strip(),
                "by": by or self.run.operator,
                "entered_by": self.run.operator,
            }
        )

    def oldest_unacknowledged_alert(self) -> str | None:
        """The alert the acknowledge key acts on: critical ones first, then the oldest."""
        waiting = [e for e in self.run.monitoring.alerts if e.acknowledged is None]
        waiting.sort(key=lambda e: (e.severity != "critical", e.first_s))
        return waiting[0].id if waiting else None
