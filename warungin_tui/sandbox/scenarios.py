"""Rehearsal scenarios: their names, and the behaviour hooks the docker shim and servers call.

Every rule that makes one scenario differ from `healthy` lives here, so the shim and the fake
HTTP servers stay plain emulators. Standard library only: the shim imports this on every `docker`
call and must start fast.
"""

from __future__ import annotations

import math
from typing import Any

SCENARIOS: dict[str, str] = {
    "healthy": "Everything works: the release builds, starts healthy and reports its version.",
    "build-fails": "`docker compose build` fails in the frontend's `npm run build`.",
    "backend-unhealthy": "The new backend's migration fails: /api/health 500, unhealthy.",
    "wrong-version": "The build keeps the old VERSION, so /api/health reports the old one.",
    "active-sessions": "3 users are logged in at first; their sessions drain to 0 within ~5 s.",
    "slow-start": "Services stay `health: starting` (and /api/health 503) ~4 s after each start.",
    "errors-in-logs": "The new backend runs but logs ERROR lines (unhandled exceptions).",
    "stale-backup": "The newest database dump is 72 hours old.",
    "ssh-drop": "The SSH connection is cut in the middle of the first `docker compose build`.",
    # One line each: `demo --help` lists them (the monitoring day runs with
    # RehearsalHost.start_day).
    "monitoring": "A compressed monitoring day: backend down in hour 3, errors in hour 10.",
    "secrets-in-output": "The backend leaks its .env into its log, /api/health and its page.",
}

# The shim prints this line on stderr to ask the in-process SSH server to cut the connection.
DROP_MARKER = "##WARUNGIN-SANDBOX-DROP##"

SLOW_START_SECONDS = 4.0
SESSION_DRAIN_SECONDS = 5.0
INITIAL_ACTIVE_SESSIONS = 3
STALE_BACKUP_HOURS = 72.0
FRESH_BACKUP_HOURS = 1.0
# Seconds between the repeated ERROR lines of `errors-in-logs` (besides those at start-up).
ERROR_LOG_INTERVAL = 5.0


def check(scenario: str) -> str:
    """Return `scenario` when it is known, else raise ValueError naming the known ones."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    return scenario


def newest_backup_age_hours(scenario: str) -> float:
    """Age of the newest database dump the host is created with."""
    return STALE_BACKUP_HOURS if scenario == "stale-backup" else FRESH_BACKUP_HOURS


def build_fails(scenario: str) -> bool:
    """Whether every `docker compose build` fails."""
    return scenario == "build-fails"


def should_drop(scenario: str, drop_done: bool) -> bool:
    """Whether this build cuts the SSH connection: only the first build of `ssh-drop`."""
    return scenario == "ssh-drop" and not drop_done


def built_version(scenario: str, current: str, project_version: str) -> str:
    """The version an image gets when built from a tree whose VERSION is `project_version`."""
    # wrong-version: a stale build cache keeps the old VERSION in the image.
    return current if scenario == "wrong-version" else project_version


def _broken(scenario: str, version: str, new_version: str) -> bool:
    return scenario == "backend-unhealthy" and version == new_version


def _starting(scenario: str, started_at: float, now: float) -> bool:
    return scenario == "slow-start" and now - started_at < SLOW_START_SECONDS


def compose_health(
    scenario: str, service: str, version: str, new_version: str, started_at: float, now: float
) -> str:
    """Compose's Health of a running service that has a healthcheck."""
    if service == "backend" and _broken(scenario, version, new_version):
        return "unhealthy"
    if _starting(scenario, started_at, now):
        return "starting"
    return "healthy"


def backend_health(
    scenario: str, version: str, new_version: str, started_at: float, now: float, stamp: str
) -> tuple[int, dict[str, str]]:
    """HTTP status and JSON body of GET /api/health; `stamp` is the ISO timestamp to report."""
    if _broken(scenario, version, new_version):
        return 500, {"status": "error", "error": "database migration failed"}
    if _starting(scenario, started_at, now):
        return 503, {"status": "starting", "timestamp": stamp, "version": version}
    return 200, {"status": "ok", "timestamp": stamp, "version": version}


def backend_broken(scenario: str, version: str, new_version: str) -> bool:
    """Whether the backend answers 500 to everything (its migration failed)."""
    return _broken(scenario, version, new_version)


def backend_starting(scenario: str, started_at: float, now: float) -> bool:
    """Whether the backend is still starting (answers 503)."""
    return _starting(scenario, started_at, now)


