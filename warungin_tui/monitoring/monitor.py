"""The monitor: follows the schedule over one SSH connection, one round at a time, each round's
probes concurrently; every sample and every gap is appended to the run's journal.

Rounds are identified by their due time, and a round is taken only while its slot lasts (until
the next round is due). So a restarted monitor never takes a round twice, and rounds nobody took
(the monitor was down, or could not reach the host) are recorded as gaps: the monitor's own
trouble, never the service's downtime.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warungin_tui.config import Config, parse_config
from warungin_tui.engine.events import JournalEvent, MonitoringGap
from warungin_tui.engine.lifecycle import RunState, run_state
from warungin_tui.engine.run import Run, rebuild_run
from warungin_tui.errors import WarunginError
from warungin_tui.journal import Journal, read_journal
from warungin_tui.monitoring.alerts import alerts_for
from warungin_tui.monitoring.clock import Clock, ScaledClock, SteppedClock
from warungin_tui.monitoring.probes import LOG_PROBES, PROBE_FUNCTIONS, ProbeContext, ProbeResult
from warungin_tui.monitoring.schedule import Round, Schedule
from warungin_tui.monitoring.summary import clock_text
from warungin_tui.playbook import build_playbook
from warungin_tui.redact import redact_text
from warungin_tui.remote import (
    AuthenticationFailed,
    HostKeyChanged,
    HostKeyUnknown,
    Remote,
    RemoteError,
)
from warungin_tui.steps.http import HttpProber

BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 30.0
FATAL = (AuthenticationFailed, HostKeyChanged, HostKeyUnknown)


class MonitorRefused(WarunginError):
    """The monitor cannot run on this run (finished, unreadable): one line for the person."""

    title = "Cannot monitor"


@dataclass
class MonitorOptions:
    speed: float = 1.0
    """Playbook seconds per wall second for a new monitoring clock (1: the real day)."""
    origin: float | None = None
    """Epoch of playbook second 0 for a new clock; default: now."""
    for_s: float | None = None
    """Stop after this many playbook seconds (default: at the end of the period)."""
    operator: str = ""
    day_file: Path | None = None
    """Rehearsal: run on the SteppedClock kept in this file (the rehearsal host's day.json)."""
    pace_s: float = 0.0
    """Rehearsal: wall seconds between rounds on a stepped clock (so a person can follow)."""


def redacted(value: Any) -> Any:
    """Every string of a sample through the redaction function, before it is journaled."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


def load_run(path: Path, records: list[dict[str, Any]] | None = None) -> Run:
    """The run folded from its journal, with the config it was started with."""
    records = read_journal(path) if records is None else records
    if not records or records[0]["event"].get("type") != "run_started":
        raise MonitorRefused(f"{path}: not a run journal")
    config = parse_config(records[0]["event"]["config"], path)
    return rebuild_run(build_playbook(config), records)


class Monitor:
    def __init__(
        self,
        config: Config,
        journal_path: Path,
        remote: Remote,
        options: MonitorOptions,
        out: Callable[[str], None] = print,
    ) -> None:
        self.config = config
        self.path = journal_path
        self.remote = remote
        self.options = options
        self.out = out
        # Not the run's exclusive writer: the wizard may have it open (see Journal).
        self.journal = Journal(journal_path, operator=options.operator, exclusive=False)
        try:
            self.run = load_run(journal_path, self.journal.read_all())
        except BaseException:
            self.journal.close()
            raise
        if run_state(self.run) != RunState.IN_PROGRESS:
            self.journal.close()
            raise MonitorRefused(f"{journal_path.name}: the run is {run_state(self.run)}")
        self.http = HttpProber(remote, config.endpoints.ca_bundle)
        self.failures = 0
        self.last_error = ""

    @property
    def state(self) -> Any:
        return self.run.monitoring

    def record(self, event: JournalEvent) -> dict[str, Any]:
        record = self.journal.append(redacted(event))
        for other in self.journal.drain_unseen():  # the wizard's lines since ours, in order
            self.run.apply(other)
        self.run.apply(record)
        return record

    async def aclose(self) -> None:
        await self.http.aclose()
        self.journal.close()

    # -- the schedule ---------------------------------------------------------------------------

    def _start_clock(self) -> tuple[Clock, Schedule]:
        day_file = self.options.day_file
        stepped = SteppedClock(day_file, self.options.pace_s) if day_file else None
        if self.state.started is None:
            self.record(
                {
                    "type": "monitoring_started",
                    "clock": "stepped" if stepped else "scaled",
                    "origin": stepped.origin if stepped else self.options.origin or time.time(),
                    "speed": self.options.speed,
                    "settings": self.config.monitoring.model_dump(mode="json"),
                    "by": self.options.operator,
                }
            )
        started = self.state.started
        clock: Clock
        if started.get("clock") == "stepped":
            if stepped is None:
                raise MonitorRefused(
                    "this run is monitored on a rehearsal clock: pass its day file"
                )
            clock = stepped
        else:
            clock = ScaledClock(float(started["origin"]), float(started["speed"]))
        schedule = self.state.schedule
        assert schedule is not None
        return clock, schedule

    async def run_schedule(self) -> None:
        """Take every round still to come until the period (or --for) ends."""
        clock, schedule = self._start_clock()
        stop_s = schedule.period_s
        if self.options.for_s is not None:
            stop_s = min(stop_s, clock.now() + self.options.for_s)
        missed_because = "the monitor was not running"
        while True:
            self._record_missed(clock, schedule, missed_because)
            missed_because = "the monitor fell behind the schedule"
            item = schedule.round_after(self.state.handled_through_s)
            if item is None or item.due_s >= stop_s:
                break
            await clock.sleep_until(item.due_s)
            probes = await self._take(item, clock, schedule)
            if probes is None:
                self._gap([item], schedule, f"no connection to the host: {self.last_error}")
                continue
            self._sample(item, clock, probes)
            if run_state(self.run) != RunState.IN_PROGRESS:
                self.out(f"the run is {run_state(self.run)}: monitoring ends")
                return
        if self.state.completed_at is None and stop_s >= schedule.period_s:
            await clock.sleep_until(schedule.period_s)
            self.record({"type": "monitoring_completed"})
            self.out(f"[{clock_text(schedule.period_s)}] monitoring period complete: sign off")

    def _record_missed(self, clock: Clock, schedule: Schedule, reason: str) -> None:
        """Rounds whose slot has already ended, untaken: one gap."""
        missed: list[Round] = []
        after = self.state.handled_through_s
        now = clock.now()
        while (item := schedule.round_after(after)) is not None and schedule.slot_end(item) <= now:
            missed.append(item)
            after = item.due_s
        if missed:
            self._gap(missed, schedule, reason)

    def _gap(self, missed: list[Round], schedule: Schedule, reason: str) -> None:
        event: MonitoringGap = {
            "type": "monitoring_gap",
            "from_s": missed[0].due_s,
            "to_s": schedule.slot_end(missed[-1]),
            "through_due_s": missed[-1].due_s,
            "missed": len(missed),
            "reason": reason,
        }
        self.record(event)
        span = f"{clock_text(missed[0].due_s)}-{clock_text(schedule.slot_end(missed[-1]))}"
        self.out(f"[{span}] gap in monitoring ({len(missed)} rounds): {reason}")

    # -- one round ------------------------------------------------------------------------------

    async def _take(
        self, item: Round, clock: Clock, schedule: Schedule
    ) -> dict[str, ProbeResult] | None:
        """The round's results, retrying a dropped connection with backoff while its slot lasts."""
        slot_end_wall = clock.retry_deadline(schedule.slot_end(item))
        while True:
            try:
                await self.remote.connect()
                probes = await self._probe(item, clock)
                self.failures = 0
                return probes
            except FATAL:
                raise
            except RemoteError as exc:
                self.last_error = str(exc)
                await self.remote.close()
                remaining = slot_end_wall - time.time()
                if remaining <= 0:
                    return None
                # Backoff grows over an outage; the slot's end always gets a last attempt.
                delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2**self.failures, remaining)
                self.failures += 1
                await asyncio.sleep(delay)

    async def _probe(self, item: Round, clock: Clock) -> dict[str, ProbeResult]:
        until = time.time()
        since = {p: self.state.log_until.get(p, clock.origin) for p in LOG_PROBES}
        ctx = ProbeContext(self.config, self.remote, self.http, since, until)
        answers = await asyncio.gather(
            *(PROBE_FUNCTIONS[name](ctx) for name in item.probes), return_exceptions=True
        )
        results: dict[str, ProbeResult] = {}
        for name, answer in zip(item.probes, answers, strict=True):
            if isinstance(answer, RemoteError):
                raise answer
            if isinstance(answer, BaseException):
                if not isinstance(answer, Exception):
                    raise answer
                answer = {"ok": False, "detail": f"probe failed: {type(answer).__name__}: {answer}"}
            results[name] = answer
        return results

    def _sample(self, item: Round, clock: Clock, probes: dict[str, ProbeResult]) -> None:
        alerts = alerts_for(probes)
        self.record(
            {
                "type": "monitoring_sample",
                "due_s": item.due_s,
                "taken_s": round(clock.now(), 3),
                "window": item.window,
                "probes": probes,
                "alerts": alerts,
            }
        )
        summary = "; ".join(
            f"{name} {'ok' if r.get('ok') else 'FAIL'}" for name, r in probes.items()
        )
        line = f"[{clock_text(item.due_s)}] {summary}"
        if alerts:
            line += " | ALERT: " + "; ".join(a["text"] for a in alerts)
        self.out(line)
