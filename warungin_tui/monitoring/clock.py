"""Injectable time: the schedule runs in playbook seconds since monitoring began.

ScaledClock is wall time with a speed factor (1: the real day; a fast machine can run a day at
3600, an hour a second, with the rehearsal host's day.json on the same origin and speed).
SteppedClock is the rehearsal's: time jumps to each round, so load never makes rounds late.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ScaledClock:
    origin: float
    """Wall-clock epoch of playbook second 0 (when monitoring began)."""
    speed: float = 1.0
    """Playbook seconds per wall second."""

    def now(self) -> float:
        """Playbook seconds since the origin."""
        return (time.time() - self.origin) * self.speed

    def wall(self, playbook_s: float) -> float:
        """The epoch at which playbook second `playbook_s` happens."""
        return self.origin + playbook_s / self.speed

    def retry_deadline(self, playbook_s: float) -> float:
        """Until when (epoch) a round whose slot ends at `playbook_s` may be retried."""
        return self.wall(playbook_s)

    async def sleep_until(self, playbook_s: float) -> None:
        delay = self.wall(playbook_s) - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


STEP_STAMP_S = 0.002
"""Log timestamps have millisecond precision; a round starts at least this long after a jump."""
STEP_RETRY_WINDOW_S = 5.0
"""On a stepped clock time stands still while a round is retried: give up after this long."""


class SteppedClock:
    """Rehearsal time that moves only when the monitor waits: waiting for a round jumps there.

    A loaded machine then cannot make rounds late, so a compressed day is deterministic. The
    time lives in a small JSON file shared with the rehearsal host (its day.json), which reads
    it to know the hour: {"origin": epoch, "now_s": playbook seconds, "steps": [[epoch, s]...]}.
    Whoever stands in for passing time (a test, while no monitor runs) may advance it too.
    """

    def __init__(self, path: Path, pace_s: float = 0.0) -> None:
        self.path = path
        self.pace_s = pace_s
        if not path.exists():
            self._write({"origin": time.time(), "now_s": 0.0, "steps": []})
        self.origin = float(self._read()["origin"])
        self.speed = 0.0

    def _read(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return data

    def _write(self, day: dict[str, Any]) -> None:
        tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(day), encoding="utf-8")
        os.replace(tmp, self.path)

    def now(self) -> float:
        return float(self._read()["now_s"])

    def retry_deadline(self, playbook_s: float) -> float:
        return time.time() + STEP_RETRY_WINDOW_S

    def advance(self, playbook_s: float) -> float:
        """Jump to `playbook_s` (never back); the epoch of the jump."""
        day, now = self._read(), time.time()
        if playbook_s > day["now_s"]:
            day["now_s"] = playbook_s
            day["steps"].append([now, playbook_s])
            self._write(day)
        return now

    async def sleep_until(self, playbook_s: float) -> None:
        if self.pace_s:
            await asyncio.sleep(self.pace_s)
        jumped_at = self.advance(playbook_s)
        # What the host logged for the jumped-over time is stamped at the jump: the round's
        # log window (millisecond timestamps) must end after it, so let a millisecond pass.
        await asyncio.sleep(max(0.0, jumped_at + STEP_STAMP_S - time.time()))


Clock = ScaledClock | SteppedClock