def active_sessions(scenario: str, first_query_at: float | None, now: float) -> int:
    """Answer of the active-session COUNT query; `first_query_at` None means this is the first."""
    if scenario != "active-sessions":
        return 0
    if first_query_at is None:
        return INITIAL_ACTIVE_SESSIONS
    left = 1.0 - (now - first_query_at) / SESSION_DRAIN_SECONDS
    return max(0, math.ceil(INITIAL_ACTIVE_SESSIONS * left))


def backend_startup_errors(scenario: str, version: str, new_version: str) -> list[str]:
    """ERROR lines (level and message) the backend logs when it starts."""
    if _broken(scenario, version, new_version):
        return [
            'ERROR  Migration 20251231_01_shift_cache failed: relation "shift_cache" exists',
            "ERROR  database migration failed; serving 500 until fixed",
        ]
    if scenario == "errors-in-logs" and version == new_version:
        return [
            "ERROR  Unhandled exception in POST /api/orders: KeyError 'store_id'",
            "ERROR  Unhandled exception in GET /api/shifts/current: TypeError: NoneType",
        ]
    return []


def backend_logs_errors_repeatedly(scenario: str, version: str, new_version: str) -> bool:
    """Whether the backend keeps logging ERROR lines while it runs (live traffic failing)."""
    return scenario == "errors-in-logs" and version == new_version


def leaks_settings(scenario: str) -> bool:
    """secrets-in-output: the services print the project's .env (its secrets) where they can."""
    return scenario == "secrets-in-output"


# -- the monitoring day --------------------------------------------------------------------------
# A day runs on the clock in the state folder's day.json, the same clock the monitor runs on, so
# "hour 3" means the same moment to both. Scaled: {"origin": epoch, "speed": factor} (playbook
# seconds per wall second). Stepped (the monitor's SteppedClock): {"origin", "now_s", "steps":
# [[epoch, playbook_s], ...]}, time moving only when the monitor waits for its next round.
OUTAGE_HOURS = (2.0, 3.0)  # the third hour of the day
BURST_HOURS = (9.0, 10.0)  # the tenth hour
BURST_LINES = 12  # ERROR lines logged during the burst, evenly spread
BURST_CPU_PERCENT = 97.5  # the backend's CPU while it fails (over the usual 90 % alert)
BURST_MESSAGE = "ERROR  Unhandled exception in POST /api/orders: timeout (pool)"


def day_hour(day: dict[str, Any] | None, now: float) -> float | None:
    """Hours since the day's origin on its clock, or None when no day has been started."""
    if not day:
        return None
    if "now_s" in day:
        return float(day["now_s"]) / 3600.0
    return (now - float(day["origin"])) * float(day["speed"]) / 3600.0


def _within(
    scenario: str, day: dict[str, Any] | None, now: float, hours: tuple[float, float]
) -> bool:
    hour = day_hour(day, now)
    return scenario == "monitoring" and hour is not None and hours[0] <= hour < hours[1]


def backend_down(scenario: str, day: dict[str, Any] | None, now: float) -> bool:
    """monitoring: the backend answers 503 and is unhealthy during the outage hour."""
    return _within(scenario, day, now, OUTAGE_HOURS)


def burst_errors(
    scenario: str, day: dict[str, Any] | None, since: float, until: float
) -> list[tuple[float, str]]:
    """(epoch, message) of the burst's ERROR lines logged in [since, until).

    On a stepped day the lines of the playbook time a step jumps over are logged at that step."""
    if scenario != "monitoring" or not day:
        return []
    start, end = (h * 3600.0 for h in BURST_HOURS)
    spacing = (end - start) / BURST_LINES
    moments = [start + index * spacing for index in range(BURST_LINES)]
    lines = []
    if "steps" in day:
        previous = 0.0
        for wall, reached in day["steps"]:
            for index, at_s in enumerate(moments):
                if previous <= at_s < reached and since <= wall < until:
                    lines.append((wall + index * 1e-3, BURST_MESSAGE))
            previous = reached
        return lines
    for at_s in moments:
        at = day["origin"] + at_s / day["speed"]
        if since <= at < until:
            lines.append((at, BURST_MESSAGE))
    return lines


def container_load(
    scenario: str, day: dict[str, Any] | None, service: str, now: float
) -> tuple[float, float]:
    """(CPU %, memory %) of a running container: low and steady, except during the burst."""
    base = sum(map(ord, service)) % 7
    cpu, mem = 0.4 + base * 0.3, 1.5 + base * 0.8
    if service == "backend" and _within(scenario, day, now, BURST_HOURS):
        cpu = BURST_CPU_PERCENT
    return cpu, mem
