"""Scripted deployments for the export tests: fake clock, clocked FakeRemote, fake HTTP prober.

With the clock installed (see `install_clock`), a scripted run is byte-for-byte repeatable: journal
times, step durations, the notice's maintenance window and the run id all come from the clock.
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.fake_remote import FakeRemote
from tests.helpers import SAMPLE_CONFIG
from warungin_tui import journal as journal_module
from warungin_tui.config import Config, parse_config
from warungin_tui.engine import engine as engine_module
from warungin_tui.engine.engine import Engine
from warungin_tui.playbook import StepSpec
from warungin_tui.remote import CommandResult
from warungin_tui.steps.http import HttpAnswer

RUN_ID = "20251231-143000-c0ffee"
START = datetime(2025, 12, 31, 14, 30, tzinfo=UTC)
PRE_COMMIT = "3f9c2a7d1b4e8f60a5c7d9e1f2a3b4c5d6e7f809"
NEW_COMMIT = "8b1e4d2c9a7f6e5d4c3b2a1908f7e6d5c4b3a291"
BACKUP = "/srv/New-Warungin/backup-pre-deployment-20251231-143922.tar.gz"
BACKUP_SHA = "5e2c0f1a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e"
API = "http://localhost:8000"
FRONTEND = "https://pos.example.internal"
SERVICES = ["postgres", "redis", "backend", "frontend", "nginx", "loki", "promtail", "cloudflared"]
NO_HEALTHCHECK = {"loki", "promtail", "cloudflared"}


class FakeClock:
    """Advances one second per journal line, plus whatever the script says work took."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start
        self.start = start

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def iso(self) -> str:
        self.advance(1)
        return self.now.isoformat(timespec="milliseconds")

    def monotonic(self) -> float:
        return (self.now - self.start).total_seconds()

    def datetime_class(self) -> type[datetime]:
        clock = self

        class Frozen(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
                return clock.now.astimezone(tz) if tz else clock.now

        return Frozen


def install_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Make journal times, durations, notice times and the run id come from one fake clock."""
    clock = FakeClock()
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(journal_module, "now_iso", clock.iso)
    monkeypatch.setattr(engine_module, "time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(engine_module, "datetime", clock.datetime_class())
    monkeypatch.setattr(engine_module, "new_run_id", lambda: RUN_ID)
    return clock


class ClockedRemote(FakeRemote):
    """FakeRemote whose commands take (fake) time."""

    def __init__(self, clock: FakeClock, rules: list[tuple[str, int, str]]) -> None:
        super().__init__(rules)
        self.clock = clock
        self.costs = {"compose build": 133.0, "tar --anchored": 41.0, "git pull": 3.2, "up -d": 6.5}

    async def run(self, command: str, *, timeout: float, on_output: Any = None) -> CommandResult:
        self.clock.advance(next((s for k, s in self.costs.items() if k in command), 0.4))
        return await super().run(command, timeout=timeout, on_output=on_output)


class FakeProber:
    """Stands in for HttpProber: answers by URL with a fixed status, body and latency."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.routes: dict[str, tuple[int, Any, float]] = {
            f"{API}/api/health": (200, {"status": "ok", "version": "1.1.0"}, 0.0423),
            FRONTEND: (200, "<html><title>Warungin POS</title><body>Login</body></html>", 0.118),
            f"{API}/api/auth/login": (401, {"error": "invalid credentials"}, 0.0121),
        }

    async def request(
        self, method: str, url: str, *, via_ssh: bool, json_body: Any, timeout: float
    ) -> HttpAnswer:
        status, body, latency = self.routes[url]
        self.clock.advance(latency)
        request = httpx.Request(method, url)
        if isinstance(body, str):
            return HttpAnswer(httpx.Response(status, text=body, request=request), latency, url)
        return HttpAnswer(httpx.Response(status, json=body, request=request), latency, url)

    async def aclose(self) -> None:
        pass


