"""Notify steps: fill the seed's message template from config and the run's times."""

from __future__ import annotations

from warungin_tui.playbook import StepSpec
from warungin_tui.run import StepStatus
from warungin_tui.steps.base import Outcome, StepContext
from warungin_tui.templating import render_plain


def render_notice(spec: StepSpec, values: dict[str, object]) -> dict[str, str]:
    assert spec.message is not None
    return {
        # The title was filled when the playbook was built: never format it a second time.
        "subject": render_plain(spec.subject, values) if spec.subject else spec.title,
        "body": render_plain(spec.message, values),
    }


async def run_notify_step(ctx: StepContext, spec: StepSpec) -> Outcome:
    notice = render_notice(spec, dict(ctx.values))
    await ctx.output("stdout", notice["body"].splitlines())
    return Outcome(StepStatus.PASSED, detail=f"message ready: {notice['subject']}", value=notice)
