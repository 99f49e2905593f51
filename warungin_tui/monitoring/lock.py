"""One monitor per run: an flock on RUN.jsonl.monitor.lock, and a sidecar saying who holds it."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from warungin_tui.errors import WarunginError


class MonitorBusy(WarunginError):
    title = "Already monitored"


class MonitorLock:
    """Held for the monitor's lifetime; the kernel drops it when the process dies (even SIGKILL),
    so a stale sidecar never blocks a restart."""

    def __init__(self, journal_path: Path) -> None:
        self.path = journal_path.with_name(journal_path.name + ".monitor.lock")
        self.sidecar = journal_path.with_name(journal_path.name + ".monitor.json")
        self._fd = -1

    def acquire(self, operator: str) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise MonitorBusy(self._holder()) from None
        self._fd = fd
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "operator": operator,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        tmp = self.sidecar.with_name(self.sidecar.name + ".tmp")
        tmp_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(tmp_fd, "w", encoding="utf-8") as file:
            json.dump(holder, file)
        os.replace(tmp, self.sidecar)

    def _holder(self) -> str:
        try:
            who = json.loads(self.sidecar.read_text(encoding="utf-8"))
            return (
                f"another monitor already runs on this run: pid {who['pid']} on "
                f"{who['host']}, operator {who['operator'] or '(unnamed)'}, since {who['since']}"
            )
        except (OSError, ValueError, KeyError, TypeError):
            return f"another monitor already runs on this run (lock {self.path})"

    def release(self) -> None:
        if self._fd >= 0:
            self.sidecar.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = -1
