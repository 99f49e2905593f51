"""`warungin-tui demo --scenario monitoring`: a compressed monitoring day, then its sign-off.

The rehearsal host has an outage in hour 3 and an error burst in hour 10; the monitor runs the
seed's 24-hour schedule on a stepped clock in well under a minute, journaled in a fresh run, and
the sign-off figures are printed from the samples, as the export shows them.
"""

from __future__ import annotations

import sys
from typing import Literal

from warungin_tui.config import ConfigError, journal_dir, load_config
from warungin_tui.engine.engine import Engine
from warungin_tui.monitoring.monitor import Monitor, MonitorOptions
from warungin_tui.monitoring.summary import clock_text, monitoring_summary
from warungin_tui.remote import Remote

DEMO_PACE_S = 0.3
"""Wall seconds between rounds: fast, yet slow enough to watch the day go by."""


async def run_monitoring_day(transport: Literal["asyncssh", "openssh"]) -> int:
    from warungin_tui.sandbox.target import RehearsalTarget

    print("starting the rehearsal target (monitoring)...", flush=True)
    async with RehearsalTarget("monitoring", transport=transport) as target:
        try:
            config = load_config(target.config_path)
        except ConfigError as exc:
            print("\n".join(exc.lines), file=sys.stderr)
            return 2
        engine = Engine.start_new(config, journal_dir(config), operator="Rehearsal Operator")
        assert engine.journal is not None
        engine.journal.close()
        remote = Remote(config.target)
        options = MonitorOptions(day_file=target.host.day_file, pace_s=DEMO_PACE_S)
        monitor = Monitor(config, engine.journal.path, remote, options)
        print("a compressed day: the backend fails in hour 3, errors burst in hour 10\n")
        try:
            await monitor.run_schedule()
        finally:
            await monitor.aclose()
            await remote.close()
        print()
        for line in sign_off_lines(monitor):
            print(line)
        print(f"\njournal: {engine.journal.path} (removed with the rehearsal target)")
    return 0


def sign_off_lines(monitor: Monitor) -> list[str]:
    """The seed's 24-hour sign-off block, filled from the samples."""
    figures = monitoring_summary(monitor.run, monitor.config.thresholds.api_latency_ms)
    uptime = "n/a" if figures.uptime_percent is None else f"{figures.uptime_percent:.2f}"
    down = ", ".join(f"{clock_text(a)}-{clock_text(b)}" for a, b in figures.downtime) or "none"
    p = figures.latency_ms
    return [
        "24-HOUR SIGN-OFF (from the samples)",
        f"Deployment Duration: {figures.coverage_hours:.1f} of {figures.period_hours:g} hours "
        f"monitored ({figures.samples} samples, gaps {figures.gap_hours:.1f} h)",
        f"Uptime: {uptime}% (down: {down})",
        f"Critical Issues: {figures.critical_alerts} (should be 0); "
        f"warnings: {figures.warning_alerts}",
        f"Performance: {figures.performance} (p50 {p['p50']} / p95 {p['p95']} / p99 {p['p99']} ms,"
        f" limit {figures.latency_limit_ms:g} ms)",
        "User Reports and Go-Live Status: for the person signing off.",
    ]
