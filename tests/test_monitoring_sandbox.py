"""The rehearsal host answers what the monitor asks: logs --since/--until, docker stats, the
monitoring day's outage and error burst on the day clock it shares with the monitor."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from warungin_tui.monitoring.clock import SteppedClock
from warungin_tui.sandbox.host import RehearsalHost
from warungin_tui.sandbox.scenarios import BURST_CPU_PERCENT, BURST_LINES


@pytest.fixture
def day_host(tmp_path: Path) -> Iterator[RehearsalHost]:
    host = RehearsalHost(tmp_path / "host", "monitoring", build_seconds=0.3)
    host.create()
    try:
        yield host
    finally:
        host.stop_all()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def test_logs_since_until_tile_without_repeating_a_line(day_host: RehearsalHost) -> None:
    log = day_host.state_dir / "logs" / "backend.log"
    start = time.time()
    stamps = [start + 1, start + 2, start + 3]
    with log.open("a") as file:
        for index, at in enumerate(stamps):
            file.write(f"{iso(at).replace('+00:00', 'Z')} INFO  line {index}\n")
    first = day_host.docker(
        "compose", "logs", "--no-color", "--since", iso(start + 0.5), "--until", iso(start + 2)
    )
    second = day_host.docker(
        "compose", "logs", "--no-color", "--since", iso(start + 2), "--until", str(start + 9)
    )
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert [line.split()[-1] for line in first.stdout.splitlines()] == ["0"]
    assert [line.split()[-1] for line in second.stdout.splitlines()] == ["1", "2"]
    bad = day_host.docker("compose", "logs", "--since", "yesterday-ish")
    assert bad.returncode == 1 and "invalid value" in bad.stderr


def test_stats_and_db_connections_answer_plausibly(day_host: RehearsalHost) -> None:
    stats = day_host.docker("stats", "--no-stream", "--format", "{{json .}}")
    rows = [json.loads(line) for line in stats.stdout.splitlines()]
    assert len(rows) == 8 and all(r["CPUPerc"].endswith("%") for r in rows)
    assert all(0 < float(r["MemPerc"].rstrip("%")) < 100 for r in rows)
    assert day_host.docker("stats").returncode == 1  # streaming is not emulated: say so
    count = day_host.docker(
        "compose",
        "exec",
        "-T",
        "postgres",
        "psql",
        "-U",
        "warungin",
        "-d",
        "warungin",
        "-tA",
        "-c",
        "SELECT count(*) FROM pg_stat_activity",
    )
    assert int(count.stdout) > 0


def test_the_day_has_an_outage_in_hour_3_and_a_burst_in_hour_10(day_host: RehearsalHost) -> None:
    clock = SteppedClock(day_host.day_file)
    health = f"{day_host.api_url}/api/health"
    assert httpx.get(health).status_code == 200
    clock.advance(2.5 * 3600)
    assert httpx.get(health).status_code == 503
    ps = day_host.docker("compose", "ps", "--format", "{{.Service}} {{.Status}}").stdout
    assert "backend Up 3 days (unhealthy)" in ps
    before = time.time()
    clock.advance(9.5 * 3600)  # half of hour 10 has passed: half its errors are logged
    assert httpx.get(health).status_code == 200
    stats = day_host.docker("stats", "--no-stream", "--format", "{{json .}}").stdout
    backend = next(json.loads(r) for r in stats.splitlines() if "warungin-backend" in r)
    assert backend["CPUPerc"] == f"{BURST_CPU_PERCENT:.2f}%"
    clock.advance(10 * 3600)
    logs = day_host.docker("compose", "logs", "--no-color", "--since", str(before), "backend")
    errors = [line for line in logs.stdout.splitlines() if " ERROR " in line]
    assert len(errors) == BURST_LINES
