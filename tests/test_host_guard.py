"""One operator at a time, and interrupted means checked (issue 8, failures 4 and 5).

Against a real OpenSSH sshd serving the rehearsal host; the journal lock with real processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_remote import FakeRemote
from tests.faultproxy import FaultProxy
from tests.helpers import REPO, SAMPLE_CONFIG, cli_argv, wait_until
from tests.playbook_driver import drive
from tests.sshd_fixtures import through_proxy
from warungin_tui.config import journal_dir, load_config
from warungin_tui.engine.engine import Engine, JournalLocked, ReadOnlyRun, StillRunningOnHost
from warungin_tui.hostlock import LOCK_DIR_NAME, HostLockError, HostLockHeld
from warungin_tui.journal import journal_holder, read_journal, verify_journal
from warungin_tui.outcome import StepStatus
from warungin_tui.remote import Remote
from warungin_tui.sandbox.docker_shim import HOLD_BUILD
from warungin_tui.sandbox.openssh import OpenSSHServer
from warungin_tui.sandbox.target import RehearsalTarget
from warungin_tui.screens.messages import RunStepRequested

CHILD = """
import sys, time
from pathlib import Path
from warungin_tui.config import load_config
from warungin_tui.engine.engine import Engine
config = load_config(Path(sys.argv[1]))
engine = Engine.resume(config, Path(sys.argv[2]))
engine.set_operator("Child Operator")
print("opened", flush=True)
for index in range(int(sys.argv[3])):
    engine.record({"type": "operator_changed", "operator": f"child {index}"})
    time.sleep(0.01)
