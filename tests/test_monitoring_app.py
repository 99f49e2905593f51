"""The wizard's monitoring screen shows what a headless monitor appends to the run's journal
while the wizard is open, and an alert stands out until acknowledged with a key and a note."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Sparkline, Static

from tests.app_fixtures import make_app
from tests.test_app import Recorder, answer, engine_of, on_screen, start, text_of, until
from warungin_tui.config import MonitoringConfig
from warungin_tui.journal import Journal, read_journal, verify_journal


def monitor_writes(journal: Journal) -> None:
    """What `warungin-tui monitor` appends: its clock, then a good and a failed round."""
    journal.append(
        {
            "type": "monitoring_started",
            "clock": "stepped",
            "origin": 0.0,
            "speed": 1.0,
            "settings": MonitoringConfig().model_dump(mode="json"),
        }
    )
    for due, ok in ((0.0, True), (1800.0, False)):
        probes = {
            "health": {"ok": ok, "latency_ms": 12.0 if ok else 30.0, "detail": "HTTP 200"},
            "services": {"ok": True, "states": {"backend": "running (healthy)"}, "detail": "ok"},
        }
        alerts = [] if ok else [{"severity": "critical", "key": "health", "text": "API down"}]
        journal.append(
            {"type": "monitoring_sample", "due_s": due, "probes": probes, "alerts": alerts}
        )


async def test_monitoring_screen_follows_the_journal_and_acknowledges(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    notes = Recorder()
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        await start(pilot)
        engine = engine_of(app)
        assert engine.journal is not None
        app.open_phase("monitoring")
        await on_screen(pilot, "phase-monitoring")
        panel = app.screen.query_one("#monitoring-text", Static)
        assert "No monitor has run yet" in text_of(panel)
        monitor = Journal(engine.journal.path, exclusive=False)  # as the headless monitor
        monitor_writes(monitor)
        await until(pilot, lambda: "Uptime so far: 50.00%" in text_of(panel))
        shown = text_of(panel)
        assert "Schedule: 2 rounds done · 0 missed · next h+00:45 (error_logs)" in shown
        assert "! CRITICAL API down (h+00:30-h+00:30)" in shown
        assert "backend running (healthy)" in shown
        assert app.screen.query_one("#latency", Sparkline).data == [12.0, 30.0]
        await pilot.press("A")
        await answer(pilot, "restarted the backend; load balancer confirmed")
        await until(pilot, lambda: "acknowledged: restarted the backend" in text_of(panel))
        await pilot.press("A")
        await until(pilot, lambda: notes.has("No monitoring alert waits"))
        monitor.close()
    events = [r["event"] for r in read_journal(engine.journal.path)]
    (ack,) = [e for e in events if e["type"] == "monitoring_alert_acknowledged"]
    assert ack["alert"] == "health@1800" and ack["by"] == "Ana Operator"
    assert verify_journal(engine.journal.path).ok
