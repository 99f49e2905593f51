"""Runs without a UI: `check` (one phase's automated probes) and `monitor` (repeated rounds)."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime
from string import Formatter
from typing import TYPE_CHECKING, Any

from warungin_tui import background_import
from warungin_tui.config import Config
from warungin_tui.playbook import Playbook, StepSpec, build_playbook
from warungin_tui.remote import Remote, RemoteError

if TYPE_CHECKING:
    from warungin_tui.engine.engine import Engine
    from warungin_tui.remote_api import RemoteLink

MONITOR_STEPS = [
    "monitoring.error_logs",
    "monitoring.service_health",
    "monitoring.resources",
    "monitoring.database_connections",
    "monitoring.api_response",
]


PROBE_CONCURRENCY = 16
"""Probes in flight at once over the one connection: the Remote's persistent shell runs them
side by side (without it, the Remote itself keeps to 5 channels, under sshd's MaxSessions)."""


async def _connected_engine(config: Config) -> tuple[Engine | None, str | None]:
    """An engine for probes over a new connection, or why there is none."""
    # The engine and httpx (~100 ms of imports) load in threads while the SSH handshake and the
    # remote shell's start-up wait on the host: on the event loop they would delay both.
    background_import.start("warungin_tui.engine.engine")
    background_import.start("httpx")
    remote = Remote(config.target)
    try:
        await remote.connect()
    except RemoteError as exc:
        await remote.close()
        return None, f"{config.target.label}: {exc.title}: {exc}"
    await background_import.imported("warungin_tui.engine.engine")
    return _probe_engine(config, remote), None


def _probe_engine(config: Config, remote: RemoteLink, playbook: Playbook | None = None) -> Engine:
    # Probes only: no journal, gates not enforced (nothing here changes the host). The playbook
    # is frozen: probes beside each other share it.
    from warungin_tui.engine.engine import Engine
    from warungin_tui.engine.run import Run

    run = Run(playbook or build_playbook(config))
    return Engine(config, run, None, remote, enforce_gates=False)


def _independent(spec: StepSpec, captured: set[str]) -> bool:
    """A probe that may run beside others: read-only, and using no value an earlier one sets."""
    template = " ".join(t for t in (spec.command, spec.url) if t)
    fields = {name for _, name, _, _ in Formatter().parse(template) if name}
    return not spec.destructive and spec.retry_safe and not fields & captured


async def _probe(engine: Engine, step_ids: list[str]) -> list[dict[str, Any]]:
    """Run the probes, independent ones concurrently (each in its own engine over the shared
    connection: the engine's one-step-at-a-time lock stays whole); rows in playbook order."""
    playbook = engine.run.playbook
    captured: set[str] = set()
    alone: list[str] = []
    together: list[str] = []
    for step_id in step_ids:
        spec = playbook.step(step_id)
        (together if _independent(spec, captured) else alone).append(step_id)
        captured.update(spec.captures)
    limit = asyncio.Semaphore(PROBE_CONCURRENCY)
    rows: dict[str, dict[str, Any]] = {}

    async def probe_beside(step_id: str) -> None:
        own = _probe_engine(engine.config, engine.host, playbook)
        try:
            async with limit:
                rows[step_id] = await _probe_one(own, step_id)
            engine.run.values.update(own.run.values)  # its captures, for the probes after
        finally:
            await own.aclose()

    await asyncio.gather(*(probe_beside(step_id) for step_id in together))
    for step_id in alone:
        rows[step_id] = await _probe_one(engine, step_id)
    return [rows[step_id] for step_id in step_ids]


async def _probe_one(engine: Engine, step_id: str) -> dict[str, Any]:
    spec = engine.run.playbook.step(step_id)
    outcome = await engine.run_step(step_id)
    result = engine.run.results[step_id]
    return {
        "id": step_id,
        "title": spec.title,
        "seed_ref": spec.seed_ref,
        "status": str(outcome.status),
        "detail": outcome.detail,
        "duration_s": result.duration_s or 0.0,
        "exit_code": outcome.exit_code,
    }


async def _lock_rows(engine: Engine) -> list[dict[str, Any]]:
    """A warning row when another run holds the host lock (someone may be deploying now)."""
    try:
        held, holder = await engine.host_lock()
    except RemoteError as exc:
        held, holder = True, None
        detail = f"the host lock could not be read ({exc.title}: {exc})"
    else:
        who = holder.describe() if holder else "someone (its holder file is missing or damaged)"
        detail = f"the host is locked by {who}: a deployment may be changing it now"
    if not held:
        return []
    return [
        {
            "id": "host.lock",
            "title": "Host lock",
            "seed_ref": "",
            "status": "warning",
            "detail": detail,
            "duration_s": 0.0,
            "exit_code": None,
            "holder": asdict(holder) if holder else None,
            "lock_dir": engine.lock_dir,
        }
    ]


async def run_check(
    config: Config, phase_id: str, only: Collection[str] | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """The host-lock row (when held) and a row per automated step of the phase (of `only`)."""
    engine, error = await _connected_engine(config)
    if engine is None:
        return [], error
    try:
        phase = engine.run.playbook.phase(phase_id)
        steps = [s.id for s in phase.steps if s.automated and (only is None or s.id in only)]
        # The lock only warns (probes change nothing on the host): it is read beside them.
        lock, probes = await asyncio.gather(_lock_rows(engine), _probe(engine, steps))
        return lock + probes, None
    finally:
        await engine.aclose()
        await engine.host.close()


async def run_unlock(config: Config, reason: str) -> tuple[int, list[str]]:
    """Remove the host lock with a reason, recorded in the holder's journal when it is here
    and always in the journal folder's host-lock.log. Returns (exit code, lines to print)."""
    from warungin_tui.config import journal_dir
    from warungin_tui.hostlock import HostLockError, break_lock, jump_host, read_lock
    from warungin_tui.hostlock_journal import (
        append_break_log,
        ensure_not_open_here,
        record_in_holder_journal,
    )

    engine, error = await _connected_engine(config)
    if engine is None:
        return 2, [error or "cannot connect"]
    label = config.target.label
    try:
        held, holder = await read_lock(engine.host, engine.lock_dir)
        if not held:
            return 0, [f"{label}: no host lock is held ({engine.lock_dir})"]
        ensure_not_open_here(holder)
        await break_lock(engine.host, engine.lock_dir)
        event: dict[str, Any] = {
            "type": "host_lock_broken",
            "lock_dir": engine.lock_dir,
            "reason": reason,
            "by": config.operator.name or getpass.getuser(),
            "by_host": jump_host(),
            "via": "warungin-tui unlock",
            "holder": asdict(holder) if holder else None,
        }
        written = record_in_holder_journal(holder, event)
        details = {k: v for k, v in event.items() if k not in ("type", "holder")}
        log = append_break_log(journal_dir(config), holder, details)
    except (RemoteError, HostLockError, OSError) as exc:
        return 1, [f"{label}: the lock was not removed: {exc}"]
    finally:
        await engine.aclose()
        await engine.host.close()
    who = holder.describe() if holder else "an unknown holder (no readable holder file)"
    lines = [f"{label}: host lock removed; it was held by {who}"]
    if written:
        lines.append(f"reason recorded in the holder's journal {written}")
    lines.append(f"reason recorded in {log}")
    return 0, lines


async def run_monitor(config: Config, *, once: bool, interval: float) -> int:
    engine, error = await _connected_engine(config)
    if engine is None:
        print(f"warungin-tui: {error}")
        return 2
    failures = 0
    try:
        while True:
            rows = await _probe(engine, MONITOR_STEPS)
            stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
            print(f"== monitoring round at {stamp}")
            for row in rows:
                print(f"  {row['status'].upper():<8} {row['title']}: {row['detail']}")
            failures = sum(r["status"] not in ("passed", "warning") for r in rows)
            if once:
                break
            await asyncio.sleep(interval)
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    finally:
        await engine.aclose()
        await engine.host.close()
    return 1 if failures else 0
