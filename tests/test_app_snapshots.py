"""Snapshots at 80x24, and the overview, a failed phase and the report also at 60x20 and 160x48
(state is asserted in test_app.py; these catch layout regressions at every size we support).

The run is scripted by recording events (fixed durations, outputs and values), and the app's
clock is frozen relative to the run's start, so no wall-clock time reaches the picture.
Update with `pytest tests/test_app_snapshots.py --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.app_fixtures import COMMIT_NEW, COMMIT_OLD, SERVICES, fixed_clock, make_app
from warungin_tui import journal as journal_module
from warungin_tui.app import WarunginApp
from warungin_tui.engine.engine import Engine

SIZE = (80, 24)
SIZES = [
    pytest.param((60, 20), id="60x20"),
    pytest.param(SIZE, id="80x24"),
    pytest.param((160, 48), id="160x48"),
]


@pytest.fixture(autouse=True)
def fixed_journal_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report cites when each result was journaled: wide screens show it, so fix it."""
    monkeypatch.setattr(journal_module, "now_iso", lambda: "2025-01-02T08:00:00.000+00:00")


def finished(engine: Engine, step_id: str, status: str = "passed", **fields: Any) -> None:
    """Record one step's attempt as the engine would, with fixed numbers."""
    spec = engine.run.playbook.step(step_id)
    if spec.automated:
        engine.record({"type": "step_started", "step": step_id, "kind": str(spec.kind)})
        lines = fields.pop("lines", [])
        if lines:
            engine.record(
                {"type": "step_output", "step": step_id, "stream": "stdout", "lines": lines}
            )
        fields.setdefault("duration_s", 0.4)
    engine.record({"type": "step_finished", "step": step_id, "status": status, **fields})


def script_run(engine: Engine) -> None:
    """Checklist done (one item overridden), Phase 1 done, Phase 2 failed at the build."""
    for spec in engine.run.playbook.phase("pre").steps:
        if spec.kind == "signoff":
            finished(
                engine,
                spec.id,
                detail=f"{spec.role}: Sam Signer",
                by="Sam Signer",
                value={"name": "Sam Signer", "role": spec.role},
            )
        elif spec.kind == "input":
            finished(engine, spec.id, detail="Rudi (on-call)", value="Rudi (on-call)")
        elif spec.id == "pre.full_suite":
            finished(engine, spec.id, "failed", detail="CI shows 38 tests", note="38 tests")
            engine.override_step(spec.id, "38 tests cover every change of this release")
        else:
            finished(engine, spec.id, detail="checked", exit_code=0 if spec.automated else None)
    for spec in engine.run.playbook.phase("phase1").steps:
        captures = {}
        if spec.id == "phase1.backup":
            captures = {
                "backup_file": "/srv/New-Warungin/backup-pre-deployment.tar.gz",
                "backup_sha256": "c" * 64,
                "backup_size": "1048576",
            }
        if spec.id == "phase1.record_commit":
            captures = {"pre_commit": COMMIT_OLD}
        finished(engine, spec.id, detail="ok", exit_code=0, captures=captures)


def fail_the_build(engine: Engine) -> None:
    for step_id in ("phase2.branch", "phase2.pull", "phase2.status"):
        finished(engine, step_id, detail="ok", exit_code=0, captures={"new_commit": COMMIT_NEW})
    lines = [f"#{i} [backend {i}/9] RUN npm ci" for i in range(1, 10)]
    lines += ["npm ERR! code ERESOLVE", "failed to solve: process did not complete successfully"]
    finished(
        engine,
        "phase2.build",
        "failed",
        lines=lines,
        exit_code=1,
        duration_s=83.2,
        command="cd /srv/New-Warungin && docker compose build",
        detail="exit code 1 (expected 0) failed to solve: process did not complete",
    )


