"""What the engine asks and tells the host: its lock, and the records of interrupted commands.

Mixed into Engine. The lock is taken before the first step of a deployment phase changes
anything and released when the run has ended (finished, rolled back, abandoned). A step whose
command was interrupted is resolved from the host's record: finished (recorded with the step's
normal expectation, "outcome learned after reconnect"), still running (wait for it, following
its output, or stop it), or unknown (only then the operator decides).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from warungin_tui.engine.events import HostLockBroken, HostLockTaken, JournalEvent
from warungin_tui.engine.lifecycle import RunState, run_state
from warungin_tui.engine.run import Run
from warungin_tui.errors import EngineError, StillRunningOnHost
from warungin_tui.hostlock import (
    HostLockError,
    HostLockHeld,
    LockHolder,
    break_lock,
    host_lock_dir,
    jump_host,
    read_lock,
    release_lock,
    take_lock,
)
from warungin_tui.hostrecords import (
    STOPPED_BY_DROP,
    HostCommand,
    HostState,
    follow_command,
    forget_run_command,
    parse_probe,
    probe_command,
    prune_command,
    record_dir,
    record_id,
    stop_command,
)
from warungin_tui.outcome import Outcome, StepStatus
from warungin_tui.playbook import StepKind, StepSpec

if TYPE_CHECKING:
    from warungin_tui.config import Config
    from warungin_tui.engine.stepslots import StepSlots
    from warungin_tui.journal import Journal
    from warungin_tui.remote_api import RemoteLink
    from warungin_tui.steps.base import StepContext

LOCKED_PHASES = ("phase1", "phase2", "phase3", "rollback")
"""Phases whose steps run only while this run holds the host lock."""
RECORDED_KINDS = (StepKind.SSH, StepKind.WAIT)
ASK_TIMEOUT_S = 30.0
"""Asking the host (reconnect included) gives up after this long: the outcome stays unknown."""
OUTPUT_READ_LIMIT = 1_000_000
LEARNED = "outcome learned after reconnect"


class HostGuard:
    """The host lock and the host's records of commands; expects the Engine's attributes."""

    if TYPE_CHECKING:
        config: Config
        run: Run
        journal: Journal | None
        remote: RemoteLink | None
        guard_host: bool
        read_only: str | None
        _host_lock_held: bool
        slots: StepSlots

        def record(self, event: JournalEvent) -> dict[str, Any]: ...

        def check_can_act(self, step_id: str) -> StepSpec: ...

        def values(self) -> dict[str, Any]: ...

        def output_recorder(
            self, spec: StepSpec
        ) -> Callable[[str, list[str]], Awaitable[None]]: ...

        def _finish(self, spec: StepSpec, outcome: Outcome, started: float | None) -> Outcome: ...

        def _context(self, spec: StepSpec) -> StepContext: ...

    # -- the host lock ---------------------------------------------------------------------
    @property
    def lock_dir(self) -> str:
        return host_lock_dir(self.config.target.project_dir)

    def _holder(self) -> LockHolder:
        return LockHolder(
            operator=self.run.operator,
            jump_host=jump_host(),
            run_id=self.run.run_id,
            release=self.run.release,
            since=datetime.now(UTC).isoformat(timespec="seconds"),
            journal=str(self.journal.path.resolve()) if self.journal is not None else "",
        )

    @property
    def host(self) -> RemoteLink:
        """The connection, for the questions only a connected run asks."""
        if self.remote is None:
            raise EngineError("this run has no SSH connection to ask the host")
        return self.remote

    async def ensure_host_lock(self, spec: StepSpec) -> None:
        """Take the host lock before a deployment phase's step; HostLockHeld if another has it."""
        if not self.guard_host or self._host_lock_held or self.journal is None:
            return
        if self.run.playbook.phase_of(spec.id).id not in LOCKED_PHASES:
            return
        holder = self._holder()
        current = await take_lock(self.host, self.lock_dir, holder)
        if current is not None and current.run_id != self.run.run_id:
            raise HostLockHeld(self.lock_dir, current)
        self._host_lock_held = True
        with contextlib.suppress(Exception):  # housekeeping only: old runs' records
            await self.host.run(prune_command(), timeout=ASK_TIMEOUT_S)
        event: HostLockTaken = {"type": "host_lock_taken", "lock_dir": self.lock_dir}
        if current is None:
            event["holder"] = asdict(holder)
        else:
            event["holder"], event["adopted"] = asdict(current), True  # ours, from before a restart
        self.record(event)

    async def release_host_lock(self, reason: str) -> None:
        """Give the lock back (only if this run holds it) and forget the run's host records."""
        if not self._host_lock_held:
            return
        removed = await release_lock(self.host, self.lock_dir, self.run.run_id)
        with contextlib.suppress(Exception):  # records are a courtesy: a stale folder is harmless
            await self.host.run(forget_run_command(self.run.run_id), timeout=ASK_TIMEOUT_S)
        self._host_lock_held = False
        self.record(
            {
                "type": "host_lock_released",
                "lock_dir": self.lock_dir,
                "reason": reason,
                "removed": removed,
            }
        )

    async def release_host_lock_if_ended(self) -> None:
        if self._host_lock_held and run_state(self.run) != RunState.IN_PROGRESS:
            with contextlib.suppress(Exception):  # closing must not fail on a dead connection
                await self.release_host_lock(f"the run is {run_state(self.run)}")

    async def host_lock(self) -> tuple[bool, LockHolder | None]:
        """Who holds the host lock now: (held, holder)."""
        return await read_lock(self.host, self.lock_dir)

    async def break_host_lock(self, reason: str) -> LockHolder | None:
        """Remove another run's lock with a typed reason, recorded in both journals."""
        from warungin_tui.hostlock_journal import ensure_not_open_here, record_in_holder_journal

        if self.read_only is not None:
            raise EngineError(self.read_only)
        if not reason.strip():
            raise EngineError("breaking the host lock needs a reason")
        held, holder = await read_lock(self.host, self.lock_dir)
        if not held or (holder is not None and holder.run_id == self.run.run_id):
            return holder
        ensure_not_open_here(holder)
        await break_lock(self.host, self.lock_dir)
        event: HostLockBroken = {
            "type": "host_lock_broken",
            "lock_dir": self.lock_dir,
            "reason": reason.strip(),
            "by": self.run.operator,
            "by_host": jump_host(),
            "by_run": self.run.run_id,
            "holder": asdict(holder) if holder is not None else None,
        }
        written = record_in_holder_journal(holder, event)
        self.record({**event, "holder_journal": written or ""})
        return holder

    # -- host records of commands ----------------------------------------------------------
    def new_host_record(self, spec: StepSpec) -> str | None:
        """The record name for the attempt about to start, when commands leave records."""
        if not self.guard_host or self.journal is None or spec.kind not in RECORDED_KINDS:
            return None
        return record_id(self.run.run_id, spec.id, self.run.results[spec.id].attempts + 1)

    async def ask_host(self, record: str) -> HostCommand | None:
        """What the host knows about a recorded command; None when the host cannot be asked."""
        from warungin_tui.remote import RemoteError

        try:
            async with asyncio.timeout(ASK_TIMEOUT_S):
                result = await self.host.run(probe_command(record), timeout=ASK_TIMEOUT_S)
        except (RemoteError, TimeoutError):
            return None
        return parse_probe(result.stdout)

    def _resolvable(self, spec: StepSpec) -> str | None:
        record = self.run.results[spec.id].host_record
        if not self.guard_host or spec.kind != StepKind.SSH or not record:
            return None  # wait steps poll read-only commands: running them again is the answer
        return record

    async def learn_from_host(self, spec: StepSpec) -> Outcome | None:
        """For an interrupted step: record the outcome the host knows, or raise if it runs.

        None when the outcome stays unknown (no record, process gone without a status)."""
        record = self._resolvable(spec)
        if record is None:
            return None
        found = await self.ask_host(record)
        if found is None:
            from warungin_tui.remote import HostUnreachable

            raise HostUnreachable(
                f"{self.config.target.label}: cannot ask the host about "
                f"{spec.title}; nothing was run"
            )
        return await self._settle(spec, record, found, "", after_drop=True)

    async def _settle(
        self, spec: StepSpec, record: str, found: HostCommand, prefix: str, after_drop: bool = False
    ) -> Outcome | None:
        """Record the outcome the host knows; None when it stays unknown. `after_drop`: the step
        was interrupted, so a command stopped by the drop (STOPPED_BY_DROP) did not complete and
        is not judged as failed (the step stays interrupted; a retry runs it again)."""
        if found.state == HostState.RUNNING:
            raise StillRunningOnHost(
                f"{spec.title} is still running on the host (pid {found.pid}): wait for it "
                "(following its output) or stop it; it is never started twice",
                spec.id,
                found.pid,
            )
        if found.state != HostState.FINISHED or found.status is None:
            return None
        if after_drop and found.status in STOPPED_BY_DROP:
            return None
        outcome = await self._learned_outcome(spec, record, found.status, prefix)
        return self._finish(spec, outcome, None)  # the redacted outcome, as recorded

    async def _learned_outcome(
        self, spec: StepSpec, record: str, status: int, prefix: str = ""
    ) -> Outcome:
        """Judge a finished command by the step's normal expectation, from the host's files."""
        from warungin_tui.remote import CommandResult
        from warungin_tui.steps.ssh import judge_result

        folder = record_dir(record)
        read = (
            f"tail -c {OUTPUT_READ_LIMIT} -- {folder}/out 2>/dev/null; "
            f"tail -c {OUTPUT_READ_LIMIT} -- {folder}/err >&2 2>/dev/null; true"
        )
        try:
            files = await self.host.run(read, timeout=ASK_TIMEOUT_S)
            stdout, stderr = files.stdout, files.stderr
        except Exception:  # noqa: BLE001 - the status alone still decides the exit-code check
            stdout = stderr = ""
        ctx = self._context(spec)
        timeout = ctx.seconds(spec.timeout)
        command = self.run.results[spec.id].command or ""
        timed_out = status in (124, 137)
        result = CommandResult(
            command, None if timed_out else status, stdout, stderr, timed_out, 0.0
        )
        outcome, _ = judge_result(ctx, spec, command, result, timeout)
        outcome.exit_code = status
        outcome.command = command or None
        outcome.detail = f"{prefix}{outcome.detail} ({LEARNED})".strip()
        return outcome

    async def outcome_after_reconnect(
        self, spec: StepSpec, record: str, lost: str, command: str
    ) -> Outcome | None:
        """Right after a drop: ask the host once (reconnecting). None when it cannot say."""
        if spec.kind != StepKind.SSH:
            return None
        found = await self.ask_host(record)
        if found is None:
            return Outcome(
                StepStatus.INTERRUPTED,
                f"{lost}; the host could not be asked yet, so its outcome on the server is "
                "unknown: r asks the host again before anything is rerun",
                command=command,
            )
        if found.state == HostState.RUNNING:
            return Outcome(
                StepStatus.INTERRUPTED,
                f"{lost}; the command is still running on the host (pid {found.pid}): r offers "
                "to wait for it or to stop it",
                command=command,
            )
        if found.state == HostState.FINISHED and found.status in STOPPED_BY_DROP:
            return Outcome(
                StepStatus.INTERRUPTED,
                f"{lost}; the host says the drop stopped the command (exit {found.status}) "
                "before it completed",
                exit_code=found.status,
                command=command,
            )
        if found.state == HostState.FINISHED and found.status is not None:
            return await self._learned_outcome(spec, record, found.status)
        return None

    async def resolve_interrupted(self) -> dict[str, HostCommand | None]:
        """After resuming and connecting: settle every interrupted step the host knows about.

        Returns what the host said per interrupted step (running ones stay interrupted)."""
        said: dict[str, HostCommand | None] = {}
        if self.read_only is not None:
            return said
        for step_id, result in self.run.results.items():
            spec = self.run.playbook.step(step_id)
            if result.status != StepStatus.INTERRUPTED or self._resolvable(spec) is None:
                continue
            record = result.host_record or ""
            found = await self.ask_host(record)
            said[step_id] = found
            if found is not None and found.state == HostState.FINISHED:
                await self._settle(spec, record, found, "", after_drop=True)
        return said

    async def host_command_state(self, step_id: str) -> HostCommand | None:
        spec = self.check_can_act(step_id)
        record = self._resolvable(spec)
        return None if record is None else await self.ask_host(record)

    async def wait_for_host_command(self, step_id: str) -> Outcome | None:
        """Follow a still-running command's output from the host until it ends, then record
        its outcome. None when its outcome stays unknown."""
        spec = self.check_can_act(step_id)
        record = self._resolvable(spec)
        if record is None:
            raise EngineError(f"{spec.title}: the host keeps no record of it to wait for")
        with self.slots.hold(spec):
            return await self._follow(spec, record)

    async def _follow(self, spec: StepSpec, record: str) -> Outcome | None:
        from warungin_tui.remote import ConnectionLost

        found = await self.ask_host(record)
        if found is not None and found.state == HostState.RUNNING:
            self.record(
                {
                    "type": "step_reattached",
                    "step": spec.id,
                    "host_record": record,
                    "pid": found.pid,
                }
            )
            started = time.monotonic()
            timeout = self._context(spec).seconds(spec.timeout)
            try:
                await self.host.run(
                    follow_command(record),
                    timeout=timeout,
                    on_output=self.output_recorder(spec),
                )
            except asyncio.CancelledError:
                self._finish(
                    spec,
                    Outcome(
                        StepStatus.INTERRUPTED,
                        "stopped following; the command still runs on the host: r asks again",
                    ),
                    started,
                )
                raise
            except ConnectionLost as exc:
                lost = f"connection lost while following the command ({exc})"
                self._finish(
                    spec, Outcome(StepStatus.INTERRUPTED, f"{lost}; r asks the host again"), started
                )
                return None
            found = await self.ask_host(record)
        if found is None:
            return None
        try:
            outcome = await self._settle(spec, record, found, "")
        except StillRunningOnHost:
            self._finish(
                spec,
                Outcome(
                    StepStatus.INTERRUPTED,
                    "still running on the host after the step's time limit: r asks again",
                ),
                None,
            )
            return None
        if outcome is None:
            self._finish(
                spec,
                Outcome(
                    StepStatus.INTERRUPTED,
                    "the command ended on the host without recording its exit status: its "
                    "outcome on the server is unknown",
                ),
                None,
            )
        return outcome

    async def stop_host_command(self, step_id: str) -> Outcome | None:
        """Stop a command still running on the host, then record what it ended with."""
        spec = self.check_can_act(step_id)
        record = self._resolvable(spec)
        if record is None:
            raise EngineError(f"{spec.title}: the host keeps no record of it to stop")
        with self.slots.hold(spec):
            await self.host.run(stop_command(record), timeout=ASK_TIMEOUT_S)
            found = await self.ask_host(record)
            if found is not None and found.state == HostState.FINISHED:
                who = self.run.operator or "the operator"
                return await self._settle(spec, record, found, f"stopped on the host by {who}: ")
            if found is not None and found.state == HostState.RUNNING:
                raise HostLockError(f"{spec.title} did not stop on the host (pid {found.pid})")
            outcome = Outcome(
                StepStatus.FAILED,
                f"stopped on the host by {self.run.operator or 'the operator'}; its exit "
                "status was not recorded",
            )
            return self._finish(spec, outcome, None)