def compose_ps(states: dict[str, str] | None = None) -> str:
    states = states or {}
    lines = []
    for name in SERVICES:
        state = states.get(name, "running")
        health = "" if name in NO_HEALTHCHECK or state != "running" else "healthy"
        status = "Up 2 minutes" + (" (healthy)" if health else "")
        if state != "running":
            status = "Exited (1) 5 seconds ago"
        entry = {"Name": f"warungin-{name}", "Service": name, "State": state, "Health": health}
        lines.append(json.dumps({**entry, "Status": status}))
    return "\n".join(lines) + "\n"


def psql_count(count: int) -> str:
    return f" active_sessions \n-----------------\n{count:>16}\n(1 row)\n"


CLEAN_LOGS = "\n".join(
    f"warungin-{s}  | 2025-12-31T14:41:0{i}Z INFO {s} ready" for i, s in enumerate(SERVICES)
)


def rules() -> list[tuple[str, int, str]]:
    """First match wins (FakeRemote), so the more specific needles come first."""
    return [
        ("gzip -t", 0, "verified /srv/New-Warungin/backups/db/warungin-20251231-0200.sql.gz\n"),
        (
            "%T@ %s %p",
            0,
            "1767146400.0 52428800 /srv/New-Warungin/backups/db/warungin-20251231-0200.sql.gz\n"
            "now 1767191400\n",
        ),
        ("-newer", 0, "replace\t1\tVERSION\nreplace\t2\tbackend\nchecked\n"),
        (
            "tar --anchored",
            0,
            f"backup_file={BACKUP}\nbackup_size=48213377\nbackup_sha256={BACKUP_SHA}\n"
            f"-rw------- 1 deploy deploy 46M Dec 31 14:39 {BACKUP}\n",
        ),
        ("sha256sum -c", 0, f"{BACKUP}: OK\narchive verified\n"),
        ("tar -xzf", 0, f"restored commit {PRE_COMMIT}\n"),
        (
            "git pull",
            0,
            "From /srv/git/New-Warungin\n * branch            main       -> FETCH_HEAD\n"
            f"Updating {PRE_COMMIT[:7]}..{NEW_COMMIT[:7]}\nFast-forward\n"
            " backend/src/auth/twofactor.ts | 41 ++++++++++++++++++++---------\n"
            " 1 file changed, 28 insertions(+), 13 deletions(-)\n"
            f"{NEW_COMMIT}\n",
        ),
        ("git status --short", 0, f"HEAD {NEW_COMMIT}\norigin/main {NEW_COMMIT}\n"),
        ("--abbrev-ref HEAD", 0, "main\n"),
        ("git rev-parse HEAD", 0, f"{PRE_COMMIT}\n"),
        (
            "compose build",
            0,
            "#1 [backend internal] load build definition from Dockerfile\n"
            "#9 [backend 5/6] RUN npm ci --omit=dev\n"
            " ✔ Service backend   Built\n ✔ Service frontend  Built\n",
        ),
        ("up -d", 0, " ✔ Container warungin-postgres  Started\n"),
        (
            "compose down",
            0,
            " ✔ Container warungin-backend  Removed\n ✔ Network default  Removed\n",
        ),
        ("ps --all --format json", 0, compose_ps()),
        ("SELECT COUNT(*)", 0, psql_count(0)),
        ("pg_stat_activity", 0, psql_count(6)),
        (
            "SELECT version()",
            0,
            "                      version\n-------------------------------------------\n"
            " PostgreSQL 16.4 on x86_64-pc-linux-musl, compiled by gcc 13.2.1, 64-bit\n(1 row)\n",
        ),
        ("compose logs", 0, CLEAN_LOGS + "\n"),
        (
            "free -m",
            0,
            " 15:02:11 up 41 days\n       total  used  free\nMem:    7940  2310  4012\n",
        ),
        (
            "uname -n",
            0,
            "warungin-prod\n 14:30:05 up 41 days,  3:12,  1 user,  load average: 0.08\n",
        ),
        ("id -un", 0, "deploy\ncompose file: /srv/New-Warungin/docker-compose.yml\n"),
        ("docker info", 0, "Client: Docker Engine - Community\n Server Version: 27.3.1\n"),
    ]


