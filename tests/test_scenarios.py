"""Every rehearsal scenario, end to end over real OpenSSH: the outcome a person would expect."""

from __future__ import annotations

import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.playbook_driver import drive
from warungin_tui.config import journal_dir, load_config, parse_config
from warungin_tui.engine.engine import Engine, NeedsConfirmation
from warungin_tui.outcome import StepStatus
from warungin_tui.remote import Remote
from warungin_tui.sandbox.target import RehearsalTarget

pytestmark = pytest.mark.sshd


class Rehearsal:
    def __init__(self, target: RehearsalTarget, engine: Engine) -> None:
        self.target = target
        self.engine = engine
        self.run = engine.run

    def status(self, step_id: str) -> StepStatus:
        return self.run.status(step_id)

    def later_steps_untouched(self, failed: str) -> list[str]:
        """Steps after the failed one that nevertheless ran (should be none)."""
        steps = [s.id for p in self.run.playbook.linear_phases for s in p.steps]
        after = steps[steps.index(failed) + 1 :]
        return [
            s for s in after if self.run.results[s].attempts or self.status(s) != StepStatus.PENDING
        ]


async def open_rehearsal(
    scenario: str,
    tmp_path: Path,
    layout: str = "separate",
    keep: list[str] | None = None,
    *,
    guard_host: bool = False,
) -> AsyncIterator[Rehearsal]:
    """`layout`: where archives and dumps live (sandbox.host.LAYOUTS); `keep`: [rollback] keep."""
    async with RehearsalTarget(
        scenario, root=tmp_path / "target", transport="openssh", layout=layout
    ) as target:
        config = load_config(target.config_path)
        if keep is not None:
            config = parse_config({**config.model_dump(), "rollback": {"keep": keep}})
        remote = Remote(config.target, keepalive_interval=1, keepalive_count_max=3)
        engine = Engine.start_new(
            config,
            journal_dir(config),
            operator="Test Operator",
            remote=remote,
            guard_host=guard_host,
        )
        try:
            yield Rehearsal(target, engine)
        finally:
            await engine.aclose()
            await remote.close()


@pytest.fixture
async def rehearsal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rehearsal]:
    async for item in open_rehearsal(request.param, tmp_path):
        yield item


def scenario(name: str):
    return pytest.mark.parametrize("rehearsal", [name], indirect=True)


@scenario("healthy")
async def test_healthy_reaches_go_live(rehearsal: Rehearsal) -> None:
    assert await drive(rehearsal.engine) is None
    run = rehearsal.run
    assert run.decision and run.decision["decision"] == "GO-LIVE APPROVED"
    assert run.values["active_sessions"] == 0
    assert run.values["services_summary"] == "8/8"
    assert run.values["backup_file"].endswith(".tar.gz")
    assert len(run.values["backup_sha256"]) == 64
    assert run.values["new_commit"] != run.values["pre_commit"]
    assert "version" not in run.results["phase3.health"].detail
    assert run.results["phase3.health"].status == StepStatus.PASSED


@pytest.mark.parametrize("layout", ["default", "backup-inside", "other-owner"])
async def test_healthy_reaches_go_live_on_every_layout(layout: str, tmp_path: Path) -> None:
    async for rehearsal in open_rehearsal("healthy", tmp_path, layout):
        assert await drive(rehearsal.engine) is None
        run, host = rehearsal.run, rehearsal.target.host
        assert run.decision and run.decision["decision"] == "GO-LIVE APPROVED"
        archive = Path(run.values["backup_file"])
        assert archive.parent == host.backup_dir and archive.stat().st_mode & 0o777 == 0o600
        assert run.values["pre_version"] == host.old_version
        # the archive holds neither itself, earlier archives, backup_dir nor the dumps
        names = tarfile.open(archive).getnames()
        assert "./VERSION" in names and "./.git/HEAD" in names
        assert not [n for n in names if "backup-" in n or n.startswith("./backups/")]
        assert list(host.project_dir.glob(".backup-pre-deployment.*")) == []


@scenario("build-fails")
async def test_build_fails_stops_at_the_build(rehearsal: Rehearsal) -> None:
    failed = await drive(rehearsal.engine)
    assert failed == "phase2.build"
    result = rehearsal.run.results[failed]
    assert "exit code 1" in result.detail
    assert any("failed to solve" in line for _, line in result.output)
    assert rehearsal.later_steps_untouched(failed) == []


@scenario("backend-unhealthy")
async def test_backend_unhealthy_stops_when_its_group_is_checked(rehearsal: Rehearsal) -> None:
    failed = await drive(rehearsal.engine)
    assert failed == "phase2.ready.2"
    result = rehearsal.run.results[failed]
    # unhealthy is waited out for its grace (3 polls and 2 s in the rehearsal), then fails
    assert "backend unhealthy" in result.detail and "the grace is 3 polls and 2 s" in result.detail
    polls = [line for _, line in result.output if line.startswith("poll ")]
    assert len(polls) >= 3 and "unhealthy for 1 poll" in polls[0]
    assert "next poll" not in polls[-1]
    assert rehearsal.later_steps_untouched(failed) == []


