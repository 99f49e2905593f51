"""Turn command output into a value and a verdict; each parser is named from the playbook."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Parsed:
    ok: bool
    key: str
    """A short comparable value (wait steps poll until it equals `until_value`)."""
    detail: str
    data: Any = None
    captures: dict[str, Any] = field(default_factory=dict)
    settled: bool = False
    """True when waiting longer cannot change a bad answer (a service exited, dead, missing)."""
    recovering: list[str] = field(default_factory=list)
    """What is bad now but may recover by itself (services whose health check fails: Docker
    health can turn healthy after a failing start); a wait gives them a grace."""


@dataclass
class ParseInput:
    stdout: str
    services: list[str]
    thresholds: dict[str, float]
    capture_names: list[str]


Parser = Callable[[ParseInput], Parsed]


def _single_capture(names: list[str], value: Any) -> dict[str, Any]:
    return {names[0]: value} if names else {}


def parse_psql_count(inp: ParseInput) -> Parsed:
    """psql's table: header, a line of dashes, then the value."""
    lines = [line.strip() for line in inp.stdout.splitlines()]
    for index, line in enumerate(lines):
        if re.fullmatch(r"-+(\+-+)*", line) and index + 1 < len(lines):
            candidate = lines[index + 1]
            if re.fullmatch(r"\d+", candidate):
                count = int(candidate)
                noun = "session" if count == 1 else "sessions"
                return Parsed(
                    True,
                    str(count),
                    f"{count} active {noun}",
                    count,
                    _single_capture(inp.capture_names, count),
                )
    return Parsed(False, "", "no count in the psql answer (expected a table with one number)")


HEALTHY = {"healthy", ""}


def parse_compose_services(inp: ParseInput) -> Parsed:
    """`docker compose ps --format json`: one object a line (Compose >= 2.21) or one array."""
    entries: list[dict[str, Any]] = []
    text = inp.stdout.strip()
    try:
        if text.startswith("["):
            entries = [e for e in json.loads(text) if isinstance(e, dict)]
        else:
            for line in text.splitlines():
                if line.strip():
                    item = json.loads(line)
                    if isinstance(item, dict):
                        entries.append(item)
    except ValueError:
        return Parsed(False, "garbage", "docker compose ps did not answer JSON")
    by_service = {str(e.get("Service", "")): e for e in entries}
    rows, problems, starting, unhealthy = [], [], [], []
    for name in inp.services:
        entry = by_service.get(name)
        if entry is None:
            rows.append(
                {"service": name, "name": "", "state": "missing", "health": "", "status": ""}
            )
            problems.append(f"{name} missing")
            continue
        state = str(entry.get("State", "")).lower()
        health = str(entry.get("Health", "")).lower()
        rows.append(
            {
                "service": name,
                "name": str(entry.get("Name", "")),
                "state": state,
                "health": health,
                "status": str(entry.get("Status", "")),
            }
        )
        if state != "running":
            problems.append(f"{name} {state or 'not running'}")
        elif health == "starting":
            starting.append(name)
        elif health == "unhealthy":
            unhealthy.append(name)
        elif health not in HEALTHY:
            problems.append(f"{name} {health}")
    running = sum(1 for r in rows if r["state"] == "running")
    ready = not problems and not starting and not unhealthy
    summary = f"{running}/{len(inp.services)} running"
    if ready:
        detail = f"{summary}, all healthy"
    else:
        told = [*problems, *(f"{n} unhealthy" for n in unhealthy)]
        detail = "; ".join([summary, *told, *(f"{n} starting" for n in starting)])
    data = {"services": rows, "running": running, "expected": len(inp.services)}
    captures = _single_capture(inp.capture_names, f"{running}/{len(inp.services)}")
    # "starting" may still become healthy and "unhealthy" may recover (a wait gives it a
    # grace); exited, dead or missing will not by waiting.
    return Parsed(
        ready,
        "ready" if ready else "not ready",
        detail,
        data,
        captures,
        settled=bool(problems),
        recovering=[f"{n} unhealthy" for n in unhealthy],
    )


def parse_backup_age(inp: ParseInput) -> Parsed:
    newest: tuple[float, str] | None = None
    now: float | None = None
    for line in inp.stdout.splitlines():
        parts = line.split(" ", 2)
        try:
            if parts[0] == "now" and len(parts) == 2:
                now = float(parts[1])
            elif len(parts) == 3:
                newest = (float(parts[0]), parts[2])
        except ValueError:
            continue  # a line that is not ours (a warning, a banner): ignore it
    if now is None:
        return Parsed(False, "", "the server did not report its clock")
    if newest is None:
        return Parsed(False, "none", "no database backup found")
    limit = inp.thresholds["backup_max_age_hours"]
    age_h = max(0.0, (now - newest[0]) / 3600)
    name = newest[1].rsplit("/", 1)[-1]
    ok = age_h <= limit
    verdict = "" if ok else f", older than the {limit:g} h limit"
    return Parsed(
        ok,
        f"{age_h:.1f}",
        f"newest dump {name} is {age_h:.1f} h old{verdict}",
        {"file": newest[1], "age_hours": round(age_h, 2)},
        _single_capture(inp.capture_names, newest[1]),
    )


def parse_git_commit(inp: ParseInput) -> Parsed:
    lines = [line.strip() for line in inp.stdout.splitlines() if line.strip()]
    if lines and re.fullmatch(r"[0-9a-f]{40}", lines[-1]):
        commit = lines[-1]
        return Parsed(
            True,
            commit,
            f"commit {commit[:12]}",
            commit,
            _single_capture(inp.capture_names, commit),
        )
    return Parsed(False, "", "no commit id in the output")