def set_rule(remote: FakeRemote, needle: str, code: int, text: str) -> None:
    remote.rules = [(n, code, text) if n == needle else (n, c, t) for n, c, t in remote.rules]


def make_config(**sections: dict[str, Any]) -> Config:
    data = tomllib.loads(SAMPLE_CONFIG.read_text())
    data["contacts"].update(
        tech_lead="Sari Wijaya",
        tech_lead_email="sari@warungin.example",
        tech_lead_phone="+62 811 1",
    )
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return parse_config(data)


async def new_engine(clock: FakeClock, journal_dir: Path, config: Config | None = None) -> Engine:
    remote = ClockedRemote(clock, rules())
    engine = Engine.start_new(config or make_config(), journal_dir, operator="Dewi", remote=remote)
    await engine.http.aclose()
    engine.http = FakeProber(clock)  # type: ignore[assignment]
    return engine


async def yes(spec: StepSpec) -> bool:
    return True


def human(engine: Engine, clock: FakeClock, seconds: float = 30.0) -> Callable[..., None]:
    """A person answering: each answer takes some time."""

    def act(method: str, step_id: str, *args: Any, **kwargs: Any) -> None:
        clock.advance(seconds)
        getattr(engine, method)(step_id, *args, **kwargs)

    return act


async def through_phase2(engine: Engine, clock: FakeClock) -> None:
    """Pre-deployment checklist, Phase 1 and Phase 2, all passing (one skip, one override)."""
    do = human(engine, clock)
    do("tick", "pre.smoke_test", note="10/10 on staging (run 2025-12-30)")
    do("tick", "pre.full_suite", note="CI #512: 47 tests green")
    for step, name in [
        ("pre.qa_signoff", "Ayu Lestari"),
        ("pre.security_signoff", "Bima Prasetyo"),
        ("pre.tech_lead_signoff", "Sari Wijaya"),
        ("pre.pm_signoff", "Rina Hartono"),
    ]:
        do("sign_off", step, name)
    for step in ["pre.zero_critical", "pre.zero_high", "pre.2fa_staging", "pre.store_403_staging"]:
        do("tick", step)
    prober: FakeProber = engine.http  # type: ignore[assignment]
    release_health = prober.routes[f"{API}/api/health"]
    # production still runs 1.0.4 during the pre-checks (recorded for the rollback's check)
    prober.routes[f"{API}/api/health"] = (200, {"status": "ok", "version": "1.0.4"}, 0.0423)
    await engine.run_automated("pre")
    prober.routes[f"{API}/api/health"] = release_health
    do("tick", "pre.rollback_documented")
    do("tick", "pre.incident_ready")
    do("tick", "pre.monitoring_alerts", passed=False, note="no alert rule for HTTP 5xx yet")
    do("override_step", "pre.monitoring_alerts", "Ops watches Loki by hand for the first 2 hours")
    do("tick", "pre.stakeholders_notified", note="announced on 2025-12-29")
    do("skip", "pre.ops_briefed", "ops lead runs the deployment with us")
    do("record_input", "pre.on_call", "Rudi (ops), then Sari from 22:00")
    await engine.run_automated("phase1", confirm=yes)
    do("confirm_notice_sent", "phase1.notify")  # the operator mailed it
    await engine.run_automated("phase2", confirm=yes)


