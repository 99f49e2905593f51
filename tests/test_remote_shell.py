"""The persistent remote shell (remote_shell.py) against a real OpenSSH sshd: many commands in
flight over its one channel, hostile output, host-side kills, disconnects and the fallback to
one exec channel per command."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.test_remote import Collector, alive, read_pid, wait_until
from warungin_tui.config import TargetConfig
from warungin_tui.hostrecords import HostState, parse_probe, probe_command, record_dir
from warungin_tui.remote import (
    MAX_KEPT_CHARS,
    MAX_LINE_CHARS,
    CommandResult,
    ConnectionLost,
    Remote,
)
from warungin_tui.sandbox.openssh import OpenSSHServer

pytestmark = pytest.mark.sshd


@pytest.fixture
def host_tmp(tmp_path: Path) -> Path:
    """The sessions' TMPDIR: where the shell makes its private folder (seen from the test)."""
    folder = tmp_path / "host-tmp"
    folder.mkdir()
    return folder


@pytest.fixture
def server(tmp_path: Path, host_tmp: Path) -> Iterator[OpenSSHServer]:
    with OpenSSHServer(tmp_path / "sshd", env={"TMPDIR": str(host_tmp)}) as server:
        yield server


def target_for(server: OpenSSHServer, tmp_path: Path) -> TargetConfig:
    return TargetConfig(
        host=server.host,
        port=server.port,
        user=server.user,
        project_dir=str(tmp_path),
        known_hosts=str(server.known_hosts_path),
        identity_file=str(server.client_key_path),
    )


@pytest.fixture
async def remote(server: OpenSSHServer, tmp_path: Path) -> AsyncIterator[Remote]:
    remote = Remote(target_for(server, tmp_path), max_concurrent=8)
    yield remote
    await remote.close()


def shell_folders(host_tmp: Path) -> list[Path]:
    return sorted(host_tmp.glob("warungin-tui-sh.*"))


async def start_sleep(
    remote: Remote, pidfile: Path, record: str | None = None
) -> tuple[asyncio.Task[CommandResult], int]:
    """`sleep 300` on the host as a running command; its task and its pid once it started."""
    task = asyncio.create_task(
        remote.run(f"echo $$ > {pidfile}; exec sleep 300", timeout=300, record=record)
    )
    await wait_until(lambda: read_pid(pidfile) is not None, what="the command to start")
    pid = read_pid(pidfile)
    assert pid is not None
    return task, pid


async def test_concurrent_commands_run_together_in_one_shell_outputs_apart(
    remote: Remote, server: OpenSSHServer, host_tmp: Path, tmp_path: Path
) -> None:
    """Eight commands are in flight at once (each waits until all eight have started, which
    one-at-a-time could never do) and each gets exactly its own output and exit status."""
    gate = tmp_path / "gate"
    gate.mkdir()
    count = 8

    def command(i: int) -> str:
        return (
            f"touch {gate}/{i}; while [ $(ls {gate} | wc -l) -lt {count} ]; do sleep 0.02; done; "
            f"for n in 1 2 3; do echo out-{i}-$n; echo err-{i}-$n >&2; done; exit {i}"
        )

    collectors = [Collector() for _ in range(count)]
    results = await asyncio.gather(
        *(remote.run(command(i), timeout=30, on_output=collectors[i]) for i in range(count))
    )
    for i, result in enumerate(results):
        assert result.exit_status == i
        assert result.stdout == "".join(f"out-{i}-{n}\n" for n in (1, 2, 3))
        assert result.stderr == "".join(f"err-{i}-{n}\n" for n in (1, 2, 3))
        assert collectors[i].lines("stdout") == [f"out-{i}-{n}" for n in (1, 2, 3)]
    assert remote.shell_fallback is None
    folders = shell_folders(host_tmp)
    assert len(folders) == 1, "one shell served every command"
    # Each command's files are gone before its end is reported; the lock FIFO stays.
    assert sorted(path.name for path in folders[0].iterdir()) == ["lock"]
    assert stat.S_IMODE(folders[0].stat().st_mode) == 0o700
    assert server.log().count("Accepted publickey") == 1
    await remote.close()
    await wait_until(lambda: not shell_folders(host_tmp), what="the shell to remove its folder")


