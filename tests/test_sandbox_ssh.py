"""The rehearsal target over SSH: the in-process asyncssh server (commands, exit codes, stdin,
port forwarding, auth), the ssh-drop cut, and that RehearsalTarget leaves nothing running.

One OpenSSH test covers the shim's sshd kill for ssh-drop (skipped without openssh-server).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest

from warungin_tui.config import SEED_SERVICES, load_config
from warungin_tui.sandbox import scenarios
from warungin_tui.sandbox.sshserver import _split_marker
from warungin_tui.sandbox.state import port_open, start_time
from warungin_tui.sandbox.target import RehearsalTarget


async def gone(pid: int, timeout: float = 5.0) -> bool:
    """Poll until `pid` has ended (a zombie counts as ended); False after `timeout`."""
    deadline = time.monotonic() + timeout
    while start_time(pid) is not None:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def test_split_marker_holds_back_only_a_possible_marker() -> None:
    marker = scenarios.DROP_MARKER.encode()
    assert _split_marker(b"a\nb") == (b"a\nb", b"", False)
    assert _split_marker(b"a\n" + marker[:5]) == (b"a\n", marker[:5], False)
    assert _split_marker(b"a\n" + marker + b"\nrest\n") == (b"a\n", b"", True)


# -- over SSH (in-process asyncssh server) ------------------------------------------------------


def _connect(target: RehearsalTarget, **options: Any) -> Any:
    server = target.server
    assert server is not None
    settings: dict[str, Any] = {
        "known_hosts": str(server.known_hosts_path),
        "client_keys": [str(server.client_key_path)],
        "username": server.user,
    }
    return asyncssh.connect("127.0.0.1", server.port, **(settings | options))


async def test_target_over_asyncssh_runs_commands_and_forwards_ports() -> None:
    async with RehearsalTarget(build_seconds=0.3) as target:
        config = load_config(target.config_path)
        assert oct(target.config_path.stat().st_mode & 0o777) == "0o600"
        assert config.target.port == target.port and config.release.version == "1.1.0"
        assert config.services.expected == SEED_SERVICES
        assert config.endpoints.frontend == target.host.frontend_url
        async with _connect(target) as conn:
            done = await conn.run(f"cd {config.target.project_dir} && docker compose ps")
            assert done.exit_status == 0 and "warungin-cloudflared" in done.stdout
            status = await conn.run("echo oops >&2; cat; exit 7", input="in")
            assert (status.exit_status, status.stdout, status.stderr) == (7, "in", "oops\n")
            listener = await conn.forward_local_port(
                "127.0.0.1", 0, "127.0.0.1", target.host.port("backend")
            )
            async with httpx.AsyncClient() as client:
                url = f"http://127.0.0.1:{listener.get_port()}/api/health"
                assert (await client.get(url)).json()["version"] == "1.0.0"
            listener.close()
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.open_connection("192.0.2.1", 80)  # only loopback is forwarded
            process = await conn.create_process("echo $$; exec sleep 60")
            pid = int(await process.stdout.readline())
            process.close()  # closing the channel ends the remote command
            assert await gone(pid)
        stranger = asyncssh.generate_private_key("ssh-ed25519")
        with pytest.raises(asyncssh.PermissionDenied):
            await _connect(target, client_keys=[stranger])


@pytest.mark.parametrize(
    "transport",
    [
        "asyncssh",
        pytest.param(
            "openssh",
            marks=[
                pytest.mark.sshd,
                pytest.mark.skipif(
                    not Path("/usr/sbin/sshd").exists(), reason="needs openssh-server"
                ),
            ],
        ),
    ],
)
async def test_ssh_drop_cuts_the_connection_mid_build(transport: str) -> None:
    """In-process: the marker line makes the server abort; OpenSSH: the shim kills its sshd."""
    async with RehearsalTarget("ssh-drop", transport=transport, build_seconds=0.5) as target:
        build = f"cd {target.host.project_dir} && docker compose build"
        received: list[str] = []
        with pytest.raises((asyncssh.ConnectionLost, asyncssh.DisconnectError)):
            async with _connect(target) as conn:
                process = await conn.create_process(build)
                async for line in process.stderr:
                    received.append(line)
                await process.wait()
        assert len(received) >= 3 and received[0].startswith("#0 building with")
        assert not any(scenarios.DROP_MARKER in line for line in received)
        async with _connect(target) as conn:  # reconnect: the retry succeeds
            retry = await conn.run(build)
            assert retry.exit_status == 0 and "Service frontend  Built" in retry.stderr


async def test_target_leaves_nothing_running() -> None:
    target = RehearsalTarget()
    async with target:
        host, root, ssh_port = target.host, target.root, target.port
        ports = [host.port(kind) for kind in ("backend", "frontend", "nginx")] + [ssh_port]
        pids = host.server_pids()
        conn = await _connect(target)  # left open: closing the target must end its command
        process = await conn.create_process("echo $$; exec sleep 60")
        pids.append(int(await process.stdout.readline()))
        assert len(pids) == 4 and all(start_time(pid) for pid in pids)
    conn.close()
    assert all(start_time(pid) is None for pid in pids)  # gone (a zombie counts as gone)
    assert not any(port_open(port) for port in ports)
    assert not root.exists()


async def test_target_cleans_up_after_an_error_inside() -> None:
    target = RehearsalTarget()
    with pytest.raises(RuntimeError, match="boom"):
        async with target:
            pids, port = target.host.server_pids(), target.host.port("backend")
            raise RuntimeError("boom")
    assert pids and all(start_time(pid) is None for pid in pids)
    assert not port_open(port) and not target.root.exists()


async def test_cancelled_start_leaves_nothing_behind(tmp_path: Path) -> None:
    target = RehearsalTarget(root=tmp_path / "cancelled")
    task = asyncio.ensure_future(target.__aenter__())
    deadline = time.monotonic() + 10
    while not (tmp_path / "cancelled" / "project").exists():  # cancel inside host creation
        assert time.monotonic() < deadline and not task.done()
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert target.host.server_pids() == []
    assert (tmp_path / "cancelled").exists()  # a given root is kept
