"""Read-only probes run together (issue 13 deliverable 4, issue 14 deliverable 2).

The busy rule says which steps may run at the same time (read-only probes, never a step that
changes the host); a `probes_together` phase (Phase 3) runs its probes at once over the one
connection and records each, even when one fails. Against a real OpenSSH sshd.
"""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tests.app_fixtures import HEALTHY_RULES, make_app
from tests.fake_remote import FakeRemote
from tests.faultproxy import FaultProxy
from tests.playbook_driver import drive
from tests.sshd_fixtures import through_proxy
from tests.test_app import on_screen, start, until
from warungin_tui.app import WarunginApp
from warungin_tui.config import Config, TargetConfig, journal_dir, load_config, parse_config
from warungin_tui.engine.engine import Engine
from warungin_tui.engine.rules import (
    Action,
    busy_with,
    may_run_together,
    runs_together,
    step_refusal,
)
from warungin_tui.engine.run import Run
from warungin_tui.engine.stepslots import StepSlots
from warungin_tui.errors import StepBusy
from warungin_tui.journal import read_journal, verify_journal
from warungin_tui.outcome import StepStatus
from warungin_tui.playbook import build_playbook
from warungin_tui.remote import Remote
from warungin_tui.sandbox.openssh import OpenSSHServer
from warungin_tui.sandbox.target import RehearsalTarget
from warungin_tui.widgets.step_list import RowList

PHASE3 = [
    "phase3.health",
    "phase3.database",
    "phase3.frontend",
    "phase3.auth",
    "phase3.error_logs",
    "phase3.concurrent_users",
]


def sample_config(target: dict[str, Any] | None = None) -> Config:
    return parse_config(
        {
            "target": target
            or {"host": "127.0.0.1", "user": "deploy", "project_dir": "/srv/warungin"},
            "release": {"version": "1.1.0"},
            "endpoints": {"frontend": "http://127.0.0.1:9"},
        }
    )


# -- the rule ----------------------------------------------------------------------------------
def test_only_read_only_probes_run_together() -> None:
    playbook = build_playbook(sample_config())
    database, errors = playbook.step("phase3.database"), playbook.step("phase3.error_logs")
    build, notify = playbook.step("phase2.build"), playbook.step("phase1.notify")
    assert may_run_together([database], errors)
    assert not may_run_together([database], build)  # a step that changes the host: alone
    assert not may_run_together([build], database)
    assert not may_run_together([database], notify)  # sends a message: not read-only
    assert busy_with([database], errors) is None
    assert busy_with([database], build) == "Database verification"
    assert busy_with([database, errors], None) == "Database verification (and 1 more probes)"


def test_slots_admit_probes_together_and_anything_else_alone() -> None:
    playbook = build_playbook(sample_config())
    slots = StepSlots()
    database, errors = playbook.step("phase3.database"), playbook.step("phase3.error_logs")
    with slots.hold(database), slots.hold(errors):
        assert [s.id for s in slots.running] == ["phase3.database", "phase3.error_logs"]
        with pytest.raises(StepBusy, match="Database verification"):
            with slots.hold(playbook.step("phase2.build")):
                pass
        with pytest.raises(StepBusy):  # the same step twice: never
            with slots.hold(database):
                pass
    assert slots.running == []
    with slots.hold(playbook.step("phase2.build")):
        with pytest.raises(StepBusy, match="Build"):
            with slots.hold(database):
                pass


def test_the_rulebook_refuses_a_host_changing_step_beside_probes() -> None:
    config = sample_config()
    run = Run(build_playbook(config))
    refusal = step_refusal(
        run, "phase2.build", Action.RUN_STEP, busy="Database verification", enforce_gates=False
    )
    assert refusal is not None and "Database verification is running" in refusal.reason
    assert runs_together(run, "phase3") and not runs_together(run, "pre")
    assert not runs_together(run, "phase2")


def test_a_probes_together_phase_refuses_a_step_that_is_not_read_only() -> None:
    from warungin_tui.config import ConfigError
    from warungin_tui.playbook import load_playbook_data

    data = load_playbook_data()
    for phase in data["phases"]:
        if phase["id"] == "phase2":
            phase["probes_together"] = True
    with pytest.raises(ConfigError, match="probes_together, but phase2.pull is not read_only"):
        build_playbook(sample_config(), data)