def record_monitoring(engine: Engine, clock: FakeClock, *, hours: int) -> None:
    """Monitoring samples every 6 hours over `hours` (the shape issue 12 records is not fixed
    yet: only the journal time matters to the export)."""
    engine.record({"type": "monitoring_sample", "ok": True})
    for _ in range(hours // 6):
        clock.advance(6 * 3600)
        engine.record({"type": "monitoring_sample", "ok": True})


async def healthy_run(engine: Engine, clock: FakeClock) -> None:
    """A whole healthy deployment, through the 24-hour sign-off and go-live approval."""
    await through_phase2(engine, clock)
    set_rule(engine.remote, "SELECT COUNT(*)", 0, psql_count(3))  # users are back
    await engine.run_automated("phase3")
    do = human(engine, clock, 90.0)
    do("tick", "smoke.frontend_loads", note="login page in 1.2 s")
    do("tick", "smoke.super_admin_2fa", note="2FA prompt shown, no way around it")
    do("tick", "smoke.store_authorization", note="store 7 gives 403 for supervisor of store 3")
    do("tick", "smoke.shift_caching", note="1 call, 4 cached")
    do("tick", "smoke.no_console_errors")
    do("tick", "report.no_data_exposed")
    do("tick", "report.request_dedup", note="double submit made one order")
    do("tick", "completion.incident_response_ready")
    do("tick", "completion.security_team_briefed", note="Bima briefed at 15:10")
    do("sign_off", "completion.tech_lead", "Sari Wijaya")
    do("sign_off", "completion.ops_lead", "Rudi Hakim")
    do("sign_off", "completion.product_manager", "Rina Hartono")
    await engine.run_automated("monitoring")
    do("tick", "monitoring.user_activity", note="two tickets, both about printer paper")
    record_monitoring(engine, clock, hours=24)
    do("record_input", "monitoring.uptime", "99.97")
    do("record_input", "monitoring.critical_issues", "0")
    do("record_input", "monitoring.user_reports", "2 (receipt printer paper)")
    do("record_input", "monitoring.performance", "GOOD")
    clock.advance(600)
    engine.decide(
        "GO-LIVE APPROVED",
        authorized_by="Budi Santoso",
        effective_at="2026-01-01 16:00",
        monitoring_override_reason="Grafana watched by ops for 24 hours; no samples recorded",
    )
    engine.finish()


MIGRATION_ERRORS = "\n".join(
    [
        "warungin-backend  | 2025-12-31T14:52:10Z INFO starting 1.1.0",
        "warungin-backend  | 2025-12-31T14:52:11Z ERROR migration 20251231_shift_cache failed: "
        'relation "shift_cache" already exists',
        "warungin-backend  | 2025-12-31T14:52:11Z ERROR health: database schema out of date",
        "warungin-nginx  | 2025-12-31T14:52:15Z [error] upstream returned 503",
    ]
)


async def failed_run(engine: Engine, clock: FakeClock) -> None:
    """Phase 3 health fails (503), Tech Lead notified, logs collected, rollback, incident filled."""
    await through_phase2(engine, clock)
    prober: FakeProber = engine.http  # type: ignore[assignment]
    prober.routes[f"{API}/api/health"] = (503, {"status": "degraded", "version": "1.1.0"}, 0.031)
    set_rule(engine.remote, "compose logs", 0, MIGRATION_ERRORS + "\n")
    await engine.run_automated("phase3")
    await engine.run_step("incident.notify_tech_lead")
    await engine.run_step("incident.collect_logs")
    clock.advance(120)
    prober.routes[f"{API}/api/health"] = (200, {"status": "ok", "version": "1.0.4"}, 0.04)
    set_rule(engine.remote, "compose logs", 0, CLEAN_LOGS + "\n")
    await engine.rollback(reason="backend unhealthy after deploy (HTTP 503)", confirm=yes)
    do = human(engine, clock, 60.0)
    do("record_input", "incident.severity", "CRITICAL")
    do("record_input", "incident.root_cause", "shift_cache migration not idempotent")
    do("record_input", "incident.next_action", "make migration idempotent; redeploy 2026-01-02")
    await engine.run_step("incident.notify_staff")
    # a rolled-back run ends with its rollback: finishing (F) is for a decided deployment


Script = Callable[[Engine, FakeClock], Awaitable[None]]


async def failed_no_rollback_run(engine: Engine, clock: FakeClock) -> None:
    """Phase 3 health fails (503); nobody has rolled back yet."""
    await through_phase2(engine, clock)
    prober: FakeProber = engine.http  # type: ignore[assignment]
    prober.routes[f"{API}/api/health"] = (503, {"status": "degraded", "version": "1.1.0"}, 0.031)
    await engine.run_automated("phase3")


async def in_progress_run(engine: Engine, clock: FakeClock) -> None:
    """Deployed (Phases 1-2 done), Phase 3 not started."""
    await through_phase2(engine, clock)
