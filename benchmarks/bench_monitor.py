"""The monitor's own cost: CPU time per sample, and its memory at the start and after a
compressed week against the rehearsal host over real OpenSSH. Both should stay flat.

CPU is this process's (time.process_time: the monitor, its journal and redaction), not the
host's; memory is VmRSS. Reported per day of the week, so growth would show as a trend.

Run: python benchmarks/bench_monitor.py [--hours 168]   (needs Debian's openssh-server)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Row, rss_flat_row
from warungin_tui.config import MonitoringConfig, journal_dir, load_config
from warungin_tui.engine.engine import Engine
from warungin_tui.monitoring.monitor import Monitor, MonitorOptions
from warungin_tui.remote import Remote
from warungin_tui.sandbox.target import RehearsalTarget


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Meter:
    """Called for every line the monitor prints: one line per sample (or gap)."""

    def __init__(self) -> None:
        self.last_cpu = time.process_time()
        self.samples: list[tuple[float, float, float]] = []  # (due hour, cpu s, rss MiB)

    def __call__(self, line: str) -> None:
        if not line.startswith("[h+") or "gap" in line:
            return
        cpu = time.process_time()
        hours, minutes = line[3:8].split(":")
        self.samples.append((int(hours) + int(minutes) / 60, cpu - self.last_cpu, rss_mib()))
        self.last_cpu = cpu


async def monitor_run(root: Path, hours: float) -> tuple[Meter, float, float, int]:
    """A compressed monitoring period against the rehearsal host (stepped clock): the meter
    (a sample's CPU and RSS), RSS before it started, wall seconds, journal bytes."""
    async with RehearsalTarget("healthy", root=root, transport="openssh") as target:
        config = load_config(target.config_path)
        config = config.model_copy(update={"monitoring": MonitoringConfig(period_hours=hours)})
        engine = Engine.start_new(config, journal_dir(config), operator="bench")
        assert engine.journal is not None
        engine.journal.close()
        remote = Remote(config.target)
        meter = Meter()
        start_rss = rss_mib()
        options = MonitorOptions(day_file=target.host.day_file)
        monitor = Monitor(config, engine.journal.path, remote, options, out=meter)
        started = time.perf_counter()
        try:
            await monitor.run_schedule()
        finally:
            await monitor.aclose()
            await remote.close()
        wall = time.perf_counter() - started
        size = engine.journal.path.stat().st_size
    return meter, start_rss, wall, size


WARM_UP_SAMPLES = 4
"""Samples before the RSS baseline: the connection, lazy imports and caches settle first."""


async def monitor_rss_rows(root: Path, hours: float = 24.0) -> list[Row]:
    """RSS flat over a compressed monitoring period: after the first samples vs at the end."""
    meter, start_rss, wall, size = await monitor_run(root, hours)
    samples = meter.samples
    if len(samples) <= WARM_UP_SAMPLES:
        raise RuntimeError(f"only {len(samples)} samples in a compressed {hours:g} h")
    before, after = samples[WARM_UP_SAMPLES - 1][2], samples[-1][2]
    peak = max(rss for _, _, rss in samples[WARM_UP_SAMPLES - 1 :])
    return [
        rss_flat_row(
            f"RSS over a compressed {hours:g}-hour monitor run ({len(samples)} samples)",
            f"RSS after its first {WARM_UP_SAMPLES} samples",
            after,
            before,
            notes=(
                f"growth {after - before:+.2f} MiB, peak {peak:.1f} MiB; RSS before the monitor "
                f"started {start_rss:.1f} MiB; {wall:.0f} s wall; journal {size:,} bytes; "
                "real OpenSSH, stepped clock"
            ),
            extra={"samples": len(samples)},
        )
    ]


async def main(hours: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        meter, start_rss, wall, size = await monitor_run(Path(tmp) / "t", hours)
    cpu = [c for _, c, _ in meter.samples]
    print(f"compressed {hours:g} h: {len(cpu)} samples in {wall:.0f} s wall; journal {size} bytes")
    print(f"RSS at start {start_rss:.1f} MiB, at the end {meter.samples[-1][2]:.1f} MiB")
    print(f"CPU per sample: median {statistics.median(cpu) * 1000:.1f} ms")
    print("day  samples  CPU/sample ms (median)  RSS MiB (end of day)")
    for day in range(int(hours // 24) + (hours % 24 > 0)):
        rows = [s for s in meter.samples if day * 24 <= s[0] < (day + 1) * 24]
        if rows:
            median = statistics.median(c for _, c, _ in rows) * 1000
            print(f"{day + 1:>3}  {len(rows):>7}  {median:>22.1f}  {rows[-1][2]:>19.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=168.0, help="compressed period (a week)")
    asyncio.run(main(parser.parse_args().hours))