async def test_hostile_output_passes_untouched_while_others_run(
    remote: Remote, tmp_path: Path
) -> None:
    """Binary bytes, a 3 MB line, output without a last newline and lines that look like the
    shell's own frames, all at once: each result is exactly what its command printed."""
    binary = tmp_path / "binary"
    framing = "1 o 5\n0 r 1 1\n2 x 0\n7 e 99999\nj 9 1 reboot x\nk 1\n"
    huge = Collector()
    results = await asyncio.gather(
        remote.run(f"head -c 300000 /dev/urandom | tee {binary}", timeout=30),
        remote.run("head -c 3000000 /dev/zero | tr '\\0' x", timeout=30, on_output=huge),
        remote.run("printf 'first\\nno newline at the end'", timeout=30),
        remote.run(f"printf '{framing}'; printf '{framing}' >&2; printf '1 x 9'", timeout=30),
        remote.run("printf 'a\\0b\\r\\n\\377\\376 done\\n'", timeout=30),
    )
    assert [r.exit_status for r in results] == [0] * 5
    assert results[0].stdout == binary.read_bytes().decode("utf-8", "replace")
    assert results[1].stdout == "x" * MAX_KEPT_CHARS
    cut = 3_000_000 - MAX_LINE_CHARS
    assert huge.lines("stdout") == ["x" * MAX_LINE_CHARS + f" [... {cut} more characters cut]"]
    assert results[2].stdout == "first\nno newline at the end"
    assert results[3].stdout == framing + "1 x 9"
    assert results[3].stderr == framing
    assert results[4].stdout == "a\0b\r\n\ufffd\ufffd done\n"


async def test_recorded_command_leaves_its_record_and_the_host_can_be_asked(
    remote: Remote,
) -> None:
    record = f"shell-test-{uuid.uuid4().hex[:8]}/step-1"
    folder = Path.home() / ".cache/warungin-tui/runs" / record
    try:
        result = await remote.run(
            "echo recorded; echo warned >&2; exit 4", timeout=30, record=record_dir(record)
        )
        assert (result.exit_status, result.stdout, result.stderr) == (4, "recorded\n", "warned\n")
        assert (folder / "status").read_text() == "4\n"
        assert (folder / "out").read_text() == "recorded\n"
        assert (folder / "err").read_text() == "warned\n"
        answer = parse_probe((await remote.run(probe_command(record), timeout=30)).stdout)
        assert (answer.state, answer.status) == (HostState.FINISHED, 4)
    finally:
        await remote.run(f"rm -rf -- {record_dir(record.split('/')[0])}", timeout=30)


async def test_cancelling_a_recorded_command_ends_it_on_the_host(
    remote: Remote, tmp_path: Path
) -> None:
    record = f"shell-test-{uuid.uuid4().hex[:8]}/step-1"
    folder = Path.home() / ".cache/warungin-tui/runs" / record
    pidfile = tmp_path / "sleep.pid"
    try:
        task, pid = await start_sleep(remote, pidfile, record_dir(record))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_until(lambda: not alive(pid), what=f"sleep {pid} to end")
        await wait_until(lambda: (folder / "status").exists(), what="the status on the host")
        assert (folder / "status").read_text() == f"{128 + signal.SIGTERM}\n"
    finally:
        await remote.run(f"rm -rf -- {record_dir(record.split('/')[0])}", timeout=30)


