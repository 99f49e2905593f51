"""Pytest fixtures for a real sshd on 127.0.0.1 (registered by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from warungin_tui.config import TargetConfig
from warungin_tui.sandbox.openssh import OpenSSHServer


@pytest.fixture
def openssh_server(tmp_path: Path) -> Iterator[OpenSSHServer]:
    """A fresh sshd per test (starts in ~30 ms), so fault injection cannot leak between tests."""
    server = OpenSSHServer(tmp_path / "sshd")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def target_config(openssh_server: OpenSSHServer, tmp_path: Path) -> TargetConfig:
    """A target pointing at `openssh_server` with its client key and known_hosts."""
    project = tmp_path / "project"
    project.mkdir()
    return TargetConfig(
        host=openssh_server.host,
        port=openssh_server.port,
        user=openssh_server.user,
        project_dir=str(project),
        known_hosts=str(openssh_server.known_hosts_path),
        identity_file=str(openssh_server.client_key_path),
    )


def through_proxy(
    target: TargetConfig, server: OpenSSHServer, proxy_port: int, folder: Path
) -> TargetConfig:
    """`target` reached through a loopback proxy: the server's key recorded for the proxy's port."""
    known_hosts = folder / "proxy_known_hosts"
    known_hosts.write_text(server.known_hosts_line(port=proxy_port) + "\n")
    return target.model_copy(update={"port": proxy_port, "known_hosts": str(known_hosts)})
