"""The monitoring phase: its steps, plus what the monitor recorded (possibly another process,
the headless `warungin-tui monitor`, appending to the same journal while this screen is open)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from warungin_tui.monitoring.clock import ScaledClock
from warungin_tui.screens.messages import AcknowledgeAlertRequested, RunChanged
from warungin_tui.screens.phase import PhaseScreen
from warungin_tui.screens.prompt import TextPrompt
from warungin_tui.widgets.monitoring_panel import latency_points, monitoring_text

SYNC_S = 2.0
"""How often the journal is checked for what the headless monitor appended."""
ACK_BINDING = Binding(
    "A",
    "acknowledge_alert",
    "Ack alert",
    tooltip="Acknowledge the oldest open monitoring alert with a note (kept in the log)",
    id="warungin.acknowledge_alert",
)


class MonitoringScreen(PhaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [*PhaseScreen.BINDINGS, ACK_BINDING]

    def compose_extra(self) -> ComposeResult:
        with Vertical(id="monitoring-panel"):
            yield Static(id="monitoring-text")
            yield Sparkline([0.0], summary_function=max, id="latency")

    def on_mount(self) -> None:
        self.refresh_monitoring()
        self.set_interval(SYNC_S, self.wizard.sync_journal)

    def now_s(self) -> float | None:
        started = self.run.monitoring.started
        if started is None or started.get("clock") != "scaled":
            return None  # a rehearsal's stepped clock: the monitor knows its time
        return ScaledClock(float(started["origin"]), float(started["speed"])).now()

    def refresh_monitoring(self) -> None:
        limit = self.engine.config.thresholds.api_latency_ms
        text = monitoring_text(self.run, self.now_s(), limit)
        self.query_one("#monitoring-text", Static).update(text)
        self.query_one("#latency", Sparkline).data = latency_points(self.run)

    def on_run_changed(self, message: RunChanged) -> None:
        if message.event_type.startswith("monitoring_"):
            self.refresh_monitoring()

    def action_acknowledge_alert(self) -> None:
        alert_id = self.engine.oldest_unacknowledged_alert()
        if alert_id is None:
            self.notify("No monitoring alert waits for an acknowledgement.", title="Not now")
            return
        episode = next(e for e in self.run.monitoring.alerts if e.id == alert_id)
        prompt = TextPrompt(
            f"Acknowledge: {episode.text}",
            "What was done, or why is it fine? (kept in the log)",
        )
        self.ask(prompt, lambda note: AcknowledgeAlertRequested(alert_id, note))