async def test_lost_connection_interrupts_every_command_and_the_host_ends_them(
    remote: Remote, server: OpenSSHServer, tmp_path: Path
) -> None:
    pidfiles = [tmp_path / f"sleep-{i}.pid" for i in range(3)]
    tasks = [
        asyncio.create_task(remote.run(f"echo $$ > {p}; echo up; exec sleep 300", timeout=300))
        for p in pidfiles
    ]
    await wait_until(lambda: all(read_pid(p) for p in pidfiles), what="the commands to start")
    pids = [read_pid(p) for p in pidfiles]
    for pid in server.session_pids():
        os.kill(pid, signal.SIGKILL)
    for task in tasks:
        async with asyncio.timeout(10):
            with pytest.raises(ConnectionLost, match="connection lost") as caught:
                await task
        assert caught.value.partial.exit_status is None
    assert not remote.connected
    # The shell saw its stdin end and stopped what it ran (root ignores SSH signals).
    for pid in pids:
        assert pid is not None
        await wait_until(lambda pid=pid: not alive(pid), what=f"sleep {pid} to end")
    assert (await remote.run("echo back", timeout=10)).stdout == "back\n"
    assert remote.shell_pid is not None


async def test_closing_the_remote_ends_commands_still_running(
    remote: Remote, tmp_path: Path
) -> None:
    pidfile = tmp_path / "sleep.pid"
    task, pid = await start_sleep(remote, pidfile)
    await remote.close()
    with pytest.raises(ConnectionLost):
        await task
    await wait_until(lambda: not alive(pid), what=f"sleep {pid} to end")


async def test_without_a_usable_shell_each_command_gets_its_own_channel_and_says_so_once(
    tmp_path: Path,
) -> None:
    """A TMPDIR that does not exist: the shell cannot make its private folder."""
    missing = tmp_path / "no-such-dir"
    with OpenSSHServer(tmp_path / "sshd", env={"TMPDIR": str(missing)}) as server:
        remote = Remote(target_for(server, tmp_path))
        try:
            first, second = Collector(), Collector()
            result = await remote.run("echo one; exit 3", timeout=10, on_output=first)
            assert (result.exit_status, result.stdout, result.stderr) == (3, "one\n", "")
            assert remote.shell_fallback is not None
            assert "mktemp" in remote.shell_fallback
            assert remote.shell_pid is None
            notices = [line for line in first.lines("stderr") if "own session" in line]
            assert len(notices) == 1 and "mktemp" in notices[0]
            result = await remote.run("echo two >&2", timeout=10, on_output=second)
            assert (result.exit_status, result.stderr) == (0, "two\n")
            assert second.lines("stderr") == ["two"]
        finally:
            await remote.close()


async def test_a_shell_killed_mid_command_interrupts_it_then_commands_fall_back(
    remote: Remote, tmp_path: Path
) -> None:
    pidfile = tmp_path / "sleep.pid"
    task, pid = await start_sleep(remote, pidfile)
    assert remote.shell_pid is not None
    try:
        os.kill(remote.shell_pid, signal.SIGKILL)
        with pytest.raises(ConnectionLost, match="remote shell stopped"):
            async with asyncio.timeout(10):
                await task
        assert remote.connected, "the connection itself is fine"
        collector = Collector()
        result = await remote.run("echo still works", timeout=10, on_output=collector)
        assert result.stdout == "still works\n"
        assert remote.shell_fallback is not None and "stopped" in remote.shell_fallback
        assert any("own session" in line for line in collector.lines("stderr"))
    finally:
        if alive(pid):  # nobody was left to stop it: the test does
            os.kill(pid, signal.SIGKILL)


async def test_a_login_script_that_prints_does_not_stop_the_shell(tmp_path: Path) -> None:
    """The user's login shell runs BASH_ENV first: what it prints precedes the driver's ready
    line and must neither break the protocol nor reach a command's output."""
    noise = tmp_path / "noise.sh"
    noise.write_text("echo 'Welcome to the store server'; printf '0 o 9 and no newline'\n")
    env = {"BASH_ENV": str(noise), "TMPDIR": str(tmp_path)}
    with OpenSSHServer(tmp_path / "sshd", env=env) as server:
        remote = Remote(target_for(server, tmp_path))
        try:
            result = await remote.run("echo hi", timeout=10)
            assert (result.exit_status, result.stdout) == (0, "hi\n")
            assert remote.shell_pid is not None and remote.shell_fallback is None
        finally:
            await remote.close()