@scenario("healthy")
async def test_unhealthy_for_two_polls_then_healthy_passes_the_wait(rehearsal: Rehearsal) -> None:
    assert await drive(rehearsal.engine, stop_before="phase2.ready.2") is None
    rehearsal.target.host.script_health("backend", ["unhealthy", "unhealthy"])
    outcome = await rehearsal.engine.run_step("phase2.ready.2")
    assert outcome.status == StepStatus.PASSED, outcome.detail
    assert "after 3 polls" in outcome.detail
    polls = [line for _, line in rehearsal.run.results["phase2.ready.2"].output]
    assert "backend unhealthy" in polls[0] and "backend unhealthy" in polls[1]
    assert "all healthy" in polls[2]


@scenario("healthy")
async def test_exited_fails_the_wait_at_once(rehearsal: Rehearsal) -> None:
    assert await drive(rehearsal.engine, stop_before="phase2.ready.2") is None
    host = rehearsal.target.host
    host.docker("compose", "stop", "backend", cwd=host.project_dir)
    outcome = await rehearsal.engine.run_step("phase2.ready.2")
    assert outcome.status == StepStatus.FAILED
    assert "backend exited" in outcome.detail
    assert "(poll 1; waiting cannot fix this)" in outcome.detail


@scenario("wrong-version")
async def test_wrong_version_is_caught_by_the_health_check(rehearsal: Rehearsal) -> None:
    failed = await drive(rehearsal.engine)
    assert failed == "phase3.health"
    detail = rehearsal.run.results[failed].detail
    assert "version is '1.0.0', expected '1.1.0'" in detail
    assert rehearsal.later_steps_untouched(failed) == []


@scenario("active-sessions")
async def test_active_sessions_drain_before_anything_goes_down(rehearsal: Rehearsal) -> None:
    assert await drive(rehearsal.engine, stop_before="phase1.record_commit") is None
    result = rehearsal.run.results["phase1.active_sessions"]
    assert result.status == StepStatus.PASSED
    polls = [line for _, line in result.output if line.startswith("poll ")]
    assert len(polls) >= 2
    assert "3 active sessions" in polls[0] and "next poll in" in polls[0]
    assert "0 active sessions" in polls[-1]
    assert rehearsal.status("phase1.stop_stack") == StepStatus.PENDING


@scenario("slow-start")
async def test_slow_start_is_waited_for(rehearsal: Rehearsal) -> None:
    assert await drive(rehearsal.engine, stop_before="smoke.frontend_loads") is None
    ready = rehearsal.run.results["phase2.ready.1"]
    polls = [line for _, line in ready.output if line.startswith("poll ")]
    assert len(polls) >= 2 and "starting" in polls[0]
    assert rehearsal.status("phase3.health") == StepStatus.PASSED


@scenario("errors-in-logs")
async def test_errors_in_logs_fail_the_error_log_check(rehearsal: Rehearsal) -> None:
    failed = await drive(rehearsal.engine)
    assert failed == "phase3.error_logs"
    assert "ERROR" in rehearsal.run.results[failed].detail
    assert rehearsal.later_steps_untouched(failed) == []


@scenario("stale-backup")
async def test_stale_backup_fails_the_infrastructure_check(rehearsal: Rehearsal) -> None:
    failed = await drive(rehearsal.engine)
    assert failed == "pre.db_backups_recent"
    assert "older than the 24 h limit" in rehearsal.run.results[failed].detail
    assert rehearsal.later_steps_untouched(failed) == []


@scenario("ssh-drop")
async def test_ssh_drop_leaves_the_build_interrupted_with_output(rehearsal: Rehearsal) -> None:
    failed = await drive(rehearsal.engine)
    assert failed == "phase2.build"
    result = rehearsal.run.results[failed]
    assert result.status == StepStatus.INTERRUPTED
    assert len(result.output) >= 2
    assert "connection lost" in result.detail and "unknown" in result.detail
    # Without host records nobody can tell what happened: the build changes the host, so a
    # retry needs the operator's confirmation; confirmed, it runs again and completes.
    with pytest.raises(NeedsConfirmation):
        await rehearsal.engine.run_step("phase2.build")
    assert rehearsal.target.host.state()["builds_started"] == 1
    outcome = await rehearsal.engine.run_step("phase2.build", confirmed=True)
    assert outcome.status == StepStatus.PASSED


async def test_ssh_drop_with_host_records_learns_the_outcome(tmp_path: Path) -> None:
    """With the wrapper's record the engine reconnects and asks the host: the drop stopped the
    build (the wrapper's TERM, exit 143), so it is interrupted, not a failed release (issue 13);
    its exit status is kept. A retry asks the host again and, the build being unsafe to rerun
    blindly, needs a confirmation."""
    async for rehearsal in open_rehearsal("ssh-drop", tmp_path, guard_host=True):
        failed = await drive(rehearsal.engine)
        assert failed == "phase2.build"
        result = rehearsal.run.results[failed]
        assert result.status == StepStatus.INTERRUPTED, result.detail
        assert "the drop stopped the command (exit 143)" in result.detail
        assert result.exit_code == 143
        assert result.host_record and result.host_record.endswith("/phase2.build-1")
        with pytest.raises(NeedsConfirmation):
            await rehearsal.engine.run_step("phase2.build")
        assert rehearsal.target.host.state()["builds_started"] == 1
        outcome = await rehearsal.engine.run_step("phase2.build", confirmed=True)
        assert outcome.status == StepStatus.PASSED
        assert rehearsal.target.host.state()["builds_started"] == 2
