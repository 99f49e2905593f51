"""A scripted Warungin target for UI tests: FakeRemote rules for a healthy run and mocked HTTP.

Also runnable for a manual look in a terminal (e.g. tmux at 80x24):
`python -m tests.app_fixtures [DIR] [--slow] [--drop]` (--slow: output trickles in so running
steps can be watched; --drop: the connection drops during `docker info`).
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.fake_remote import FakeRemote
from tests.helpers import SAMPLE_CONFIG
from warungin_tui.app import WarunginApp
from warungin_tui.config import Config, parse_config
from warungin_tui.engine.engine import Engine

RELEASE = "1.1.0"
COMMIT_OLD = "a" * 40
COMMIT_NEW = "b" * 40
SERVICES = ["postgres", "redis", "backend", "frontend", "nginx", "loki", "promtail", "cloudflared"]


def compose_ps() -> str:
    rows = []
    for name in SERVICES:
        health = "healthy" if name in ("postgres", "redis", "backend", "frontend", "nginx") else ""
        rows.append(
            json.dumps(
                {
                    "Service": name,
                    "Name": f"warungin-{name}",
                    "State": "running",
                    "Health": health,
                    "Status": "Up 2 minutes" + (" (healthy)" if health else ""),
                }
            )
        )
    return "\n".join(rows) + "\n"


def psql_count(count: int) -> str:
    return f" active_sessions \n-----------------\n {count}\n(1 row)\n"


BUILD_OUTPUT = "".join(f"#{i} building layer {i}/60 ... done\n" for i in range(1, 61))

# First matching substring wins (FakeRemote): specific commands before general ones.
HEALTHY_RULES: list[tuple[str, int, str]] = [
    ("-newer", 0, "replace\t1\tVERSION\nreplace\t3\tbackend\nkeep\t1\tbackups/db\nchecked\n"),
    ("uname -n", 0, "warungin-prod\n 02:00:01 up 41 days,  load average: 0.10\n"),
    ("id -un", 0, "deploy\ncompose file: /srv/New-Warungin/docker-compose.yml\n"),
    ("docker info", 0, "Client: Docker Engine\nServer Version: 24.0.7\n"),
    ("gzip -t", 0, "verified /srv/New-Warungin/backups/db/warungin-20250101.sql.gz\n"),
    (
        "-printf",
        0,
        "1700000000.0 52428 /srv/New-Warungin/backups/db/warungin-20250101.sql.gz\n"
        "now 1700003600\n",
    ),
    ("FROM sessions", 0, psql_count(0)),
    ("pg_stat_activity", 0, psql_count(6)),
    ("SELECT version()", 0, " PostgreSQL 16.1 on x86_64-pc-linux-gnu\n(1 row)\n"),
    ("compose ps --all", 0, compose_ps()),
    ('test "$h"', 0, f"HEAD {COMMIT_NEW}\norigin/main {COMMIT_NEW}\n"),
    ("git pull", 0, f"Updating 1234..5678\nFast-forward\n{COMMIT_NEW}\n"),
    ("--abbrev-ref HEAD", 0, "main\n"),
    ("git rev-parse HEAD", 0, f"{COMMIT_OLD}\n"),
    (
        "compose down",
        0,
        "Container warungin-backend  Stopped\nContainer warungin-backend  Removed\n",
    ),
    (
        "tar --anchored",
        0,
        "backup_file=/srv/New-Warungin/backup-pre-deployment-20250101-020000.tar.gz\n"
        "backup_size=1048576\nbackup_sha256=" + "c" * 64 + "\n",
    ),
    ("compose build", 0, BUILD_OUTPUT),
    ("up -d", 0, "Container warungin-postgres  Started\n"),
    ("compose logs", 0, "backend  | listening on :8000\nfrontend | ready\n"),
    ("uptime && free", 0, " 02:40:00 up 41 days\nMem: 7982 2100 5882\n"),
]


def http_handler(request: httpx.Request) -> httpx.Response:
    """The API and frontend as the probes see them after a good deployment."""
    if request.url.path == "/api/health":
        return httpx.Response(200, json={"status": "ok", "version": RELEASE})
    if request.url.path == "/api/auth/login":
        return httpx.Response(401, json={"error": "invalid credentials"})
    return httpx.Response(200, text="<html><title>Warungin POS</title></html>")


def make_config(base: Path, **thresholds: float) -> Config:
    """The sample config pointed at `base` for journals and exports, quick to poll."""
    data: dict[str, Any] = tomllib.loads(SAMPLE_CONFIG.read_text())
    data["archive"] = {"dir": str(base / "archive"), "journal_dir": str(base / "journals")}
    data["endpoints"]["api_via_ssh"] = False
    data["operator"]["name"] = "Ana Operator"
    data["contacts"].update(tech_lead="Tia Lead", tech_lead_email="tia@example.test")
    data["thresholds"].update({"poll_interval_seconds": 0.05, **thresholds})
    return parse_config(data)


def mock_http(engine: Engine) -> None:
    engine.http.client = httpx.AsyncClient(transport=httpx.MockTransport(http_handler))


def make_app(
    base: Path,
    remote: FakeRemote | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    **thresholds: float,
) -> tuple[WarunginApp, FakeRemote]:
    """The wizard against a scripted target; the same remote is reused on reconnect."""
    remote = remote or FakeRemote(rules=list(HEALTHY_RULES))
    config = make_config(base, **thresholds)
    app = WarunginApp(
        config,
        base / "warungin.toml",
        journal_dir=base / "journals",
        remote_factory=lambda target: remote,
        prepare_engine=mock_http,
        clock=clock,
    )
    return app, remote


def fixed_clock(app: WarunginApp, minutes: float = 12.5) -> Callable[[], datetime]:
    """A clock `minutes` after the run started (snapshots must not show wall-clock time)."""

    def now() -> datetime:
        engine = app.engine
        if engine is None or not engine.run.started_at:
            return datetime(2025, 1, 1, 2, 0, tzinfo=UTC)
        return datetime.fromisoformat(engine.run.started_at) + timedelta(minutes=minutes)

    return now


class SlowRemote(FakeRemote):
    """For a look at running steps: output trickles in batches, a few seconds per command."""

    async def run(
        self, command: str, *, timeout: float, on_output: Any = None, record: Any = None
    ) -> Any:
        import asyncio

        if on_output is not None and ("compose build" in command or "tar --anchored" in command):
            for index in range(20):
                await on_output("stdout", [f"step {index + 1}/20: working on layer {index}"])
                await asyncio.sleep(0.4)
        else:
            await asyncio.sleep(0.3)
        return await super().run(command, timeout=timeout, on_output=on_output)


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/warungin-ui-dev")
    folder.mkdir(parents=True, exist_ok=True)
    remote_class = SlowRemote if "--slow" in sys.argv else FakeRemote
    remote = remote_class(rules=list(HEALTHY_RULES))
    if "--drop" in sys.argv:  # the connection drops during `docker info`
        remote.drop_on = "docker info"
    app, _ = make_app(folder, remote)
    sys.exit(app.run())
