"""Monitoring without a host: the schedule as data, config, sign-off arithmetic, locks, journal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, SAMPLE_CONFIG
from warungin_tui.config import ConfigError, MonitoringConfig, load_config, parse_config
from warungin_tui.engine.run import Run
from warungin_tui.journal import Journal, read_journal, verify_journal
from warungin_tui.monitoring.clock import SteppedClock
from warungin_tui.monitoring.headless import parse_duration
from warungin_tui.monitoring.lock import MonitorBusy, MonitorLock
from warungin_tui.monitoring.schedule import build_schedule
from warungin_tui.monitoring.summary import coverage_hours, monitoring_summary, percentile
from warungin_tui.playbook import build_playbook


def test_seed_schedule_has_the_seed_intervals() -> None:
    schedule = build_schedule(MonitoringConfig())
    by_hour = {r.due_s / 3600: r.probes for r in schedule.rounds}
    # Hour 1-2: error logs every 15 min, health/CPU-memory/DB every 30 min.
    assert by_hour[0.25] == ("error_logs",)
    assert {"health", "resources", "db_connections", "error_logs"} <= set(by_hour[0.5])
    # Hour 3-4: user activity and response times (with health); then hourly until 24 h.
    assert {"user_activity", "api_latency", "health"} <= set(by_hour[2.5])
    assert [h for h in by_hour if h >= 4] == [float(h) for h in range(4, 24)]
    assert len(schedule.rounds) == 8 + 4 + 20
    assert schedule.period_s == 24 * 3600
    assert schedule.probe_slot_s("health", 0) == 1800
    assert schedule.probe_slot_s("health", 23 * 3600) == 3600


def test_schedule_intervals_come_from_the_monitoring_section() -> None:
    settings = MonitoringConfig(period_hours=6, active_error_logs_minutes=10, standard_minutes=30)
    schedule = build_schedule(settings)
    assert schedule.rounds[1].due_s == 600
    assert schedule.rounds[-1].due_s == 5.5 * 3600
    assert schedule.slot_end(schedule.rounds[-1]) == 6 * 3600


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("period_hours = 0", "[monitoring] period_hours: must be a number greater than 0"),
        ("standard_minutes = inf", "[monitoring] standard_minutes: must be a finite number"),
        ("cpu_alert_percent = 'high'", "[monitoring] cpu_alert_percent: must be a number"),
        ("memory_alert_percent = 120", "[monitoring] memory_alert_percent: must be a number"),
        ("hourly = true", "[monitoring] hourly: is not a known key"),
    ],
)
def test_bad_monitoring_values_are_told_in_toml_words(
    tmp_path: Path, section: str, message: str
) -> None:
    path = tmp_path / "c.toml"
    sample = SAMPLE_CONFIG.read_text().split("\n[monitoring]")[0]
    path.write_text(sample + f"\n[monitoring]\n{section}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.lines[0].startswith(message)


def test_monitor_with_bad_for_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "warungin_tui.cli", "monitor", "--for", "soon"]
        + ["--config", str(SAMPLE_CONFIG)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--for" in result.stderr


def test_parse_duration() -> None:
    assert parse_duration("24h") == 86400
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2d") == 172800
    for bad in ("", "h", "10", "-1h", "0h"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.95) == 95
    assert percentile(values, 0.99) == 99 and percentile([], 0.5) is None


def _run_with(events: list[dict[str, Any]]) -> Run:
    config = parse_config(load_config(SAMPLE_CONFIG).model_dump(mode="json"))
    run = Run(build_playbook(config))
    for seq, event in enumerate(events):
        run.apply({"seq": seq, "at": None, "event": event})
    return run


def _sample(due_h: float, healthy: bool, ms: float = 20.0) -> dict[str, Any]:
    alerts = [] if healthy else [{"severity": "critical", "key": "health", "text": "down"}]
    return {
        "type": "monitoring_sample",
        "due_s": due_h * 3600,
        "probes": {"health": {"ok": healthy, "latency_ms": ms}},
        "alerts": alerts,
    }


def test_summary_weighs_samples_by_their_slot_and_ignores_gaps() -> None:
    started = {
        "type": "monitoring_started",
        "origin": 0.0,
        "speed": 1.0,
        "settings": MonitoringConfig(period_hours=8).model_dump(mode="json"),
    }
    events = [started]
    events += [_sample(h / 2, True) for h in range(4)]  # 0:00-2:00, 30 min slots
    events += [_sample(2.0, False), _sample(2.5, False), _sample(3.0, True)]
    events.append(
        {
            "type": "monitoring_gap",
            "from_s": 3.5 * 3600,
            "to_s": 5 * 3600,
            "through_due_s": 4 * 3600,
            "missed": 2,
            "reason": "the monitor was not running",
        }
    )
    events += [_sample(h, True, ms=1200.0) for h in (5, 6, 7)]
    run = _run_with(events)
    summary = monitoring_summary(run)
    # Covered: 3.5 h (to 3:30) + 3 h (5:00-8:00); down 1 h (2:00-3:00).
    assert coverage_hours(run) == pytest.approx(6.5)
    assert summary.uptime_percent == pytest.approx(100 * 5.5 / 6.5, abs=1e-3)
    assert summary.downtime == [(7200.0, 10800.0)]
    assert summary.critical_alerts == 1 and summary.gap_hours == pytest.approx(1.5)
    assert not summary.complete
    assert summary.latency_ms["p99"] == 1200.0 and summary.performance == "NEEDS REVIEW"
    assert [h.hour for h in summary.hourly] == [0, 1, 2, 3, 5, 6, 7]
    assert summary.hourly[2].health_up == 0 and summary.hourly[2].health_checked == 2
    assert run.monitoring.handled_through_s == 7 * 3600


def test_second_monitor_lock_names_the_first(tmp_path: Path) -> None:
    journal = tmp_path / "run-x.jsonl"
    first, second = MonitorLock(journal), MonitorLock(journal)
    first.acquire("Ana")
    try:
        with pytest.raises(MonitorBusy) as caught:
            second.acquire("Budi")
        assert f"pid {os.getpid()}" in str(caught.value) and "Ana" in str(caught.value)
        assert oct(first.sidecar.stat().st_mode & 0o777) == "0o600"
    finally:
        first.release()
    second.acquire("Budi")
    second.release()


def test_two_journal_writers_keep_one_chain(tmp_path: Path) -> None:
    """The wizard and the headless monitor both append to a run's journal."""
    path = tmp_path / "run.jsonl"
    wizard, monitor = Journal(path), Journal(path, exclusive=False)
    for index in range(5):
        wizard.append({"type": "note", "n": index})
        monitor.append({"type": "monitoring_gap", "n": index})
    wizard.close()
    monitor.close()
    assert verify_journal(path).ok
    assert [r["seq"] for r in read_journal(path)] == list(range(10))


