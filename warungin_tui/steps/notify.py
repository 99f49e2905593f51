"""Notify steps: fill the seed's message template; send it when a `[notify] command` is set."""

from __future__ import annotations

from typing import Any

from warungin_tui.notices import prepare_notice, send_notice
from warungin_tui.outcome import Outcome, StepStatus
from warungin_tui.playbook import StepSpec
from warungin_tui.steps.base import StepContext


def render_notice(spec: StepSpec, values: dict[str, Any]) -> dict[str, Any]:
    assert spec.message is not None
    return prepare_notice(spec, values)


async def run_notify_step(ctx: StepContext, spec: StepSpec) -> Outcome:
    notice = render_notice(spec, dict(ctx.values))
    await ctx.output("stdout", str(notice["body"]).splitlines())
    missing: list[str] = notice["missing_contacts"]
    gaps = f"; [contacts] {', '.join(missing)} not configured" if missing else ""
    command = ctx.config.notify.command
    if not command:
        # Whether it was sent is recorded apart (notice_confirmed): this detail never goes stale.
        detail = f"message ready: {notice['subject']}{gaps}"
        return Outcome(StepStatus.WARNING if missing else StepStatus.PASSED, detail, value=notice)
    text = f"Subject: {notice['subject']}\n\n{notice['body']}\n"
    sent = await send_notice(command, text, ctx.config.notify.timeout_seconds)
    notice["sent"] = sent.record(command)
    if sent.output:
        await ctx.output("stdout", [f"[{command[0]}] {line}" for line in sent.output])
    if not sent.ok:
        return Outcome(StepStatus.FAILED, sent.detail, exit_code=sent.exit_code, value=notice)
    status = StepStatus.WARNING if missing else StepStatus.PASSED
    return Outcome(status, f"{sent.detail}{gaps}", exit_code=0, value=notice)
