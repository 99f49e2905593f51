"""Benchmarks, reported as ratios against a baseline measured in the same run (never wall limits).

1. The playbook's way (one `ssh` process per command) vs. warungin-tui's (one asyncssh
   connection reused): 20 short commands each.
2. Streaming 100,000 output lines through the engine (redaction + fsynced journal batches) vs.
   the bare Remote reading the same output: the engine's recording overhead.

Run: python benchmarks/bench_remote.py   (needs Debian's openssh-server; loopback only)
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from warungin_tui.config import parse_config
from warungin_tui.engine.engine import Engine
from warungin_tui.engine.run import Run
from warungin_tui.journal import Journal
from warungin_tui.playbook import build_playbook
from warungin_tui.remote import Remote
from warungin_tui.sandbox.openssh import OpenSSHServer

COMMANDS = 20
LINES = 100_000
ROUNDS = 3


def config_for(server: OpenSSHServer, project: Path) -> dict:
    return {
        "target": {
            "host": server.host,
            "port": server.port,
            "user": server.user,
            "project_dir": str(project),
            "known_hosts": str(server.known_hosts_path),
            "identity_file": str(server.client_key_path),
        },
        "release": {"version": "1.1.0"},
        "endpoints": {"frontend": "http://127.0.0.1:9"},
    }


def ssh_per_command(server: OpenSSHServer) -> float:
    started = time.perf_counter()
    for _ in range(COMMANDS):
        subprocess.run(
            [
                "ssh",
                "-q",
                "-i",
                str(server.client_key_path),
                "-p",
                str(server.port),
                "-o",
                f"UserKnownHostsFile={server.known_hosts_path}",
                "-o",
                "BatchMode=yes",
                f"{server.user}@{server.host}",
                "true",
            ],
            check=True,
            timeout=30,
        )
    return time.perf_counter() - started


async def one_connection(remote: Remote) -> float:
    started = time.perf_counter()
    for _ in range(COMMANDS):
        await remote.run("true", timeout=30)
    return time.perf_counter() - started


async def bare_stream(remote: Remote) -> float:
    started = time.perf_counter()
    await remote.run(f"seq 1 {LINES}", timeout=60, on_output=lambda stream, lines: None)
    return time.perf_counter() - started


async def engine_stream(config, remote: Remote, journal_dir: Path) -> float:
    playbook = build_playbook(config)
    engine = Engine(
        config, Run(playbook), Journal(journal_dir / "bench.jsonl"), remote, enforce_gates=False
    )
    # A one-off command through the engine's recording path (redaction, journal, fold).
    spec = playbook.step("pre.server_accessible").model_copy(update={"command": f"seq 1 {LINES}"})
    started = time.perf_counter()
    await engine._execute(spec)
    elapsed = time.perf_counter() - started
    assert engine.run.results[spec.id].output_lines == LINES
    await engine.aclose()
    return elapsed


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, OpenSSHServer(Path(tmp) / "sshd") as server:
        project = Path(tmp) / "project"
        project.mkdir()
        config = parse_config(config_for(server, project))
        remote = Remote(config.target)
        await remote.connect()
        baseline, candidate, bare, recorded = [], [], [], []
        for round_ in range(ROUNDS):
            baseline.append(ssh_per_command(server))
            candidate.append(await one_connection(remote))
            bare.append(await bare_stream(remote))
            recorded.append(await engine_stream(config, remote, Path(tmp) / f"j{round_}"))
        await remote.close()
    b, c = statistics.median(baseline), statistics.median(candidate)
    print(
        f"{COMMANDS} commands: ssh per command {b * 1000:.0f} ms, one connection "
        f"{c * 1000:.0f} ms -> {b / c:.1f}x faster"
    )
    s, r = statistics.median(bare), statistics.median(recorded)
    print(
        f"{LINES} lines: bare Remote {s * 1000:.0f} ms, through the engine with journal "
        f"{r * 1000:.0f} ms -> recording costs {r / s:.2f}x"
    )


if __name__ == "__main__":
    asyncio.run(main())
