"""The compressed 24-hour monitoring schedule against the rehearsal host over real OpenSSH."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w

from tests.faultproxy import FaultProxy
from tests.helpers import REPO, cli_argv, wait_until
from tests.sshd_fixtures import through_proxy
from warungin_tui.config import Config, MonitoringConfig, journal_dir, load_config
from warungin_tui.engine.engine import Engine
from warungin_tui.journal import read_journal, verify_journal
from warungin_tui.monitoring.clock import SteppedClock
from warungin_tui.monitoring.monitor import Monitor, MonitorOptions, load_run
from warungin_tui.monitoring.schedule import build_schedule
from warungin_tui.monitoring.summary import coverage_hours, monitoring_summary
from warungin_tui.remote import Remote
from warungin_tui.report.export import export_journal
from warungin_tui.sandbox.openssh import OpenSSHServer
from warungin_tui.sandbox.scenarios import BURST_LINES, OUTAGE_HOURS
from warungin_tui.sandbox.target import RehearsalTarget

pytestmark = pytest.mark.sshd


@pytest.fixture
async def monitoring_day(tmp_path: Path) -> AsyncIterator[RehearsalTarget]:
    async with RehearsalTarget("monitoring", root=tmp_path / "t", transport="openssh") as target:
        yield target


def start_run(config: Config) -> Path:
    engine = Engine.start_new(config, journal_dir(config), operator="Test Operator")
    assert engine.journal is not None
    engine.journal.close()
    return engine.journal.path


async def test_compressed_day_uptime_alerts_and_sign_off(monitoring_day: RehearsalTarget) -> None:
    target = monitoring_day
    config = load_config(target.config_path)
    journal = start_run(config)
    clock = SteppedClock(target.host.day_file)  # the day starts now, for host and monitor
    # A secret in an error line must be redacted before the sample reaches the journal.
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    with (target.host.state_dir / "logs" / "backend.log").open("a") as log:
        log.write(f"{stamp} ERROR  cannot reach postgres://warungin:s3cret-pw@db/warungin\n")
    remote = Remote(config.target)
    monitor = Monitor(config, journal, remote, MonitorOptions(day_file=clock.path))
    try:
        await monitor.run_schedule()
    finally:
        await monitor.aclose()
        await remote.close()

    run = load_run(journal)  # what resume and export see: the journal, folded again
    summary = monitoring_summary(run)
    schedule = build_schedule(config.monitoring)
    assert summary.samples == len(schedule.rounds) and summary.gaps == []
    assert summary.complete and coverage_hours(run) == pytest.approx(24.0)
    # The backend was down for hour 3: uptime 23/24, within one health interval (30 min).
    down_share = (OUTAGE_HOURS[1] - OUTAGE_HOURS[0]) / 24
    assert summary.uptime_percent == pytest.approx(100 * (1 - down_share), abs=100 * 0.5 / 24)
    (down_from, down_to), *more = summary.downtime
    assert not more and abs(down_from - OUTAGE_HOURS[0] * 3600) <= 1800
    assert abs(down_to - OUTAGE_HOURS[1] * 3600) <= 1800
    # One critical alert (the failed health check, one episode over its samples).
    critical = [a for a in run.monitoring.alerts if a.severity == "critical"]
    assert summary.critical_alerts == 1 and critical[0].key == "health"
    assert critical[0].samples >= 2 and not critical[0].open
    warnings = {a.key: a for a in run.monitoring.alerts if a.severity == "warning"}
    assert "unhealthy:backend" in warnings and "resources:warungin-backend" in warnings
    burst = [a for a in run.monitoring.alerts if a.key == "error_logs" and a.first_s > 0]
    assert len(burst) == 1 and 9 * 3600 <= burst[0].first_s <= 10 * 3600
    assert burst[0].text == f"{BURST_LINES} new error lines"
    assert summary.unacknowledged == len(run.monitoring.alerts)
    # Latency percentiles from the measured samples, against the configured limit.
    p50, p95, p99 = (summary.latency_ms[k] for k in ("p50", "p95", "p99"))
    assert p50 is not None and p95 is not None and p99 is not None and 0 < p50 <= p95 <= p99
    assert summary.latency_limit_ms == config.thresholds.api_latency_ms
    assert run.monitoring.completed_at is not None
    hours = {h.hour: h for h in summary.hourly}
    assert len(hours) == 24 and hours[2].health_up == 0 and hours[2].health_checked == 2
    # The journal: one chain, secrets redacted, the connection never counted as downtime.
    assert verify_journal(journal).ok
    text = journal.read_text()
    assert "s3cret-pw" not in text and "[REDACTED]" in text
    samples = [
        r["event"] for r in read_journal(journal) if r["event"]["type"] == "monitoring_sample"
    ]
    assert [s["due_s"] for s in samples] == [r.due_s for r in schedule.rounds]

    # The export's 24-hour sign-off is filled from the samples, with the hourly table.
    markdown = next(p for p in export_journal(journal, target.root / "out") if p.suffix == ".md")
    log = markdown.read_text()
    assert "**Uptime:** 95.83% from the health samples; down h+02:00 to h+03:00" in log
    assert "Monitoring Covered: 24.0 of 24 hours (32 monitoring samples)" in log
    assert "32 monitoring sample(s) over 24.0 hours; the period is 24 hours" in log
    assert "1 critical alerts (should be 0)" in log
    assert "#### Hourly aggregates" in log and "| 3 | 2 | 0/2 |" in log


class DroppingProxy(FaultProxy):
    """Like a network outage: drops every connection and refuses new ones until reopened."""

    def drop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    async def reopen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)


async def test_lost_connection_is_a_monitor_gap_never_downtime(
    monitoring_day: RehearsalTarget, tmp_path: Path
) -> None:
    target = monitoring_day
    assert isinstance(target.server, OpenSSHServer)
    config = load_config(target.config_path)
    async with DroppingProxy(config.target.host, config.target.port) as proxy:
        via_proxy = through_proxy(config.target, target.server, proxy.port, tmp_path)
        config = config.model_copy(
            update={"target": via_proxy, "monitoring": MonitoringConfig(period_hours=2)}
        )
        journal = start_run(config)
        reopened: list[asyncio.Task[None]] = []

        def watch(line: str) -> None:
            # The network goes away right after the 0:30 sample, and is back after one gap.
            if line.startswith("[h+00:30]"):
                proxy.drop()
            elif "gap in monitoring" in line and not reopened:
                reopened.append(asyncio.create_task(proxy.reopen()))

        remote = Remote(config.target, keepalive_interval=1, keepalive_count_max=2)
        options = MonitorOptions(day_file=target.host.day_file)
        monitor = Monitor(config, journal, remote, options, out=watch)
        try:
            await monitor.run_schedule()
        finally:
            await monitor.aclose()
            await remote.close()
    assert reopened, "the connection was never lost"
    run = load_run(journal)
    assert len(run.monitoring.gaps) == 1, run.monitoring.gaps
    (gap,) = run.monitoring.gaps
    assert gap["reason"].startswith("no connection to the host")
    assert gap["from_s"] == 45 * 60 and gap["missed"] == 1
    summary = monitoring_summary(run)
    assert summary.downtime == [] and summary.uptime_percent == 100.0
    assert summary.critical_alerts == 0
    assert [s.due_s for s in run.monitoring.samples if s.due_s > 1800][0] == 3600
    assert verify_journal(journal).ok


def write_config(target: RehearsalTarget, tmp_path: Path, period_hours: float) -> Path:
    data = target.config()
    data["monitoring"] = {"period_hours": period_hours}
    path = tmp_path / "monitor.toml"
    path.write_text(tomli_w.dumps(data))
    path.chmod(0o600)
    return path


def journal_events(path: Path, kind: str) -> list[dict[str, object]]:
    return [r["event"] for r in read_journal(path) if r["event"]["type"] == kind]


async def test_killed_monitor_restarts_without_losing_or_repeating_samples(
    tmp_path: Path,
) -> None:
    async with RehearsalTarget("healthy", root=tmp_path / "t", transport="openssh") as target:
        config_path = write_config(target, tmp_path, period_hours=8)
        config = load_config(config_path)
        journal = start_run(config)
        day = target.host.day_file
        SteppedClock(day)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        # No --run: the monitor attaches to the latest unfinished run for the target.
        argv = cli_argv("monitor", "--config", str(config_path), "--day-file", str(day))
        first = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: len(journal_events(journal, "monitoring_sample")) >= 4, 120)
            second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
            assert second.returncode == 2
            assert f"pid {first.pid}" in second.stderr and "already runs" in second.stderr
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        before = journal_events(journal, "monitoring_sample")
        # Time passes while no monitor runs: the rehearsal day moves on to 5 h.
        SteppedClock(day).advance(5 * 3600)
        again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stdout + again.stderr

    schedule = build_schedule(config.monitoring)
    samples = journal_events(journal, "monitoring_sample")
    dues = [float(s["due_s"]) for s in samples]  # type: ignore[arg-type]
    assert dues == sorted(set(dues)), "no sample taken twice"
    assert samples[: len(before)] == before, "no sample lost"
    gaps = journal_events(journal, "monitoring_gap")
    assert len(gaps) == 1, gaps
    (gap,) = gaps
    assert gap["reason"] == "the monitor was not running"
    last_before = float(before[-1]["due_s"])  # type: ignore[arg-type]
    missed = [r.due_s for r in schedule.rounds if last_before < r.due_s and r.due_s not in dues]
    assert missed and gap["from_s"] == missed[0] and gap["missed"] == len(missed)
    assert all(gap["from_s"] <= due < gap["to_s"] for due in missed)  # type: ignore[operator]
    assert set(dues) | set(missed) == {r.due_s for r in schedule.rounds}
    run = load_run(journal)
    summary = monitoring_summary(run)
    assert summary.uptime_percent == 100.0 and summary.downtime == []
    # Coverage is what the health samples stand for: everything but the stretch from the end
    # of the last health slot before the gap to the gap's end.
    health_before = max(
        s.due_s
        for s in run.monitoring.samples
        if s.health_ok is not None and s.due_s < gap["from_s"]  # type: ignore[operator]
    )
    covered_until = health_before + schedule.probe_slot_s("health", health_before)
    uncovered_s = float(gap["to_s"]) - max(float(gap["from_s"]), covered_until)  # type: ignore[arg-type]
    assert summary.coverage_hours == pytest.approx(8 - uncovered_s / 3600)
    assert not summary.complete and summary.gap_hours > 0
    assert verify_journal(journal).ok
    assert json.loads(json.dumps(run.monitoring.snapshot()))["completed_at"] is not None


def test_demo_monitoring_prints_the_filled_sign_off(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        cli_argv("demo", "--scenario", "monitoring", "--openssh"),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Uptime: 95.83% (down: h+02:00-h+03:00)" in result.stdout
    assert "Critical Issues: 1 (should be 0)" in result.stdout
    assert "12 new error lines" in result.stdout
    assert "24.0 of 24 hours monitored (32 samples, gaps 0.0 h)" in result.stdout
