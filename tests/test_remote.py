"""The SSH layer against a real OpenSSH sshd on 127.0.0.1 (no mocks of asyncssh)."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncssh
import httpx
import pytest

from tests.faultproxy import FaultProxy
from tests.sshd_fixtures import through_proxy
from warungin_tui import remote as remote_module
from warungin_tui.config import TargetConfig
from warungin_tui.remote import (
    AuthenticationFailed,
    ConnectionLost,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
    Remote,
)
from warungin_tui.sandbox.openssh import OpenSSHServer, find_free_port

pytestmark = pytest.mark.sshd

STREAM_100 = "for i in $(seq 1 100); do echo $i; sleep 0.1; done"


@pytest.fixture(params=["shell", "exec"])
async def remote(
    target_config: TargetConfig, request: pytest.FixtureRequest
) -> AsyncIterator[Remote]:
    """Both ways of running a command: the connection's persistent shell, one exec each."""
    remote = Remote(target_config, persistent_shell=request.param == "shell")
    yield remote
    await remote.close()


async def wait_until(predicate: Callable[[], bool], timeout: float = 10, what: str = "") -> None:
    """Poll `predicate` until true; fail after `timeout` seconds (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(0.02)


def alive(pid: int) -> bool:
    """True while `pid` runs; a zombie counts as gone (PID 1 in a container may not reap)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return not text[text.rindex(")") + 2 :].startswith("Z")


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


class Collector:
    """An on_output callback that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def __call__(self, stream: str, lines: list[str]) -> None:
        self.calls.append((stream, list(lines)))

    def lines(self, stream: str) -> list[str]:
        return [line for s, batch in self.calls if s == stream for line in batch]


def with_known_hosts(target: TargetConfig, path: Path, **changes: object) -> TargetConfig:
    return target.model_copy(update={"known_hosts": str(path), **changes})


# -- commands -----------------------------------------------------------------------------------


async def test_run_returns_exit_status_and_output(
    remote: Remote, openssh_server: OpenSSHServer
) -> None:
    result = await remote.run("echo hello; id -u", timeout=10)
    assert result.exit_status == 0
    assert result.stdout == f"hello\n{os.getuid()}\n"
    assert result.stderr == ""
    assert not result.timed_out
    assert result.command == "echo hello; id -u"
    # One connection serves every command.
    await remote.run("true", timeout=10)
    assert openssh_server.log().count("Accepted publickey") == 1


async def test_nonzero_exit_and_stderr(remote: Remote) -> None:
    result = await remote.run("echo out; echo oops >&2; exit 3", timeout=10)
    assert result.exit_status == 3
    assert (result.stdout, result.stderr) == ("out\n", "oops\n")
    assert not result.timed_out


async def test_streaming_arrives_complete_in_order_in_batches(remote: Remote) -> None:
    collector = Collector()
    result = await remote.run(
        "seq 1 20000; echo warning >&2; printf 'no newline'",
        timeout=30,
        on_output=collector,
    )
    assert result.exit_status == 0
    assert collector.lines("stdout") == [str(i) for i in range(1, 20001)] + ["no newline"]
    assert collector.lines("stderr") == ["warning"]
    assert len([c for c in collector.calls if c[0] == "stdout"]) >= 5
    assert all(len(batch) <= 1000 for _, batch in collector.calls)
    assert result.stdout.endswith("19999\n20000\nno newline")


async def test_trickling_output_is_flushed_while_running(remote: Remote, tmp_path: Path) -> None:
    """A line printed early reaches the callback while the command still runs: the command waits
    for a file that only the callback creates on seeing that line (no wall-clock bound)."""
    seen: list[str] = []
    go_on = tmp_path / "first-seen"

    async def on_output(stream: str, lines: list[str]) -> None:
        seen.extend(lines)
        if "first" in lines:
            go_on.touch()

    result = await remote.run(
        f"echo first; while [ ! -e {go_on} ]; do sleep 0.05; done; echo second",
        timeout=30,
        on_output=on_output,
    )
    assert not result.timed_out, "the first line was held back until the command ended"
    assert result.exit_status == 0
    assert seen == ["first", "second"]


# -- timeouts and cancellation end the command on the host (we are root: signals are ignored) --


async def test_timeout_ends_the_remote_process(remote: Remote, tmp_path: Path) -> None:
    pidfile = tmp_path / "sleep.pid"
    result = await remote.run(f"echo $$ > {pidfile}; exec sleep 300", timeout=1)
    assert result.timed_out
    assert result.exit_status is None
    assert 1 <= result.duration_s < 5
    pid = read_pid(pidfile)
    assert pid is not None
    await wait_until(lambda: not alive(pid), what=f"sleep {pid} to end")


async def test_cancellation_ends_the_remote_process(remote: Remote, tmp_path: Path) -> None:
    pidfile = tmp_path / "sleep.pid"
    task = asyncio.create_task(remote.run(f"echo $$ > {pidfile}; exec sleep 300", timeout=300))
    await wait_until(lambda: read_pid(pidfile) is not None, what="the command to start")
    pid = read_pid(pidfile)
    assert pid is not None and alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_until(lambda: not alive(pid), what=f"sleep {pid} to end")
    # The connection survives a cancelled command.
    assert (await remote.run("echo still here", timeout=10)).stdout == "still here\n"


async def test_client_deadline_closes_a_command_that_ignores_term(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the host-side TERM is ignored the client gives up; KILL follows on the host."""
    monkeypatch.setattr(remote_module, "CLIENT_GRACE_S", 0.5)
    pidfile = tmp_path / "stubborn.pid"
    # An ignored signal stays ignored across exec, so sleep ignores TERM too.
    result = await remote.run(f"trap '' TERM; echo $$ > {pidfile}; exec sleep 300", timeout=1)
    assert result.timed_out
    assert result.exit_status is None
    assert 1.5 <= result.duration_s < 4
    pid = read_pid(pidfile)
    assert pid is not None
    await wait_until(lambda: not alive(pid), timeout=15, what=f"sleep {pid} to be killed")