def test_stepped_clock_only_moves_forward(tmp_path: Path) -> None:
    clock = SteppedClock(tmp_path / "day.json")
    assert clock.now() == 0
    clock.advance(3600)
    clock.advance(1800)
    assert SteppedClock(tmp_path / "day.json").now() == 3600


def test_engine_folds_what_the_monitor_appended(tmp_path: Path) -> None:
    from warungin_tui.engine.engine import Engine

    config = load_config(SAMPLE_CONFIG)
    engine = Engine.start_new(config, tmp_path, operator="Ana")
    assert engine.journal is not None
    seen: list[str] = []
    engine.subscribe(lambda record: seen.append(record["event"]["type"]))
    monitor = Journal(engine.journal.path, exclusive=False)
    started = {"type": "monitoring_started", "origin": 0.0, "speed": 1.0}
    monitor.append(started | {"settings": MonitoringConfig().model_dump(mode="json")})
    monitor.append(_sample(0, True))
    assert engine.sync() == 2 and engine.run.monitoring.samples[0].health_ok is True
    monitor.append(_sample(0.5, False))
    engine.record({"type": "operator_changed", "operator": "Budi"})
    assert len(engine.run.monitoring.samples) == 2 and engine.run.operator == "Budi"
    assert seen == ["monitoring_started", "monitoring_sample", "monitoring_sample"] + [
        "operator_changed"
    ]
    monitor.close()
    engine.journal.close()
    assert verify_journal(engine.journal.path).ok
    assert engine.run.snapshot() == load_run_snapshot(engine.journal.path)


def load_run_snapshot(path: Path) -> dict[str, Any]:
    from warungin_tui.monitoring.monitor import load_run

    return load_run(path).snapshot()


def test_monitor_without_an_unfinished_run_exits_2_with_one_line(tmp_path: Path) -> None:
    sample = SAMPLE_CONFIG.read_text().replace(
        "[archive]\n", f'[archive]\njournal_dir = "{tmp_path / "journals"}"\n'
    )
    path = tmp_path / "c.toml"
    path.write_text(sample)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for extra in ([], ["--run", "nosuch"]):
        result = subprocess.run(
            [sys.executable, "-m", "warungin_tui.cli", "monitor", "--config", str(path), *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert "no unfinished run" in result.stderr or "no run journal 'nosuch'" in result.stderr
