"""`warungin-tui monitor`: the scheduled monitor without a UI, attached to a run's journal."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from pathlib import Path

from warungin_tui.config import Config, ConfigError, journal_dir
from warungin_tui.engine.engine import find_unfinished_run
from warungin_tui.journal import JournalError
from warungin_tui.monitoring.lock import MonitorBusy, MonitorLock
from warungin_tui.monitoring.monitor import FATAL, Monitor, MonitorOptions, MonitorRefused
from warungin_tui.monitoring.summary import monitoring_summary
from warungin_tui.remote import Remote

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(d|h|m|s)")
_UNIT_S = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str) -> float:
    """Seconds of a duration such as 24h, 90m, 1h30m or 2d; ValueError saying why not."""
    spec = text.strip().lower()
    parts = _DURATION.findall(spec)
    if not spec or "".join(n + u for n, u in parts) != spec:
        raise ValueError(f"{text!r} is not a duration (examples: 24h, 90m, 1h30m, 2d)")
    seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r}: the duration must be positive")
    return seconds


def find_run(config: Config, run_ref: str | None) -> Path:
    """--run as a journal path or a run id; else the latest unfinished run for the target."""
    folder = journal_dir(config)
    if run_ref:
        for candidate in (Path(run_ref).expanduser(), folder / f"run-{run_ref}.jsonl"):
            if candidate.is_file():
                return candidate
        raise MonitorRefused(f"no run journal {run_ref!r} (as a file or a run id in {folder})")
    # The run the wizard would offer to resume: one answer to "which run is unfinished".
    if (path := find_unfinished_run(folder, config.target.label)) is not None:
        return path
    raise MonitorRefused(
        f"no unfinished run for {config.target.label} in {folder}; start one in the wizard "
        "or pass --run"
    )


def _say(line: str) -> None:
    """Print, and keep going when the terminal has gone (nohup without a log, closed tmux)."""
    with contextlib.suppress(OSError):
        print(line, flush=True)


async def monitor_headless(config: Config, run_ref: str | None, options: MonitorOptions) -> int:
    try:
        path = find_run(config, run_ref)
    except (MonitorRefused, JournalError) as exc:
        _say_error(str(exc))
        return 2
    lock = MonitorLock(path)
    try:
        lock.acquire(options.operator or config.operator.name)
    except MonitorBusy as exc:
        _say_error(f"{path.name}: {exc}")
        return 2
    remote = Remote(config.target)
    monitor: Monitor | None = None
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    # Closing the terminal must not end a 24-hour monitor (see docs/monitoring.md).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        monitor = Monitor(config, path, remote, options, out=_say)
        _say(f"monitoring {monitor.run.run_id} ({config.target.label}); journal {path}")
        await monitor.run_schedule()
    except asyncio.CancelledError:
        task.uncancel()
        _say("monitor stopped; start it again to continue (the gap is recorded)")
    except FATAL as exc:
        _say_error(f"{exc.title}: {exc}")
        return 2
    except (MonitorRefused, JournalError, ConfigError) as exc:
        _say_error(f"{exc.title}: {exc}")
        return 2
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if monitor is not None:
            await monitor.aclose()
        await remote.close()
        lock.release()
    if monitor is not None:
        _print_summary(monitor)
    return 0


def _say_error(line: str) -> None:
    with contextlib.suppress(OSError):
        print(f"warungin-tui: {line}", file=sys.stderr, flush=True)


def _print_summary(monitor: Monitor) -> None:
    figures = monitoring_summary(monitor.run, monitor.config.thresholds.api_latency_ms)
    uptime = "n/a" if figures.uptime_percent is None else f"{figures.uptime_percent:.2f}%"
    p = figures.latency_ms
    _say(
        f"coverage {figures.coverage_hours:.2f}/{figures.period_hours:g} h, uptime {uptime}, "
        f"downtime {figures.downtime_minutes:.0f} min, critical alerts {figures.critical_alerts}, "
        f"latency p50/p95/p99 {p['p50']}/{p['p95']}/{p['p99']} ms "
        f"(limit {figures.latency_limit_ms:g}), gaps {figures.gap_hours:.2f} h"
    )
