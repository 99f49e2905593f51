"""SSH command steps and wait-until steps: run a rendered command, judge exit code and output."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warungin_tui.outcome import Outcome, StepStatus
from warungin_tui.playbook import StepSpec
from warungin_tui.redact import excerpt, redact_text, window
from warungin_tui.steps.base import StepContext
from warungin_tui.steps.parsers import PARSERS, Parsed, ParseInput
from warungin_tui.templating import render_command, render_plain

if TYPE_CHECKING:
    from warungin_tui.remote import CommandResult


def parse_input(ctx: StepContext, spec: StepSpec, stdout: str) -> ParseInput:
    services = render_plain(spec.services, ctx.values).split() if spec.services else []
    thresholds = {k: float(v) for k, v in ctx.config.thresholds.model_dump().items()}
    return ParseInput(stdout, services, thresholds, list(spec.captures))


def judge_output(ctx: StepContext, spec: StepSpec, stdout: str) -> Parsed | None:
    """Apply the regex/equality expectations, then the named parser; None when all is fine."""
    expect = spec.expect
    if expect.stdout_regex:
        match = re.search(render_plain(expect.stdout_regex, ctx.values), stdout)
        if not match:
            return Parsed(False, "", f"output does not match /{expect.stdout_regex}/")
        if not expect.parser:
            # The evidence is the line that matched, not whatever the command printed last.
            start = stdout.rfind("\n", 0, match.start()) + 1
            end = stdout.find("\n", match.end())
            line = stdout[start : end if end >= 0 else None].strip()
            return Parsed(True, match.group(0), excerpt(line, 200))
    if expect.stdout_equals is not None:
        wanted = render_plain(expect.stdout_equals, ctx.values)
        got = stdout.strip()
        if got != wanted:
            return Parsed(False, got, f"expected {wanted!r}, got {got!r}")
        return Parsed(True, got, got)
    if expect.parser:
        return PARSERS[expect.parser](parse_input(ctx, spec, stdout))
    return None


async def run_command_once(
    ctx: StepContext, spec: StepSpec, command: str, timeout: float, quiet: bool = False
) -> tuple[Outcome, Parsed | None]:
    remote = ctx.require_remote()
    on_output = None if quiet else ctx.output
    if ctx.host_record is None:
        result = await remote.run(command, timeout=timeout, on_output=on_output)
    else:
        result = await remote.run(
            command, timeout=timeout, on_output=on_output, record=ctx.host_record
        )
    return judge_result(ctx, spec, command, result, timeout)


def judge_result(
    ctx: StepContext, spec: StepSpec, command: str, result: CommandResult, timeout: float
) -> tuple[Outcome, Parsed | None]:
    """The step's expectation applied to a command's result (also one learned from the host)."""
    outcome = Outcome(StepStatus.PASSED, exit_code=result.exit_status, command=command)
    if result.timed_out:
        outcome.status = StepStatus.FAILED
        outcome.detail = f"timed out after {timeout:g} s; the command was ended on the server"
        return outcome, None
    wanted = spec.expect.exit_code
    if wanted is not None and result.exit_status != wanted:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or [""]
        outcome.status = StepStatus.FAILED
        # Redacted before it is cut: a cut could leave half a secret no pattern recognises.
        said = redact_text(window(last[0], 300))
        said = said if len(last[0]) <= 300 else said[:300] + " [...]"
        outcome.detail = f"exit code {result.exit_status} (expected {wanted}) {said}".strip()
        return outcome, None
    parsed = judge_output(ctx, spec, result.stdout)
    if parsed is not None:
        outcome.value = parsed.data if parsed.data is not None else parsed.key
        outcome.detail = parsed.detail
        outcome.captures = parsed.captures
        if not parsed.ok:
            outcome.status = StepStatus.FAILED
    else:
        tail = result.stdout.strip().splitlines()[-1:] or [f"exit code {result.exit_status}"]
        outcome.detail = excerpt(tail[0], 200)
    return outcome, parsed


async def run_ssh_step(ctx: StepContext, spec: StepSpec) -> Outcome:
    assert spec.command is not None
    command = render_command(spec.command, ctx.values)
    outcome, _ = await run_command_once(ctx, spec, command, ctx.seconds(spec.timeout))
    return outcome


FIRST_POLL_GAP_S = 0.25
"""Wait steps poll this soon after the first poll, then double the gap up to the configured
interval: a service that becomes ready right away is seen within half a second, a slow one
is not polled more often than the interval asks."""


def poll_gaps(interval: float) -> Iterator[float]:
    """Gaps between polls: 0.25 s doubling to `interval` (never above it), then `interval`."""
    gap = min(FIRST_POLL_GAP_S, interval)
    while True:
        yield gap
        gap = min(gap * 2, interval)


@dataclass
class Grace:
    """How long a bad answer that may recover (a failing health check) is waited out: it fails
    the wait once it persisted for `polls` polls in a row AND `seconds` (both: early polls come
    fast, so polls alone would be a fraction of a second)."""

    polls: int
    seconds: float
    seen: int = 0
    since: float | None = None

    def observe(self, recovering: list[str], now: float) -> None:
        """Count this poll: a streak of bad answers goes on, a good one ends it."""
        if not recovering:
            self.seen, self.since = 0, None
            return
        self.seen += 1
        self.since = now if self.since is None else self.since

    def persisted_s(self, now: float) -> float:
        return 0.0 if self.since is None else now - self.since

    def exhausted(self, now: float) -> bool:
        return self.seen >= self.polls and self.persisted_s(now) >= self.seconds

    def describe(self, now: float) -> str:
        noun = "poll" if self.seen == 1 else "polls"
        return (
            f"for {self.seen} {noun} over {self.persisted_s(now):.1f} s; the grace is "
            f"{self.polls} polls and {self.seconds:g} s ([thresholds] unhealthy_grace_*)"
        )


async def run_wait_step(ctx: StepContext, spec: StepSpec) -> Outcome:
    """Poll until the parsed value equals `until_value`, showing each poll, within the timeout.
    An exited or dead service fails at once; an unhealthy one only after its grace."""
    assert spec.command is not None
    command = render_command(spec.command, ctx.values)
    wanted = render_plain(spec.expect.until_value or "", ctx.values)
    gaps = poll_gaps(ctx.seconds(spec.interval))
    deadline = time.monotonic() + ctx.seconds(spec.timeout)
    per_poll = min(ctx.config.thresholds.command_timeout_seconds, ctx.seconds(spec.timeout))
    thresholds = ctx.config.thresholds
    grace = Grace(thresholds.unhealthy_grace_polls, thresholds.unhealthy_grace_seconds)
    polls = 0
    while True:
        polls += 1
        outcome, parsed = await run_command_once(ctx, spec, command, per_poll, quiet=True)
        now = time.monotonic()
        key = parsed.key if parsed else ""
        shown = parsed.detail if parsed else outcome.detail
        grace.observe(parsed.recovering if parsed else [], now)
        remaining = deadline - now
        # Decide first, announce after: the output never promises a poll that will not come.
        if parsed is not None and key == wanted:
            outcome.status = StepStatus.PASSED
            outcome.detail = f"{shown} (after {polls} poll{'s' if polls > 1 else ''})"
        elif parsed is None and outcome.exit_code is None:
            pass  # timed out: waiting more would not help; the outcome says so
        elif parsed is not None and parsed.settled:
            outcome.status = StepStatus.FAILED
            outcome.detail = f"{shown} (poll {polls}; waiting cannot fix this)"
        elif grace.exhausted(now):
            outcome.status = StepStatus.FAILED
            outcome.detail = f"{shown} ({grace.describe(now)})"
        elif remaining <= 0:
            outcome.status = StepStatus.FAILED
            outcome.detail = f"still {shown} after {ctx.seconds(spec.timeout):g} s ({polls} polls)"
        else:
            next_in = min(next(gaps), remaining)
            waiting = f" (unhealthy {grace.describe(now)})" if grace.seen else ""
            await ctx.output(
                "stdout", [f"poll {polls}: {shown}{waiting}; next poll in {next_in:.1f} s"]
            )
            ctx.progress({"poll": polls, "value": key, "detail": shown, "next_poll_s": next_in})
            await asyncio.sleep(next_in)
            continue
        await ctx.output("stdout", [f"poll {polls}: {shown}"])
        ctx.progress({"poll": polls, "value": key, "detail": shown, "next_poll_s": None})
        return outcome