# -- Phase 3 over real OpenSSH -------------------------------------------------------------------
async def run_phase3(scenario: str, tmp_path: Path, stop_service: str = "") -> Engine:
    async with RehearsalTarget(scenario, root=tmp_path / "target", transport="openssh") as target:
        config = load_config(target.config_path)
        remote = Remote(config.target, keepalive_interval=1, keepalive_count_max=3)
        engine = Engine.start_new(config, journal_dir(config), operator="Ana", remote=remote)
        try:
            assert await drive(engine, stop_before="phase3.health") is None
            if stop_service:
                target.host.docker("compose", "stop", stop_service, cwd=target.host.project_dir)
            await engine.run_automated("phase3")
            return engine
        finally:
            await engine.aclose()
            await remote.close()


def phase3_events(engine: Engine) -> list[tuple[str, str]]:
    assert engine.journal is not None
    return [
        (r["event"]["type"], r["event"]["step"])
        for r in read_journal(engine.journal.path)
        if r["event"].get("step", "").startswith("phase3.")
        and r["event"]["type"] in ("step_started", "step_finished")
    ]


def assert_ran_together(engine: Engine) -> None:
    """Every probe recorded; more than one had started before the first one finished."""
    events = phase3_events(engine)
    assert sorted(step for kind, step in events if kind == "step_finished") == sorted(PHASE3)
    first_finish = next(i for i, (kind, _) in enumerate(events) if kind == "step_finished")
    assert first_finish >= 2, events
    assert engine.journal is not None and verify_journal(engine.journal.path).ok


@pytest.mark.sshd
async def test_errors_in_logs_still_records_every_other_probe(tmp_path: Path) -> None:
    engine = await run_phase3("errors-in-logs", tmp_path)
    results = engine.run.results
    assert results["phase3.error_logs"].status == StepStatus.FAILED
    assert "ERROR" in results["phase3.error_logs"].detail
    for step_id in ("phase3.database", "phase3.auth", "phase3.frontend", "phase3.health"):
        assert results[step_id].status in (StepStatus.PASSED, StepStatus.WARNING), step_id
    assert "PostgreSQL" in results["phase3.database"].detail
    assert engine.run.values["concurrent_users"] == 0
    assert not engine.run.gate_holds("phase3")  # the gate still closes on the failure
    assert_ran_together(engine)


@pytest.mark.sshd
async def test_a_failing_frontend_still_records_database_auth_and_error_log(
    tmp_path: Path,
) -> None:
    engine = await run_phase3("healthy", tmp_path, stop_service="frontend")
    results = engine.run.results
    assert results["phase3.frontend"].status == StepStatus.FAILED
    assert "HTTP 502" in results["phase3.frontend"].detail  # nginx: its upstream is gone
    assert results["phase3.database"].status == StepStatus.PASSED
    assert results["phase3.auth"].status == StepStatus.PASSED
    assert results["phase3.error_logs"].status in (StepStatus.PASSED, StepStatus.FAILED)
    assert results["phase3.error_logs"].detail  # judged, whatever the logs said
    assert not engine.run.gate_holds("phase3")
    assert_ran_together(engine)


# -- a dropped connection with two probes running --------------------------------------------
PROBES = {
    "name": "probes",
    "version": "1",
    "phases": [
        {
            "id": "probes",
            "title": "Probes",
            "seed_ref": "test",
            "probes_together": True,
            "steps": [
                {
                    "id": f"probes.{name}",
                    "title": f"Probe {name}",
                    "seed_ref": "test",
                    "kind": "ssh",
                    "retry_safe": True,
                    "read_only": True,
                    # one line out, then a wait the test ends by cutting the connection
                    "command": f"echo started-{name}; sleep 60",
                }
                for name in ("a", "b")
            ],
        }
    ],
}