def parse_key_values(inp: ParseInput) -> Parsed:
    found: dict[str, str] = {}
    for line in inp.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in inp.capture_names:
            found[key] = value.strip()
    missing = [name for name in inp.capture_names if name not in found]
    if missing:
        return Parsed(False, "", f"missing in the output: {', '.join(missing)}", found)
    detail = ", ".join(f"{k}={v}" for k, v in found.items())
    return Parsed(True, "ok", detail, found, dict(found))


SHA256 = re.compile(r"[0-9a-f]{64}")


def parse_backup_archive(inp: ParseInput) -> Parsed:
    """Step 1.1's key=value lines, each checked for what it is: the rollback relies on them."""
    parsed = parse_key_values(inp)
    if not parsed.ok:
        return parsed
    found = parsed.captures
    problems = []
    path = found.get("backup_file", "")
    if not path.startswith("/") or not path.endswith(".tar.gz"):
        problems.append(f"backup_file is not an absolute .tar.gz path: {path!r}")
    size = found.get("backup_size", "")
    if not size.isdigit() or int(size) == 0:
        problems.append(f"backup_size is not a positive number: {size!r}")
    digest = found.get("backup_sha256", "")
    if not SHA256.fullmatch(digest):
        problems.append(f"backup_sha256 is not 64 hex digits: {digest!r}")
    if problems:
        return Parsed(False, "", "; ".join(problems), found)
    return parsed


def parse_restore_preview(inp: ParseInput) -> Parsed:
    """`replace|keep <TAB> count <TAB> path` lines, then `checked`: what the restore touches."""
    replace: dict[str, int] = {}
    keep: dict[str, int] = {}
    checked = False
    for line in inp.stdout.splitlines():
        if line.strip() == "checked":
            checked = True
            continue
        kind, _, rest = line.partition("\t")
        count, _, path = rest.partition("\t")
        if kind in ("replace", "keep") and count.isdigit() and path:
            (replace if kind == "replace" else keep)[path] = int(count)
    if not checked:
        return Parsed(False, "", "the project could not be compared with the backup")
    data = {"replace": dict(sorted(replace.items())), "keep": dict(sorted(keep.items()))}
    return Parsed(True, str(sum(replace.values())), restore_preview_text(data), data)


def _files(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'}"


def restore_preview_text(data: dict[str, dict[str, int]]) -> str:
    """One line: what goes, then what stays, each with counts of files newer than the backup."""
    replace, keep = data.get("replace", {}), data.get("keep", {})
    if replace:
        items = ", ".join(f"{path}: {_files(n)}" for path, n in replace.items())
        text = f"replaced or removed, newer than the backup: {items}"
    else:
        text = "nothing newer than the backup is replaced or removed"
    if keep:
        items = ", ".join(f"{path}: {_files(n)} newer than the backup" for path, n in keep.items())
        text += f"; kept as they are: {items}"
    return text


ERROR_PATTERN = re.compile(r"error", re.I)


def _error_lines(inp: ParseInput) -> tuple[list[str], dict[str, Any]]:
    lines = [line for line in inp.stdout.splitlines() if ERROR_PATTERN.search(line)]
    return lines, {"count": len(lines), "lines": lines[:50]}


def parse_error_lines(inp: ParseInput) -> Parsed:
    lines, data = _error_lines(inp)
    captures = _single_capture(inp.capture_names, len(lines))
    if not lines:
        return Parsed(True, "0", "no error lines", data, captures)
    first = lines[0].strip()
    return Parsed(
        False, str(len(lines)), f"{len(lines)} error line(s); first: {first}", data, captures
    )


def parse_error_lines_report(inp: ParseInput) -> Parsed:
    """For the incident report: collecting the lines is the job, finding some is not a failure."""
    lines, data = _error_lines(inp)
    return Parsed(True, str(len(lines)), f"{len(lines)} error line(s) collected", data)


LOAD_AVERAGE = re.compile(r"load averages?:\s*([\d.]+),?\s+([\d.]+),?\s+([\d.]+)")


def parse_load_memory(inp: ParseInput) -> Parsed:
    """`uptime && free -m`: the load average and the memory used of total (the evidence a
    person reads), not the last line (free's `Swap: 0 0 0` on a host without swap)."""
    parts: list[str] = []
    data: dict[str, Any] = {}
    if found := LOAD_AVERAGE.search(inp.stdout):
        data["load"] = [float(x) for x in found.groups()]
        parts.append(f"load average {', '.join(found.groups())}")
    for line in inp.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "Mem:" and fields[1].isdigit() and fields[2].isdigit():
            total, used = int(fields[1]), int(fields[2])
            data["memory_mib"] = {"total": total, "used": used}
            share = f" ({100 * used // total}%)" if total else ""
            parts.append(f"memory {used} of {total} MiB used{share}")
    if not parts:
        return Parsed(True, "", "no load average or memory line in the output (see it below)")
    return Parsed(True, "", " · ".join(parts), data)


PARSERS: dict[str, Parser] = {
    "psql_count": parse_psql_count,
    "compose_services": parse_compose_services,
    "backup_age": parse_backup_age,
    "git_commit": parse_git_commit,
    "key_values": parse_key_values,
    "backup_archive": parse_backup_archive,
    "restore_preview": parse_restore_preview,
    "error_lines": parse_error_lines,
    "error_lines_report": parse_error_lines_report,
    "load_memory": parse_load_memory,
}