async def test_failing_callback_propagates_and_ends_the_command(
    remote: Remote, tmp_path: Path
) -> None:
    pidfile = tmp_path / "sleep.pid"

    def explode(stream: str, lines: list[str]) -> None:
        raise RuntimeError("log widget gone")

    with pytest.raises(RuntimeError, match="log widget gone"):
        await remote.run(
            f"echo $$ > {pidfile}; echo hi; exec sleep 300", timeout=10, on_output=explode
        )
    pid = read_pid(pidfile)
    assert pid is not None
    await wait_until(lambda: not alive(pid), what=f"sleep {pid} to end")


# -- host keys ----------------------------------------------------------------------------------


async def test_unknown_host_key_then_trusted(
    target_config: TargetConfig, openssh_server: OpenSSHServer, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "known_hosts"
    # An entry for another port of the same address must not count.
    known_hosts.write_text(openssh_server.known_hosts_line(port=find_free_port()) + "\n")
    remote = Remote(with_known_hosts(target_config, known_hosts))
    with pytest.raises(HostKeyUnknown) as caught:
        await remote.connect()
    error = caught.value
    assert openssh_server.host_key is not None
    assert error.fingerprint == openssh_server.host_key.get_fingerprint("sha256")
    assert error.fingerprint.startswith("SHA256:")
    assert (error.host, error.port, error.key_type) == (
        "127.0.0.1",
        openssh_server.port,
        "ssh-ed25519",
    )
    assert error.public_key == openssh_server.known_hosts_line().split(" ", 1)[1]
    assert str(openssh_server.port) in error.message
    await remote.trust_host_key(error)
    assert openssh_server.known_hosts_line() in known_hosts.read_text().splitlines()
    await remote.connect()
    assert (await remote.run("echo ok", timeout=10)).stdout == "ok\n"
    await remote.close()


async def test_missing_known_hosts_is_unknown_and_trust_creates_it_private(
    target_config: TargetConfig, openssh_server: OpenSSHServer, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "new-ssh-dir" / "known_hosts"
    remote = Remote(with_known_hosts(target_config, known_hosts))
    with pytest.raises(HostKeyUnknown) as caught:
        await remote.run("true", timeout=10)
    await remote.trust_host_key(caught.value)
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    assert stat.S_IMODE(known_hosts.parent.stat().st_mode) == 0o700
    assert known_hosts.read_text() == openssh_server.known_hosts_line() + "\n"
    assert (await remote.run("echo ok", timeout=10)).exit_status == 0
    await remote.close()


@pytest.mark.parametrize("key_type", ["ssh-ed25519", "ecdsa-sha2-nistp256"])
async def test_changed_host_key_is_refused(
    target_config: TargetConfig, openssh_server: OpenSSHServer, tmp_path: Path, key_type: str
) -> None:
    """Another key on record (same or other type) refuses before any login or command."""
    impostor = asyncssh.generate_private_key(key_type).export_public_key().decode()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{openssh_server.port} {impostor}")
    marker = tmp_path / "ran"
    remote = Remote(with_known_hosts(target_config, known_hosts))
    with pytest.raises(HostKeyChanged) as caught:
        await remote.run(f"touch {marker}", timeout=10)
    assert openssh_server.host_key is not None
    assert caught.value.fingerprint == openssh_server.host_key.get_fingerprint("sha256")
    assert caught.value.known_hosts == known_hosts
    assert not marker.exists()
    assert "Accepted publickey" not in openssh_server.log()
    await remote.close()


# -- connection and login failures --------------------------------------------------------------


async def test_wrong_port_is_unreachable_quickly(target_config: TargetConfig) -> None:
    port = find_free_port()
    remote = Remote(target_config.model_copy(update={"port": port}))
    started = time.monotonic()
    with pytest.raises(HostUnreachable) as caught:
        await remote.run("true", timeout=10)
    assert time.monotonic() - started < 2
    assert f"127.0.0.1:{port}" in caught.value.message
    assert not remote.connected


async def test_unauthorized_key_fails_authentication(
    target_config: TargetConfig, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(stranger)
    remote = Remote(target_config.model_copy(update={"identity_file": str(stranger)}))
    with pytest.raises(AuthenticationFailed, match=str(stranger)):
        await remote.connect()


async def test_missing_identity_file_fails_authentication(
    target_config: TargetConfig, tmp_path: Path
) -> None:
    missing = tmp_path / "nope"
    remote = Remote(target_config.model_copy(update={"identity_file": str(missing)}))
    with pytest.raises(AuthenticationFailed, match="No such file"):
        await remote.connect()


# -- concurrency and forwarding -----------------------------------------------------------------


async def test_twenty_concurrent_commands_share_one_connection(
    remote: Remote, openssh_server: OpenSSHServer, tmp_path: Path
) -> None:
    """Every command is in flight at once up to the limit: 5 exec channels (sshd's
    MaxSessions), SHELL_MAX_CONCURRENT in the persistent shell; counted on the host."""
    log = tmp_path / "in-flight.log"
    results = await asyncio.gather(
        *(
            remote.run(f"echo + >> {log}; sleep 0.2; echo {i}; echo - >> {log}", timeout=30)
            for i in range(20)
        )
    )
    assert [r.exit_status for r in results] == [0] * 20
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(20)]
    in_flight = most = 0
    for mark in log.read_text().split():
        in_flight += 1 if mark == "+" else -1
        most = max(most, in_flight)
    limit = 5 if remote.shell_pid is None else remote_module.SHELL_MAX_CONCURRENT
    assert 1 < most <= limit
    assert openssh_server.log().count("Accepted publickey") == 1


async def test_forward_local_reaches_a_server_on_the_host(remote: Remote) -> None:
    body = b'{"status": "ok"}'

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        remote_port = server.sockets[0].getsockname()[1]
        local_port = await remote.forward_local("127.0.0.1", remote_port)
        assert local_port != remote_port
        assert await remote.forward_local("127.0.0.1", remote_port) == local_port  # cached
        async with asyncio.timeout(10), httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{local_port}/health")
        assert response.status_code == 200
        assert response.content == body
    finally:
        server.close()


# -- faults -------------------------------------------------------------------------------------


async def test_killed_session_raises_connection_lost_then_reconnects(
    remote: Remote, openssh_server: OpenSSHServer
) -> None:
    collector = Collector()
    task = asyncio.create_task(remote.run(STREAM_100, timeout=60, on_output=collector))
    await wait_until(lambda: "3" in collector.lines("stdout"), what="the first lines")
    pids = openssh_server.session_pids()
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    async with asyncio.timeout(5):
        with pytest.raises(ConnectionLost) as caught:
            await task
    partial = caught.value.partial
    assert partial.stdout.startswith("1\n2\n3\n")
    assert partial.exit_status is None
    assert "100\n" not in partial.stdout
    assert not remote.connected
    result = await remote.run("echo back", timeout=10)
    assert result.stdout == "back\n"
    assert openssh_server.log().count("Accepted publickey") == 2


async def test_stalled_network_raises_connection_lost_via_keepalive(
    target_config: TargetConfig, openssh_server: OpenSSHServer, tmp_path: Path
) -> None:
    async with FaultProxy(openssh_server.host, openssh_server.port) as proxy:
        target = through_proxy(target_config, openssh_server, proxy.port, tmp_path)
        remote = Remote(target, keepalive_interval=1, keepalive_count_max=2)
        collector = Collector()
        task = asyncio.create_task(remote.run(STREAM_100, timeout=60, on_output=collector))
        await wait_until(lambda: "2" in collector.lines("stdout"), what="the first lines")
        proxy.stall()
        started = time.monotonic()
        async with asyncio.timeout(10):
            with pytest.raises(ConnectionLost) as caught:
                await task
        assert time.monotonic() - started < 10
        assert caught.value.partial.stdout.startswith("1\n2\n")
        assert not remote.connected
        await remote.close()