@pytest.mark.sshd
@pytest.mark.parametrize("guard_host", [False, True], ids=["plain", "host-records"])
async def test_a_drop_with_two_probes_running_interrupts_both_and_resume_agrees(
    guard_host: bool,
    openssh_server: OpenSSHServer,
    target_config: TargetConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FaultProxy("127.0.0.1", openssh_server.port) as proxy:
        via_proxy = through_proxy(target_config, openssh_server, proxy.port, tmp_path).model_dump()
        config = sample_config(via_proxy)
        playbook = build_playbook(config, PROBES)
        remote = Remote(config.target, keepalive_interval=1, keepalive_count_max=2)
        engine = Engine.start_new(
            config,
            tmp_path / "runs",
            operator="Ana",
            remote=remote,
            playbook=playbook,
            guard_host=guard_host,  # with host records both reconnect to ask the host at once
        )
        both_talked = asyncio.Event()

        def listen(record: dict[str, Any]) -> None:
            results = engine.run.results
            if all(results[f"probes.{n}"].output_lines for n in ("a", "b")):
                both_talked.set()

        engine.subscribe(listen)
        try:
            phase = asyncio.create_task(engine.run_automated("probes"))
            await asyncio.wait_for(both_talked.wait(), 30)
            assert engine.run.running_steps() == ["probes.a", "probes.b"]
            assert engine.busy == "Probe a (and 1 more probes)"
            # the tool "dies" here: a copy of the journal as it stands, both steps running
            assert engine.journal is not None
            crashed = tmp_path / "crashed" / engine.journal.path.name
            crashed.parent.mkdir()
            shutil.copy(engine.journal.path, crashed)

            for writer in list(proxy._writers):  # the network goes away
                writer.close()
            outcomes = await asyncio.wait_for(phase, 30)
            assert len(outcomes) == 2  # both recorded, none raised
        finally:
            await engine.aclose()
            await remote.close()

    # plain: nobody can tell how they ended. With host records both probes reconnect at once
    # and ask the host: the drop ended them (sshd's hangup: TERM, exit 143: interrupted, not
    # failed, issue 13), or, if asked before the host noticed, they still run there.
    for name in ("a", "b"):
        result = engine.run.results[f"probes.{name}"]
        assert result.status == StepStatus.INTERRUPTED
        if not guard_host:
            assert "connection lost" in result.detail and "unknown" in result.detail
        elif "the drop stopped the command" in result.detail:
            assert result.exit_code == 143, result.detail
        else:
            assert "still running on the host" in result.detail, result.detail
        # each step's output is its own, though the two interleave in the journal
        assert [line for _, line in result.output] == [f"started-{name}"]
    assert verify_journal(engine.journal.path).ok

    # resume rebuilds the run with the playbook the test made
    monkeypatch.setattr("warungin_tui.engine.engine.build_playbook", lambda config: playbook)
    resumed = Engine.resume(config, crashed)
    try:
        for name in ("a", "b"):
            result = resumed.run.results[f"probes.{name}"]
            assert result.status == StepStatus.INTERRUPTED
            assert "the tool stopped while this step ran" in result.detail
            assert [line for _, line in result.output] == [f"started-{name}"]
        assert resumed.run.running_steps() == []
    finally:
        await resumed.aclose()


# -- the wizard: `a` on Phase 3 shows every probe running -----------------------------------------
class GatedRemote(FakeRemote):
    """Phase 3's commands over SSH wait at a gate the test opens: all of them are running."""

    GATED = ("SELECT version()", "compose logs", "SELECT COUNT(*)")

    def __init__(self) -> None:
        super().__init__(rules=list(HEALTHY_RULES))
        self.gate = asyncio.Event()

    async def run(
        self, command: str, *, timeout: float, on_output: Any = None, record: Any = None
    ) -> Any:
        if any(needle in command for needle in self.GATED):
            await self.gate.wait()
        return await super().run(command, timeout=timeout, on_output=on_output)


def row_text(app: WarunginApp, step_id: str) -> str:
    console = Console(width=100, file=io.StringIO(), color_system=None)
    console.print(app.screen.query_one(RowList).get_option(step_id).prompt)
    return console.file.getvalue()  # type: ignore[attr-defined]


async def test_a_on_phase3_shows_each_probe_running_at_once(tmp_path: Path) -> None:
    remote = GatedRemote()
    app, _ = make_app(tmp_path, remote)
    gated = ["phase3.database", "phase3.error_logs", "phase3.concurrent_users"]
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        run = app.require_engine().run
        for phase_id in ("pre", "phase1", "phase2"):
            app.require_engine().override_gate(phase_id, "test: done elsewhere")
        app.open_phase("phase3")
        await on_screen(pilot, "phase-phase3")
        await pilot.press("a")
        await until(pilot, lambda: sorted(run.running_steps()) == sorted(gated))
        await pilot.pause()
        for step_id in gated:  # the list shows each one's own state
            assert "running" in row_text(app, step_id), row_text(app, step_id)
        assert "passed" in row_text(app, "phase3.auth")
        assert "Database verification (and 2 more probes)" == app.busy_step()
        remote.gate.set()
        await until(pilot, lambda: run.gate_holds("phase3"), timeout=20)
        await until(pilot, lambda: not app.step_workers())
        for step_id in gated:
            assert "passed" in row_text(app, step_id)
