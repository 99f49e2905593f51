"""The benchmark's SSH target: the rehearsal host over a real OpenSSH sshd, reachable directly
and through the latency proxy (a separate process, so its work never shares our event loop)."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from warungin_tui.config import Config, parse_config
from warungin_tui.sandbox.openssh import OpenSSHServer
from warungin_tui.sandbox.target import RehearsalTarget

HERE = Path(__file__).resolve().parent


@dataclass
class Link:
    """One way to reach the target: sshd's own port, or the proxy's with an added RTT."""

    label: str
    rtt_ms: float
    port: int
    config: Config
    config_path: Path
    known_hosts: Path
    server: OpenSSHServer

    def ssh_argv(self, command: str) -> list[str]:
        """The playbook's way: one `ssh` process for one command."""
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-q",
            "-i",
            str(self.server.client_key_path),
            "-p",
            str(self.port),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            f"{self.server.user}@127.0.0.1",
            command,
        ]


class ProxyProcess:
    """benchmarks/latency_proxy.py in its own process; `port` once started."""

    def __init__(self, target_port: int, rtt_ms: float) -> None:
        self.target_port = target_port
        self.rtt_ms = rtt_ms
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> ProxyProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "latency_proxy.py"),
            str(self.target_port),
            "--rtt-ms",
            str(self.rtt_ms),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 30)
        self.port = int(line)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()


def link_for(target: RehearsalTarget, port: int, rtt_ms: float, folder: Path) -> Link:
    """A config (file and model) reaching the rehearsal target at 127.0.0.1:`port`."""
    server = target.server
    assert isinstance(server, OpenSSHServer)
    folder.mkdir(parents=True, exist_ok=True)
    known_hosts = folder / "known_hosts"
    known_hosts.write_text(server.known_hosts_line(port) + "\n")
    data: dict[str, Any] = target.config()
    data["target"].update(port=port, known_hosts=str(known_hosts))
    data["archive"] = {"dir": str(folder / "archive"), "journal_dir": str(folder / "journal")}
    path = folder / "config.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(tomli_w.dumps(data))
    label = "direct" if not rtt_ms else f"{rtt_ms:g} ms RTT"
    return Link(label, rtt_ms, port, parse_config(data, path), path, known_hosts, server)
