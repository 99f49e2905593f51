"""The rehearsal host: the emulated docker's output formats and every scenario's behaviour,
seen by running `docker` directly (the SSH side is in test_sandbox_ssh.py).

No fixed sleeps: state is polled with deadlines.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from warungin_tui.config import SEED_SERVICES
from warungin_tui.sandbox import scenarios
from warungin_tui.sandbox.host import RehearsalHost

T = TypeVar("T")
PS_KEYS = {
    "Name",
    "Service",
    "State",
    "Health",
    "Status",
    "Image",
    "ID",
    "CreatedAt",
    "Project",
    "Publishers",
}
NO_HEALTHCHECK = {"loki", "promtail", "cloudflared"}
SESSIONS_SQL = "SELECT COUNT(*) as active_sessions FROM sessions WHERE expires_at > NOW();"


# -- helpers ---------------------------------------------------------------------------------


def wait_for(probe: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def docker(
    host: RehearsalHost, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`docker ARGS` with the host's bin/ first on PATH, run in the project folder."""
    env = {**os.environ, "PATH": f"{host.bin_dir}:{os.environ['PATH']}"}
    env.pop("WARUNGIN_SANDBOX_SSH", None)
    return subprocess.run(
        ["docker", *args],
        cwd=cwd or host.project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def git(host: RehearsalHost, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", *args], cwd=host.project_dir, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def ps(host: RehearsalHost) -> dict[str, dict[str, Any]]:
    done = docker(host, "compose", "ps", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return {row["Service"]: row for row in rows}


def health(host: RehearsalHost) -> httpx.Response:
    return httpx.get(f"{host.api_url}/api/health", timeout=5)


def psql(host: RehearsalHost, sql: str) -> subprocess.CompletedProcess[str]:
    return docker(
        host,
        "compose",
        "exec",
        "-T",
        "postgres",
        "psql",
        "-U",
        "warungin",
        "-d",
        "warungin",
        "-c",
        sql,
    )


def deploy(host: RehearsalHost, *services: str) -> None:
    """The playbook's core: pull, build, up (recreates what the build changed)."""
    git(host, "pull", "-q", "origin", "main")
    assert docker(host, "compose", "build").returncode == 0
    assert docker(host, "compose", "up", "-d", *services).returncode == 0


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator[Callable[[str], RehearsalHost]]:
    hosts: list[RehearsalHost] = []

    def make(scenario: str = "healthy") -> RehearsalHost:
        host = RehearsalHost(tmp_path / scenario, scenario, build_seconds=0.3)
        hosts.append(host)
        host.create()
        return host

    yield make
    for host in hosts:
        host.stop_all()
        assert host.server_pids() == []


@pytest.fixture
def host(make_host: Callable[[str], RehearsalHost]) -> RehearsalHost:
    return make_host("healthy")


# -- the host as created ---------------------------------------------------------------------


def test_created_host_is_production_before_the_deployment(host: RehearsalHost) -> None:
    assert (host.project_dir / "VERSION").read_text().strip() == "1.0.0"
    assert "up to date with 'origin/main'" in git(host, "status")
    assert not (host.state_dir.resolve()).is_relative_to(host.project_dir.resolve())
    git(host, "fetch", "-q", "origin")
    assert git(host, "rev-list", "--count", "HEAD..origin/main").strip() == "1"
    git(host, "pull", "-q", "origin", "main")
    assert (host.project_dir / "VERSION").read_text().strip() == "1.1.0"
    assert all((host.project_dir / path).is_file() for path in host.release_added_files)
    dumps = sorted(host.db_backups_dir.glob("warungin-*.sql.gz"), key=lambda p: p.stat().st_mtime)
    assert len(dumps) >= 3 and all(
        re.fullmatch(r"warungin-\d{8}-\d{4}\.sql\.gz", p.name) for p in dumps
    )
    assert b"PostgreSQL database dump" in gzip.decompress(dumps[-1].read_bytes())
    age_hours = (time.time() - dumps[-1].stat().st_mtime) / 3600
    assert 0.9 < age_hours < 1.1
    assert host.backup_dir.is_dir() and not any(host.backup_dir.iterdir())
    body = health(host).json()
    assert body["status"] == "ok" and body["version"] == "1.0.0"
    page = httpx.get(host.frontend_url, timeout=5)
    assert page.status_code == 200 and "<title>Warungin POS</title>" in page.text


def test_ps_json_lines_describe_every_service(host: RehearsalHost) -> None:
    rows = ps(host)
    assert list(rows) == SEED_SERVICES
    for service, row in rows.items():
        assert PS_KEYS <= row.keys()
        assert row["Name"] == f"warungin-{service}" and row["State"] == "running"
        assert isinstance(row["Publishers"], list) and row["Project"] == "warungin"
        expected = "" if service in NO_HEALTHCHECK else "healthy"
        assert row["Health"] == expected
        assert row["Status"] == "Up 3 days" + (" (healthy)" if expected else "")


def test_ps_table_layout(host: RehearsalHost) -> None:
    lines = docker(host, "compose", "ps").stdout.splitlines()
    header = lines[0]
    assert header.split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    status_col = header.index("STATUS")
    backend = next(line for line in lines if line.startswith("warungin-backend "))
    assert backend[status_col:].startswith("Up 3 days (healthy)")
    assert f"127.0.0.1:{host.port('backend')}->8000/tcp" in backend
    assert '"uvicorn app.main:ap…"' in backend  # docker's 20-character command column


def test_psql_prints_like_real_psql(host: RehearsalHost) -> None:
    done = psql(host, SESSIONS_SQL)
    assert done.returncode == 0
    assert done.stdout == " active_sessions \n-----------------\n               0\n(1 row)\n\n"
    version = psql(host, "SELECT version();").stdout.splitlines()
    width = len(version[1])
    assert version[0].strip() == "version" and len(version[0]) == width
    assert set(version[1]) == {"-"}
    assert re.fullmatch(r" PostgreSQL 15\.\d+ on x86_64-\S+, compiled by .*, 64-bit", version[2])
    assert len(version[2]) == width - 1 and version[3:] == ["(1 row)", ""]
    wrong = docker(host, "compose", "exec", "postgres", "psql", "-U", "nobody", "-c", "SELECT 1")
    assert wrong.returncode == 2 and 'role "nobody" does not exist' in wrong.stderr


def test_down_stops_servers_and_up_restarts_them(host: RehearsalHost) -> None:
    down = docker(host, "compose", "down")
    assert down.returncode == 0
    assert " Container warungin-backend  Stopped" in down.stderr.splitlines()
    assert " Container warungin-backend  Removed" in down.stderr.splitlines()
    with pytest.raises(httpx.ConnectError):
        health(host)
    assert ps(host) == {}
    failed = psql(host, "SELECT 1")
    assert failed.returncode == 1 and 'service "postgres" is not running' in failed.stderr
    up = docker(host, "compose", "up", "-d", "postgres", "redis", "backend")
    assert " Container warungin-backend  Started" in up.stderr.splitlines()
    assert health(host).status_code == 200
    assert set(ps(host)) == {"postgres", "redis", "backend"}
    pid = host.state()["services"]["backend"]["pid"]
    again = docker(host, "compose", "up", "-d", "backend")
    assert " Container warungin-backend  Running" in again.stderr.splitlines()
    assert host.state()["services"]["backend"]["pid"] == pid


def test_build_snapshots_version_and_up_recreates(host: RehearsalHost) -> None:
    git(host, "pull", "-q", "origin", "main")
    build = docker(host, "compose", "build")
    assert build.returncode == 0 and " ✔ Service backend  Built" in build.stderr
    assert health(host).json()["version"] == "1.0.0"  # the old container still runs
    up = docker(host, "compose", "up", "-d")
    assert " Container warungin-backend  Recreate" in up.stderr.splitlines()
    assert health(host).json()["version"] == "1.1.0"
    assert 'content="1.1.0"' in httpx.get(host.frontend_url, timeout=5).text
    assert ps(host)["backend"]["Health"] == "healthy"


def test_compose_needs_a_compose_file_and_knows_its_commands(host: RehearsalHost) -> None:
    outside = docker(host, "compose", "ps", cwd=host.root)
    assert outside.returncode == 1
    assert outside.stderr.strip() == "no configuration file provided: not found"
    unknown = docker(host, "compose", "frobnicate")
    assert (
        unknown.returncode == 1 and 'unknown docker command: "compose frobnicate"' in unknown.stderr
    )
    assert docker(host, "frobnicate").returncode == 1
    assert docker(host, "compose", "up", "-d", "nosuch").stderr.strip() == "no such service: nosuch"
    info = docker(host, "info")
    assert info.returncode == 0 and " Server Version: " in info.stdout
    assert docker(host, "--version").stdout.startswith("Docker version ")


def test_healthy_logs_have_prefixes_and_no_error_at_all(host: RehearsalHost) -> None:
    deploy(host)
    assert httpx.post(f"{host.api_url}/api/auth/login", json={"email": "a@b.c"}).status_code == 401
    assert httpx.get(host.frontend_url).status_code == 200
    logs = docker(host, "compose", "logs", "--tail=100").stdout.splitlines()
    assert logs and all(re.match(r"warungin-[a-z]+ +\| \S", line) for line in logs)
    assert not [line for line in logs if "error" in line.lower()]
    tail = docker(host, "compose", "logs", "--tail", "2", "backend").stdout.splitlines()
    assert len(tail) == 2 and all(line.startswith("warungin-backend  | ") for line in tail)


# -- scenarios ---------------------------------------------------------------------------------


def test_every_scenario_is_described() -> None:
    assert set(scenarios.SCENARIOS) == {
        "healthy",
        "build-fails",
        "backend-unhealthy",
        "wrong-version",
        "active-sessions",
        "slow-start",
        "errors-in-logs",
        "stale-backup",
        "ssh-drop",
        "secrets-in-output",
    }
    assert all(text.strip() and "\n" not in text for text in scenarios.SCENARIOS.values())


def test_build_fails(make_host: Callable[[str], RehearsalHost]) -> None:
    host = make_host("build-fails")
    git(host, "pull", "-q", "origin", "main")
    before = host.state()["images"]
    build = docker(host, "compose", "build")
    assert build.returncode == 1
    assert build.stderr.splitlines()[-1] == (
        'failed to solve: process "/bin/sh -c npm run build" did not complete successfully: '
        "exit code: 1"
    )
    assert host.state()["images"] == before


def test_backend_unhealthy_until_rolled_back(make_host: Callable[[str], RehearsalHost]) -> None:
    host = make_host("backend-unhealthy")
    old_commit = git(host, "rev-parse", "HEAD").strip()
    deploy(host, "backend")
    response = health(host)
    assert response.status_code == 500
    assert response.json() == {"status": "error", "error": "database migration failed"}
    assert ps(host)["backend"]["Health"] == "unhealthy"
    assert ps(host)["backend"]["Status"].endswith("(unhealthy)")
    git(host, "reset", "-q", "--hard", old_commit)
    assert docker(host, "compose", "build", "backend").returncode == 0
    docker(host, "compose", "up", "-d", "backend")
    body = health(host).json()
    assert (body["status"], body["version"]) == ("ok", "1.0.0")
    assert ps(host)["backend"]["Health"] == "healthy"


def test_wrong_version(make_host: Callable[[str], RehearsalHost]) -> None:
    host = make_host("wrong-version")
    deploy(host)
    assert (host.project_dir / "VERSION").read_text().strip() == "1.1.0"
    assert health(host).json()["version"] == "1.0.0"


def test_active_sessions_drain(make_host: Callable[[str], RehearsalHost]) -> None:
    host = make_host("active-sessions")

    def count() -> int:
        return int(psql(host, SESSIONS_SQL).stdout.splitlines()[2])

    assert count() == 3
    seen = [count()]
    wait_for(lambda: seen.append(count()) or seen[-1] == 0, timeout=10, what="sessions at 0")
    assert seen == sorted(seen, reverse=True)  # draining, never growing back


def test_slow_start(make_host: Callable[[str], RehearsalHost]) -> None:
    host = make_host("slow-start")
    assert health(host).status_code == 200  # production has been up for days
    docker(host, "compose", "restart", "backend")
    assert ps(host)["backend"]["Health"] == "starting"
    assert ps(host)["backend"]["Status"].endswith("(health: starting)")
    assert health(host).status_code == 503
    wait_for(lambda: ps(host)["backend"]["Health"] == "healthy", timeout=8, what="healthy")
    assert health(host).status_code == 200


def test_errors_in_logs(make_host: Callable[[str], RehearsalHost]) -> None:
    host = make_host("errors-in-logs")
    before = docker(host, "compose", "logs", "--tail=100").stdout
    assert "error" not in before.lower()
    deploy(host)
    assert health(host).status_code == 200
    logs = docker(host, "compose", "logs", "--tail=100", "backend").stdout
    assert "ERROR  Unhandled exception in POST /api/orders: KeyError 'store_id'" in logs


def test_stale_backup(make_host: Callable[[str], RehearsalHost]) -> None:
    host = make_host("stale-backup")
    newest = max(p.stat().st_mtime for p in host.db_backups_dir.glob("*.sql.gz"))
    assert 71.9 < (time.time() - newest) / 3600 < 72.1


def test_ssh_drop_without_ssh_prints_the_marker_once(
    make_host: Callable[[str], RehearsalHost],
) -> None:
    host = make_host("ssh-drop")
    first = docker(host, "compose", "build")
    assert first.returncode == 255
    assert first.stderr.splitlines()[-1] == scenarios.DROP_MARKER
    assert len(first.stderr.splitlines()) > 3  # some build output came first
    assert docker(host, "compose", "build").returncode == 0