def pass_verification(engine: Engine) -> None:
    """Phase 2 and 3 passed with measured values (for the smoke test and the report)."""
    services = [
        {
            "service": name,
            "name": f"warungin-{name}",
            "state": "running",
            "health": "healthy" if name in SERVICES[:5] else "",
            "status": "Up 3 minutes",
        }
        for name in SERVICES
    ]
    for spec in engine.run.playbook.phase("phase2").steps:
        value = None
        captures: dict[str, Any] = {}
        if spec.id == "phase2.services":
            value = {"services": services, "running": 8, "expected": 8}
            captures = {"services_summary": "8/8"}
        finished(
            engine,
            spec.id,
            detail="8/8 running, all healthy" if value else "ok",
            exit_code=0,
            value=value,
            captures=captures,
        )
    probes = {
        "phase3.health": ("HTTP 200 in 84.2 ms", {"latency_ms": 84.2}, {"api_response_ms": 84.2}),
        "phase3.database": ("PostgreSQL 16.1", None, {}),
        "phase3.frontend": (
            "HTTP 200 in 420.5 ms",
            {"latency_ms": 420.5},
            {"frontend_load_s": 0.42},
        ),
        "phase3.auth": ("HTTP 401 in 35.0 ms", {"latency_ms": 35.0}, {}),
        "phase3.error_logs": ("no error lines", None, {"error_line_count": 0}),
        "phase3.concurrent_users": ("12 active sessions", 12, {"concurrent_users": 12}),
    }
    for step_id, (detail, value, captures) in probes.items():
        finished(engine, step_id, detail=detail, value=value, captures=captures)


def driver(prepare: Callable[[WarunginApp], None]) -> Callable[[Pilot], Any]:
    """Start (enter), script the run, then let `prepare` open the screen to photograph."""

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, WarunginApp)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.id == "overview" and app.screen.is_mounted)
        assert app.engine is not None
        script_run(app.engine)
        prepare(app)
        await until(pilot, lambda: app.screen.is_mounted and not app.step_workers())
        await pilot.pause()

    return run_before


async def until(pilot: Pilot, predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "state not reached"
        await pilot.pause()


def frozen_app(tmp_path: Path) -> WarunginApp:
    app, _ = make_app(tmp_path)
    app.clock = fixed_clock(app, minutes=12.5)
    return app


@pytest.mark.parametrize("size", SIZES)
def test_overview_snapshot(tmp_path: Path, snap_compare: Any, size: tuple[int, int]) -> None:
    app = frozen_app(tmp_path)

    def prepare(app: WarunginApp) -> None:
        assert app.engine is not None
        fail_the_build(app.engine)

    assert snap_compare(app, terminal_size=size, run_before=driver(prepare))


@pytest.mark.parametrize("size", SIZES)
def test_phase_screen_snapshot(tmp_path: Path, snap_compare: Any, size: tuple[int, int]) -> None:
    app = frozen_app(tmp_path)

    def prepare(app: WarunginApp) -> None:
        assert app.engine is not None
        fail_the_build(app.engine)
        app.open_phase("phase2", "phase2.build")

    assert snap_compare(app, terminal_size=size, run_before=driver(prepare))


def test_smoke_test_snapshot(tmp_path: Path, snap_compare: Any) -> None:
    app = frozen_app(tmp_path)

    def prepare(app: WarunginApp) -> None:
        assert app.engine is not None
        pass_verification(app.engine)
        finished(
            app.engine, "smoke.frontend_loads", detail="login page in 1 s", note="login page in 1 s"
        )
        app.open_phase("smoke", "smoke.frontend_loads")

    assert snap_compare(app, terminal_size=SIZE, run_before=driver(prepare))


@pytest.mark.parametrize("size", SIZES)
def test_verification_report_snapshot(
    tmp_path: Path, snap_compare: Any, size: tuple[int, int]
) -> None:
    app = frozen_app(tmp_path)

    def prepare(app: WarunginApp) -> None:
        assert app.engine is not None
        pass_verification(app.engine)
        for spec in app.engine.run.playbook.phase("smoke").steps:
            finished(app.engine, spec.id, detail="checked")
        app.open_phase("report")

    assert snap_compare(app, terminal_size=size, run_before=driver(prepare))
