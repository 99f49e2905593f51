"""The rehearsal host's state file, the emulated services' fixed facts, and process helpers.

Shared by the docker shim (one short-lived process per `docker` call) and RehearsalHost, so the
state lives in one JSON file guarded by a lock file. Standard library only: the shim starts fast.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple


class ServiceSpec(NamedTuple):
    """What docker-compose.yml says about one service, as far as the emulation needs it."""

    name: str
    image: str
    command: str
    healthcheck: bool
    built: bool  # has a `build:` section, so `docker compose build` makes its image
    target_port: int
    server: str | None  # kind of fake HTTP server it runs, None for state-only services

    @property
    def container(self) -> str:
        return f"warungin-{self.name}"


PROJECT = "warungin"
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "postgres", "postgres:15-alpine", "docker-entrypoint.sh postgres", True, False, 5432, None
    ),
    ServiceSpec(
        "redis",
        "redis:7-alpine",
        "docker-entrypoint.sh redis-server --appendonly yes",
        True,
        False,
        6379,
        None,
    ),
    ServiceSpec(
        "backend",
        "warungin-backend",
        "uvicorn app.main:app --host 0.0.0.0 --port 8000",
        True,
        True,
        8000,
        "backend",
    ),
    ServiceSpec(
        "frontend",
        "warungin-frontend",
        "/docker-entrypoint.sh nginx -g 'daemon off;'",
        True,
        True,
        80,
        "frontend",
    ),
    ServiceSpec(
        "nginx",
        "nginx:1.27-alpine",
        "/docker-entrypoint.sh nginx -g 'daemon off;'",
        True,
        False,
        80,
        "nginx",
    ),
    ServiceSpec(
        "loki",
        "grafana/loki:2.9.4",
        "/usr/bin/loki -config.file=/etc/loki/local-config.yaml",
        False,
        False,
        3100,
        None,
    ),
    ServiceSpec(
        "promtail",
        "grafana/promtail:2.9.4",
        "/usr/bin/promtail -config.file=/etc/promtail/config.yml",
        False,
        False,
        9080,
        None,
    ),
    ServiceSpec(
        "cloudflared",
        "cloudflare/cloudflared:2024.12.2",
        "cloudflared --no-autoupdate tunnel run",
        False,
        False,
        2000,
        None,
    ),
)
SPECS: dict[str, ServiceSpec] = {spec.name: spec for spec in SERVICES}
SERVER_KINDS = ("backend", "frontend", "nginx")


def image_id(service: str, version: str) -> str:
    """A stable fake image id: the same sources give the same image, as with a warm cache."""
    return "sha256:" + hashlib.sha256(f"{service}:{version}".encode()).hexdigest()


def container_id(service: str, created_at: float) -> str:
    return hashlib.sha256(f"{service}:{created_at!r}".encode()).hexdigest()


class StateStore:
    """state.json in the state folder: read without a lock (written by atomic rename),
    updated under an exclusive lock so parallel `docker` calls do not lose changes."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir)
        self.path = self.dir / "state.json"

    def read(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return data

    def write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)

    def day(self) -> dict[str, Any] | None:
        """The monitoring day's clock (day.json), if one was started."""
        try:
            day: dict[str, Any] = json.loads((self.dir / "day.json").read_text(encoding="utf-8"))
            return day
        except (OSError, ValueError):
            return None

    @contextmanager
    def update(self) -> Iterator[dict[str, Any]]:
        """Yield the state under the lock and write it back, also when the block fails halfway
        (a half-done `up` must still record the servers it did start)."""
        with (self.dir / "lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self.read()
            try:
                yield data
            finally:
                self.write(data)


# -- processes -----------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may hold spaces), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def start_time(pid: int) -> str | None:
    """Start time of a living process (clock ticks since boot); None when gone or a zombie.

    A zombie counts as gone: this machine's PID 1 does not reap orphans."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def parent_pid(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else 0


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive(pid: int | None, start: str | None = None) -> bool:
    """Whether `pid` runs and is still the process that started at `start` (pid reuse)."""
    if not pid:
        return False
    now = start_time(pid)
    return now is not None and (start is None or now == start)


def signal_process(pid: int, sig: signal.Signals) -> bool:
    """Send `sig` to the process, or to its whole group when it leads one; False if it is gone."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def terminate(pid: int | None, start: str | None = None, timeout: float = 3.0) -> None:
    """Stop a process (its whole group when it leads one): TERM, then KILL after `timeout`."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        if not alive(pid, start):
            return
        assert pid is not None
        if not signal_process(pid, sig):
            return
        deadline = time.monotonic() + wait
        while alive(pid, start) and time.monotonic() < deadline:
            time.sleep(0.01)


def sandbox_processes(state_dir: Path) -> list[tuple[int, str]]:
    """(pid, start) of every living shim or fake server working on `state_dir`."""
    wanted = str(state_dir)
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        args = cmdline(int(entry.name))
        if not any(a.startswith("warungin_tui.sandbox.") for a in args):
            continue
        if any(a == "--state" and b == wanted for a, b in zip(args, args[1:], strict=False)):
            start = start_time(int(entry.name))
            if start is not None:
                found.append((int(entry.name), start))
    return found


# -- ports ---------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, timeout: float = 0.2) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False