sys.stdin.readline()  # hold the run open until the parent says so
engine.record({"type": "operator_changed", "operator": "child last"})
engine.journal.close()
"""


def events(path: Path, kind: str) -> list[dict]:
    return [r["event"] for r in read_journal(path) if r["event"]["type"] == kind]


# -- failure 4: one process per journal ------------------------------------------------------------
def test_a_second_process_cannot_append_to_an_open_run(tmp_path: Path) -> None:
    config = load_config(SAMPLE_CONFIG)
    first = Engine.start_new(config, tmp_path / "journals", operator="First")
    path = first.journal.path  # type: ignore[union-attr]
    first.journal.close()  # type: ignore[union-attr]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(SAMPLE_CONFIG), str(path), "20"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "opened"
        # Both used to resume and append: two records with one seq, verify-log failed.
        with pytest.raises(JournalLocked) as caught:
            Engine.resume(config, path)
        holder = caught.value.holder
        assert holder["pid"] == child.pid and holder["operator"] == "Child Operator"
        assert journal_holder(path) == holder
        viewer = Engine.open_read_only(config, path, holder)
        assert viewer.read_only and str(child.pid) in viewer.read_only
        with pytest.raises(ReadOnlyRun):
            viewer.tick("pre.smoke_test")
        with pytest.raises(ReadOnlyRun):
            viewer.record({"type": "operator_changed", "operator": "viewer"})
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert verify_journal(path).ok
    assert journal_holder(path) is None  # the lock went with the process
    again = Engine.resume(config, path)
    assert again.run.operator == "child last"
    again.journal.close()  # type: ignore[union-attr]


# -- the host lock over real OpenSSH ---------------------------------------------------------------
async def guarded_engine(target: RehearsalTarget, folder: Path, operator: str) -> Engine:
    config = load_config(target.config_path)
    remote = Remote(config.target, keepalive_interval=1, keepalive_count_max=3)
    engine = Engine.start_new(config, folder, operator=operator, remote=remote, guard_host=True)
    engine.override_gate("pre", "rehearsal: the checklist is tested elsewhere")
    return engine


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WARUNGIN_TUI_CONFIG": "", "PYTHONPATH": str(REPO)}
    return subprocess.run(cli_argv(*args), capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.sshd
async def test_second_engine_and_check_see_the_lock_and_breaking_is_recorded(
    tmp_path: Path,
) -> None:
    async with RehearsalTarget("healthy", root=tmp_path / "target", transport="openssh") as target:
        lock = target.host.project_dir / LOCK_DIR_NAME
        config = str(target.config_path)
        first = await guarded_engine(target, tmp_path / "first", "Ana First")
        second = await guarded_engine(target, tmp_path / "second", "Bo Second")
        try:
            await first.run_step("phase1.notify")
            holder = json.loads((lock / "holder").read_text())
            assert holder["operator"] == "Ana First" and holder["run_id"] == first.run.run_id
            assert holder["release"] == "1.1.0" and holder["since"]

            # A second run is refused before its first Phase 1 step, naming who and since when.
            with pytest.raises(HostLockHeld) as caught:
                await second.run_step("phase1.notify")
            assert "Ana First" in str(caught.value) and holder["since"] in str(caught.value)
            assert second.run.results["phase1.notify"].attempts == 0

            # `check` warns (text and JSON) but its probes still run.
            text = run_cli("check", "--config", config)
            assert text.returncode == 0, text.stderr
            warning = [line for line in text.stdout.splitlines() if "host.lock" in line]
            assert len(warning) == 1 and warning[0].startswith("WARNING")
            assert "Ana First" in warning[0] and holder["since"] in warning[0]
            rows = json.loads(run_cli("check", "--config", config, "--json").stdout)
            assert rows[0]["id"] == "host.lock" and rows[0]["holder"]["operator"] == "Ana First"

            # Breaking needs a reason; a lock whose run is open here is not stale.
            with pytest.raises(Exception, match="reason"):
                await second.break_host_lock("  ")
            with pytest.raises(HostLockError, match="open here"):
                await second.break_host_lock("Ana's laptop died")
            assert lock.is_dir()
            await first.aclose()  # Ana's wizard quits: the run is unfinished, the lock stays
            assert lock.is_dir()
            await second.break_host_lock("Ana's laptop died")
            ana = events(first.journal.path, "host_lock_broken")  # type: ignore[union-attr]
            bo = events(second.journal.path, "host_lock_broken")  # type: ignore[union-attr]
            assert ana[0]["reason"] == bo[0]["reason"] == "Ana's laptop died"
            assert ana[0]["by"] == "Bo Second" and bo[0]["holder"]["operator"] == "Ana First"
            assert (await second.run_step("phase1.notify")).status == StepStatus.PASSED
            assert json.loads((lock / "holder").read_text())["operator"] == "Bo Second"

            # `unlock` refuses while Bo's run is open here, then removes it with the reason.
            refused = run_cli("unlock", "--config", config, "--reason", "night shift over")
            assert refused.returncode == 1 and "open here" in refused.stderr
            await second.aclose()
            assert run_cli("unlock", "--config", config).returncode == 2  # no reason
            done = run_cli("unlock", "--config", config, "--reason", "night shift over")
            assert done.returncode == 0, done.stderr
            assert "Bo Second" in done.stdout and not lock.exists()
            unlocked = events(second.journal.path, "host_lock_broken")  # type: ignore[union-attr]
            assert unlocked[-1]["reason"] == "night shift over"
            assert verify_journal(second.journal.path).ok  # type: ignore[union-attr]
        finally:
            for engine in (first, second):
                await engine.aclose()
                await engine.remote.close()


@pytest.mark.sshd
async def test_the_lock_is_released_when_the_run_ends(tmp_path: Path) -> None:
    async with RehearsalTarget("healthy", root=tmp_path / "target", transport="openssh") as target:
        engine = await guarded_engine(target, tmp_path / "journals", "Ana First")
        try:
            await engine.run_step("phase1.notify")
            assert (target.host.project_dir / LOCK_DIR_NAME).is_dir()
            engine.record({"type": "run_abandoned", "reason": "rehearsal over", "by": "Ana"})
            await engine.aclose()
            assert not (target.host.project_dir / LOCK_DIR_NAME).exists()
            released = events(engine.journal.path, "host_lock_released")  # type: ignore[union-attr]
            assert released and released[0]["removed"] is True
        finally:
            await engine.aclose()
            await engine.remote.close()


# -- failure 5: a retry never doubles a running command --------------------------------------------
@pytest.mark.sshd
async def test_blackholed_build_is_found_running_then_its_status_is_learned(
    tmp_path: Path,
) -> None:
    async with RehearsalTarget("healthy", root=tmp_path / "target", transport="openssh") as target:
        config = load_config(target.config_path)
        state = target.host.state_dir
        async with FaultProxy("127.0.0.1", target.port) as proxy:
            server = target.server
            assert isinstance(server, OpenSSHServer)
            via_proxy = through_proxy(config.target, server, proxy.port, tmp_path)
            remote = Remote(via_proxy, keepalive_interval=1, keepalive_count_max=2)
            engine = Engine.start_new(
                config, journal_dir(config), operator="Ana", remote=remote, guard_host=True
            )
            try:
                assert await drive(engine, stop_before="phase2.build") is None
                (state / HOLD_BUILD).touch()
                build = asyncio.create_task(engine.run_step("phase2.build"))
                await asyncio.to_thread(
                    wait_until, lambda: engine.run.results["phase2.build"].output_lines >= 3
                )
                proxy.blackhole_current()  # the server never learns the client gave up
                outcome = await asyncio.wait_for(build, 30)
                assert outcome.status == StepStatus.INTERRUPTED
                assert "still running on the host" in outcome.detail

                # r: the host is asked first; no second build starts, confirmed or not.
                for confirmed in (False, True):
                    with pytest.raises(StillRunningOnHost):
                        await engine.run_step("phase2.build", confirmed=confirmed)
                assert target.host.state()["builds_started"] == 1

                # Wait for it, following its output from the host; then let it end.
                waiting = asyncio.create_task(engine.wait_for_host_command("phase2.build"))
                await asyncio.to_thread(
                    wait_until,
                    lambda: (
                        engine.run.status("phase2.build") == StepStatus.RUNNING
                        and engine.run.results["phase2.build"].output_lines >= 3
                    ),
                )
                (state / HOLD_BUILD).unlink()
                learned = await asyncio.wait_for(waiting, 60)
                assert learned is not None and learned.status == StepStatus.PASSED
                assert learned.exit_code == 0
                assert "outcome learned after reconnect" in learned.detail
                assert target.host.state()["builds_started"] == 1
                result = engine.run.results["phase2.build"]
                assert result.attempts == 1 and result.status == StepStatus.PASSED
                assert any("Built" in line for _, line in result.output)
                assert verify_journal(engine.journal.path).ok  # type: ignore[union-attr]
            finally:
                (state / HOLD_BUILD).unlink(missing_ok=True)
                await engine.aclose()
                await remote.close()


@pytest.mark.sshd
async def test_a_build_still_running_after_a_restart_can_be_stopped(tmp_path: Path) -> None:
    """The tool dies mid-build (its journal says running); on resume the host is asked."""
    async with RehearsalTarget("healthy", root=tmp_path / "target", transport="openssh") as target:
        config = load_config(target.config_path)
        state = target.host.state_dir
        async with FaultProxy("127.0.0.1", target.port) as proxy:
            server = target.server
            assert isinstance(server, OpenSSHServer)
            via_proxy = through_proxy(config.target, server, proxy.port, tmp_path)
            remote = Remote(via_proxy, keepalive_interval=1, keepalive_count_max=2)
            engine = Engine.start_new(
                config, journal_dir(config), operator="Ana", remote=remote, guard_host=True
            )
            path = engine.journal.path  # type: ignore[union-attr]
            resumed: Engine | None = None
            try:
                assert await drive(engine, stop_before="phase2.build") is None
                (state / HOLD_BUILD).touch()
                build = asyncio.create_task(engine.run_step("phase2.build"))
                await asyncio.to_thread(
                    wait_until, lambda: engine.run.results["phase2.build"].output_lines >= 3
                )
                proxy.blackhole_current()
                # The process "dies": its journal ends with the build running.
                engine.journal.close()  # type: ignore[union-attr]
                engine.journal = None
                build.cancel()
                await asyncio.gather(build, return_exceptions=True)
                await remote.close()

                second = Remote(via_proxy, keepalive_interval=1, keepalive_count_max=2)
                resumed = Engine.resume(config, path, remote=second, guard_host=True)
                assert resumed.run.status("phase2.build") == StepStatus.INTERRUPTED
                said = await resumed.resolve_interrupted()
                assert said["phase2.build"] is not None
                assert said["phase2.build"].state == "running"
                with pytest.raises(StillRunningOnHost):
                    await resumed.run_step("phase2.build", confirmed=True)
                stopped = await resumed.stop_host_command("phase2.build")
                assert stopped is not None and stopped.status == StepStatus.FAILED
                assert "stopped on the host by Ana" in stopped.detail
                assert target.host.state()["builds_started"] == 1
                # Now the outcome is known (failed): a retry is an ordinary new attempt.
                (state / HOLD_BUILD).unlink()
                retried = await resumed.run_step("phase2.build")
                assert retried.status == StepStatus.PASSED
                assert target.host.state()["builds_started"] == 2
            finally:
                (state / HOLD_BUILD).unlink(missing_ok=True)
                for each in (engine, resumed):
                    if each is not None:
                        await each.aclose()
                        await each.remote.close()


# -- the wizard shows what the engine says -----------------------------------------------------
async def test_a_second_wizard_shows_an_open_run_read_only(tmp_path: Path) -> None:
    from textual.widgets import Static

    from tests.app_fixtures import make_app
    from tests.test_app import SIZE, engine_of, on_screen, text_of

    app, remote = make_app(tmp_path)
    other = Engine.start_new(app.config, tmp_path / "journals", operator="Night Shift")
    path = other.journal.path  # type: ignore[union-attr]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await on_screen(pilot, "start")
            shown = text_of(app.screen.query_one("#unfinished", Static))
            assert f"open in process {os.getpid()}" in shown and "Night Shift" in shown
            await pilot.press("enter")
            await on_screen(pilot, "overview")
            engine = engine_of(app)
            assert engine.read_only and "Night Shift" in engine.read_only
            lines = len(read_journal(path))
            app.open_phase("pre")  # its automated items would run by themselves
            await on_screen(pilot, "phase-pre")
            await pilot.press("space")
            await pilot.pause()
            assert len(read_journal(path)) == lines and remote.commands == []
            assert "READ-ONLY" in text_of(app.screen.query_one("#run-bar", Static))
    finally:
        other.journal.close()  # type: ignore[union-attr]


class LockedHost(FakeRemote):
    """A scripted host whose lock another run holds until it is broken."""

    HOLDER = '{"journal": "", "jump_host": "elsewhere", "operator": "Ana First", '
    HOLDER += '"release": "1.1.0", "run_id": "20250101-000000-abcdef", "since": "02:00"}'

    def __init__(self, rules: list[tuple[str, int, str]]) -> None:
        super().__init__(rules=rules)
        self.locked = True

    async def run(self, command: str, **options: object) -> object:
        if LOCK_DIR_NAME in command and self.locked:
            if "echo held" in command:
                return await self._answer(command, 0, "held\n" + self.HOLDER + "\n")
            if "rmdir" in command:
                self.locked = False
                return await self._answer(command, 0, "")
            return await self._answer(command, 3, self.HOLDER + "\n")
        return await super().run(command, **options)  # type: ignore[arg-type]

    async def _answer(self, command: str, code: int, stdout: str) -> object:
        from warungin_tui.remote import CommandResult

        self.commands.append(command)
        return CommandResult(command, code, stdout, "", False, 0.01)


async def test_the_wizard_asks_for_a_reason_before_breaking_the_host_lock(tmp_path: Path) -> None:
    from tests.app_fixtures import HEALTHY_RULES, make_app
    from tests.test_app import SIZE, engine_of, on_screen, open_gates, start, until

    remote = LockedHost(list(HEALTHY_RULES))
    app, _ = make_app(tmp_path, remote)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        open_gates(app, "pre")
        engine = engine_of(app)
        app.post_message(RunStepRequested("phase1.notify"))
        await on_screen(pilot, "prompt")
        assert "Ana First" in str(app.screen.message) and "02:00" in str(app.screen.message)
        assert engine.run.results["phase1.notify"].attempts == 0  # nothing ran
        await pilot.press("escape")  # leaving it: nothing happens
        await until(pilot, lambda: not app.step_workers())
        assert remote.locked and engine.run.results["phase1.notify"].attempts == 0
        app.post_message(RunStepRequested("phase1.notify"))
        await on_screen(pilot, "prompt")
        for key in "Ana is off shift":
            await pilot.press("space" if key == " " else key)
        await pilot.press("enter")
        await until(pilot, lambda: engine.run.status("phase1.notify") == StepStatus.PASSED)
        broken = events(engine.journal.path, "host_lock_broken")  # type: ignore[union-attr]
        assert broken[0]["reason"] == "Ana is off shift"
        assert broken[0]["holder"]["operator"] == "Ana First"
        assert events(engine.journal.path, "host_lock_taken")  # type: ignore[union-attr]


@pytest.mark.sshd
async def test_a_wizard_on_a_locked_host_is_told_who_holds_it(tmp_path: Path) -> None:
    """Real OpenSSH: another run holds the lock; the wizard says so at once and at Phase 1."""
    from tests.test_app import SIZE, Recorder, on_screen, open_gates, start, until
    from warungin_tui.app import WarunginApp

    async with RehearsalTarget("healthy", root=tmp_path / "target", transport="openssh") as target:
        first = await guarded_engine(target, tmp_path / "first", "Ana First")
        try:
            await first.run_step("phase1.notify")
            since = json.loads((target.host.project_dir / LOCK_DIR_NAME / "holder").read_text())
            config = load_config(target.config_path)
            notes = Recorder()
            app = WarunginApp(config, target.config_path, journal_dir=tmp_path / "second")
            async with app.run_test(size=SIZE, message_hook=notes) as pilot:
                app = await start(pilot)
                await until(pilot, lambda: notes.has("Host locked"))
                assert notes.has("Ana First") and notes.has(since["since"])
                open_gates(app, "pre")
                app.post_message(RunStepRequested("phase1.notify"))
                await on_screen(pilot, "prompt", timeout=30)
                assert "Ana First" in str(app.screen.message)  # type: ignore[attr-defined]
                await pilot.press("escape")
                await until(pilot, lambda: not app.step_workers())
                assert app.engine is not None
                assert app.engine.run.results["phase1.notify"].attempts == 0
            holder = json.loads((target.host.project_dir / LOCK_DIR_NAME / "holder").read_text())
            assert holder["operator"] == "Ana First"
        finally:
            await first.aclose()
            await first.remote.close()
