"""`demo --serve` + `check` as a person would use them in two terminals; nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import processes_mentioning
from tests.helpers import REPO, cli_argv, wait_until
from warungin_tui.config import load_config


def start_serve(scenario: str, tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        cli_argv("demo", "--serve", "--scenario", scenario),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("config: "):
            return proc, Path(line.removeprefix("config: ").strip())
        if not line and proc.poll() is not None:
            break
    proc.kill()
    pytest.fail(
        f"demo --serve did not print its config: {proc.stderr.read() if proc.stderr else ''}"
    )


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_serve(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)


@pytest.mark.parametrize(("scenario", "code"), [("healthy", 0), ("stale-backup", 1)])
def test_check_pre_against_demo_serve(scenario: str, code: int, tmp_path: Path) -> None:
    proc, config_path = start_serve(scenario, tmp_path)
    try:
        config = load_config(config_path)
        ports = [
            config.target.port,
            int(config.endpoints.api.rsplit(":", 1)[1]),
            int(config.endpoints.frontend.rsplit(":", 1)[1].split("/")[0]),
        ]
        assert all(port_open(p) for p in ports)
        result = subprocess.run(
            cli_argv("check", "--phase", "pre", "--json", "--config", str(config_path)),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == code, result.stdout + result.stderr
        rows = json.loads(result.stdout)
        assert {"id", "title", "status", "detail", "duration_s"} <= set(rows[0])
        statuses = {row["id"]: row["status"] for row in rows}
        assert statuses["pre.db_backups_recent"] == ("passed" if code == 0 else "failed")
        table = subprocess.run(
            cli_argv("check", "--phase", "pre", "--config", str(config_path)),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert table.returncode == code and "pre.docker_running" in table.stdout
        monitor = subprocess.run(
            cli_argv("monitor", "--once", "--config", str(config_path)),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert monitor.returncode == 0, monitor.stdout + monitor.stderr
        assert "Hour 1-2: service health: 8/8 running, all healthy" in monitor.stdout
        # Before any deployment the host still runs 1.0.0: the Phase 3 probes must say so.
        verify = subprocess.run(
            cli_argv("check", "--phase", "verify", "--json", "--config", str(config_path)),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert verify.returncode == 1
        health = next(r for r in json.loads(verify.stdout) if r["id"] == "phase3.health")
        assert "expected '1.1.0'" in health["detail"]
    finally:
        stop_serve(proc)
    assert proc.returncode == 0
    assert not config_path.exists(), "the temporary target folder is removed on exit"
    wait_until(lambda: not any(port_open(p) for p in ports), timeout=10)
    assert processes_mentioning(str(config_path.parent)) == []


def test_check_unreachable_host_exits_2_with_one_line(tmp_path: Path) -> None:
    sample = (REPO / "sample_config.toml").read_text()
    sample = sample.replace('host = "warungin.example.internal"', 'host = "127.0.0.1"')
    sample = sample.replace("port = 22 ", "port = 9 ")
    path = tmp_path / "c.toml"
    path.write_text(sample)
    result = subprocess.run(
        cli_argv("check", "--config", str(path)), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "unreachable" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_check_unknown_host_key_exits_2_with_fingerprint(tmp_path: Path) -> None:
    proc, config_path = start_serve("healthy", tmp_path)
    try:
        config = load_config(config_path)
        Path(config.target.known_hosts).write_text("")
        result = subprocess.run(
            cli_argv("check", "--config", str(config_path)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert "SHA256:" in result.stderr and "Traceback" not in result.stderr
    finally:
        stop_serve(proc)
