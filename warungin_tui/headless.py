"""Runs without a UI: `check` (one phase's automated probes) and `monitor` (repeated rounds)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from warungin_tui.config import Config
from warungin_tui.engine import Engine
from warungin_tui.playbook import build_playbook
from warungin_tui.remote import Remote, RemoteError
from warungin_tui.run import Run

MONITOR_STEPS = [
    "monitoring.error_logs",
    "monitoring.service_health",
    "monitoring.resources",
    "monitoring.database_connections",
    "monitoring.api_response",
]


async def _connected_engine(config: Config) -> tuple[Engine | None, str | None]:
    remote = Remote(config.target)
    try:
        await remote.connect()
    except RemoteError as exc:
        await remote.close()
        return None, f"{config.target.label}: {exc.title}: {exc}"
    # Probes only: no journal, gates not enforced (nothing here changes the host).
    engine = Engine(config, Run(build_playbook(config)), None, remote, enforce_gates=False)
    return engine, None


async def _probe(engine: Engine, step_ids: list[str]) -> list[dict[str, Any]]:
    rows = []
    for step_id in step_ids:
        spec = engine.run.playbook.step(step_id)
        outcome = await engine.run_step(step_id)
        result = engine.run.results[step_id]
        rows.append(
            {
                "id": step_id,
                "title": spec.title,
                "seed_ref": spec.seed_ref,
                "status": str(outcome.status),
                "detail": outcome.detail,
                "duration_s": result.duration_s or 0.0,
                "exit_code": outcome.exit_code,
            }
        )
    return rows


async def run_check(config: Config, phase_id: str) -> tuple[list[dict[str, Any]], str | None]:
    engine, error = await _connected_engine(config)
    if engine is None:
        return [], error
    try:
        steps = [s.id for s in engine.run.playbook.phase(phase_id).steps if s.automated]
        return await _probe(engine, steps), None
    finally:
        await engine.aclose()
        await engine.remote.close()


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
        await engine.remote.close()
    return 1 if failures else 0
