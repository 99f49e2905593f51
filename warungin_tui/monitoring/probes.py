"""The monitoring probes: each asks the host (over the one SSH connection) or the API one thing
and returns a small JSON-able result. Connection trouble propagates as RemoteError: it is the
monitor's problem (a gap), never the service's (downtime)."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from warungin_tui.config import Config
from warungin_tui.remote import Remote, RemoteError
from warungin_tui.steps.http import HttpProber

PROBE_TIMEOUT_S = 30.0
ERROR_LINES_KEPT = 5
ERROR_LINE = re.compile(
    r"\b(ERROR|FATAL|CRITICAL|PANIC)\b|\[(error|crit|alert|emerg)\]|level=error|Traceback", re.I
)
ACCESS_LINE = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) HTTP/[\d.]+" (\d{3})')

ProbeResult = dict[str, Any]


@dataclass
class ProbeContext:
    config: Config
    remote: Remote
    http: HttpProber
    since: dict[str, float]
    """Per log probe, the wall epoch its previous sample read up to."""
    until: float
    """Wall epoch this round reads logs up to (the round's start): windows tile, no line twice."""

    @property
    def timeout(self) -> float:
        return min(self.config.thresholds.command_timeout_seconds, PROBE_TIMEOUT_S)

    def in_project(self, command: str) -> str:
        return f"cd {shlex.quote(self.config.target.project_dir)} && {command}"

    async def run(self, command: str) -> tuple[int | None, str, str]:
        result = await self.remote.run(command, timeout=self.timeout)
        status = None if result.timed_out else result.exit_status
        return status, result.stdout, result.stderr


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _failed(status: int | None, stderr: str) -> ProbeResult:
    why = "timed out" if status is None else f"exit {status}"
    last = stderr.strip().splitlines()[-1:] or [""]
    return {"ok": False, "detail": f"command failed ({why}) {last[0]}".strip()}


async def _http(ctx: ProbeContext, url: str, via_ssh: bool) -> ProbeResult:
    try:
        answer = await ctx.http.request(
            "GET", url, via_ssh=via_ssh, json_body=None, timeout=ctx.timeout
        )
    except TimeoutError:
        return {"ok": False, "status_code": None, "detail": f"no answer in {ctx.timeout:g} s"}
    except httpx.HTTPError as exc:
        if via_ssh and not ctx.remote.connected:
            raise RemoteError(f"SSH port forward lost: {exc}") from None
        return {"ok": False, "status_code": None, "detail": f"request failed: {exc}"}
    ms = round(answer.latency_s * 1000, 1)
    status = answer.response.status_code
    return {
        "ok": 200 <= status < 300,
        "status_code": status,
        "latency_ms": ms,
        "detail": f"HTTP {status} in {ms} ms",
    }


async def probe_health(ctx: ProbeContext) -> ProbeResult:
    endpoints = ctx.config.endpoints
    return await _http(ctx, f"{endpoints.api}/api/health", endpoints.api_via_ssh)


async def probe_api_latency(ctx: ProbeContext) -> ProbeResult:
    """The API as a user's browser reaches it: through the front end's proxy."""
    result = await _http(ctx, f"{ctx.config.endpoints.frontend}/api/health", False)
    limit = ctx.config.monitoring.latency_limit_ms or ctx.config.thresholds.api_latency_ms
    if result.get("latency_ms") is not None and result["latency_ms"] > limit:
        result["ok"] = False
        result["detail"] += f" (over the {limit:g} ms limit)"
    return result


async def probe_services(ctx: ProbeContext) -> ProbeResult:
    status, out, err = await ctx.run(ctx.in_project("docker compose ps --all --format json"))
    if status != 0:
        return _failed(status, err)
    states: dict[str, str] = {}
    for line in out.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "Service" in row:
            health = f" ({row['Health']})" if row.get("Health") else ""
            states[str(row["Service"])] = f"{row.get('State', '?')}{health}"
    expected = ctx.config.services.expected
    not_running = [s for s in expected if not states.get(s, "").startswith("running")]
    unhealthy = [s for s in expected if "unhealthy" in states.get(s, "")]
    running = len(expected) - len(not_running)
    detail = f"{running}/{len(expected)} running"
    if not_running:
        detail += f"; not running: {', '.join(not_running)}"
    if unhealthy:
        detail += f"; unhealthy: {', '.join(unhealthy)}"
    return {
        "ok": not not_running and not unhealthy,
        "states": states,
        "not_running": not_running,
        "unhealthy": unhealthy,
        "detail": detail,
    }


async def _logs(ctx: ProbeContext, probe: str, services: str = "") -> tuple[ProbeResult, str]:
    since = ctx.since[probe]
    command = f"docker compose logs --no-color --since {_iso(since)} --until {_iso(ctx.until)}" + (
        f" {services}" if services else ""
    )
    status, out, err = await ctx.run(ctx.in_project(command))
    if status != 0:
        return _failed(status, err), ""
    return {"ok": True, "since": since, "until": ctx.until}, out


async def probe_error_logs(ctx: ProbeContext) -> ProbeResult:
    result, out = await _logs(ctx, "error_logs")
    if "since" not in result:
        return result
    lines = out.splitlines()
    errors = [line for line in lines if ERROR_LINE.search(line)]
    result.update(
        ok=not errors,
        lines=len(lines),
        errors=len(errors),
        first_errors=[line[:300] for line in errors[:ERROR_LINES_KEPT]],
        detail=f"{len(errors)} error lines in {len(lines)} new lines",
    )
    return result


async def probe_user_activity(ctx: ProbeContext) -> ProbeResult:
    """Requests and failed logins from the access logs (the seed's transaction and auth logs)."""
    result, out = await _logs(ctx, "user_activity", "nginx backend")
    if "since" not in result:
        return result
    requests = failed_logins = server_errors = 0
    for line in out.splitlines():
        if found := ACCESS_LINE.search(line):
            requests += 1
            code = int(found.group(3))
            failed_logins += "/auth/login" in found.group(2) and code == 401
            server_errors += code >= 500
    result.update(
        requests=requests,
        failed_logins=failed_logins,
        server_errors=server_errors,
        detail=f"{requests} requests, {failed_logins} failed logins, {server_errors} 5xx",
    )
    return result


def _percent(text: str) -> float | None:
    try:
        return float(text.strip().rstrip("%"))
    except ValueError:
        return None


async def probe_resources(ctx: ProbeContext) -> ProbeResult:
    status, out, err = await ctx.run("docker stats --no-stream --format '{{json .}}'")
    if status != 0:
        return _failed(status, err)
    containers: dict[str, dict[str, float | None]] = {}
    for line in out.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "Name" in row:
            cpu, mem = _percent(str(row.get("CPUPerc", ""))), _percent(str(row.get("MemPerc", "")))
            containers[str(row["Name"])] = {"cpu": cpu, "mem": mem}
    settings = ctx.config.monitoring
    over = [
        name
        for name, use in containers.items()
        if (use["cpu"] or 0) > settings.cpu_alert_percent
        or (use["mem"] or 0) > settings.memory_alert_percent
    ]
    top = max(containers.items(), key=lambda item: item[1]["cpu"] or 0, default=None)
    detail = f"{len(containers)} containers"
    if top:
        detail += f"; busiest {top[0]} at {top[1]['cpu']}% CPU"
    return {"ok": not over, "containers": containers, "over": over, "detail": detail}


async def probe_db_connections(ctx: ProbeContext) -> ProbeResult:
    db = ctx.config.database
    sql = "SELECT count(*) FROM pg_stat_activity"
    command = (
        f"docker compose exec -T {shlex.quote(db.service)} psql -U {shlex.quote(db.user)} "
        f"-d {shlex.quote(db.name)} -tA -c {shlex.quote(sql)}"
    )
    status, out, err = await ctx.run(ctx.in_project(command))
    if status != 0:
        return _failed(status, err)
    try:
        count = int(out.strip().splitlines()[0])
    except (ValueError, IndexError):
        return {"ok": False, "detail": f"unexpected answer: {out.strip()[:80]!r}"}
    return {"ok": True, "count": count, "detail": f"{count} connections"}


PROBE_FUNCTIONS: dict[str, Callable[[ProbeContext], Awaitable[ProbeResult]]] = {
    "health": probe_health,
    "services": probe_services,
    "error_logs": probe_error_logs,
    "resources": probe_resources,
    "db_connections": probe_db_connections,
    "api_latency": probe_api_latency,
    "user_activity": probe_user_activity,
}
LOG_PROBES = ("error_logs", "user_activity")
