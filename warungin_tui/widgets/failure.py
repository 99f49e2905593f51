"""A failed or interrupted step explained in place: what happened, the evidence, what to do.

Pure view helper: whether an action is possible comes from the rulebook (`recovery_actions`),
the advice from the playbook (`on_fail`), the evidence from `evidence.failure_evidence`.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from warungin_tui.engine.evidence import failure_evidence
from warungin_tui.engine.rules import Action
from warungin_tui.engine.run import StepResult
from warungin_tui.outcome import StepStatus
from warungin_tui.playbook import StepSpec


def action_words(action: Action, spec: StepSpec, status: StepStatus) -> str:
    """What pressing the action's key does for this step, in words."""
    interrupted = status == StepStatus.INTERRUPTED
    if action == Action.RETRY:
        if not interrupted:
            return "retry"
        if spec.retry_safe:
            return "reconnect and retry (it only reads: safe to run again)"
        return (
            "reconnect and retry (the host is asked first, nothing runs twice; running it "
            "again asks to confirm)"
        )
    if action == Action.OVERRIDE_STEP:
        if interrupted:
            return "mark it done once you checked on the host (with what you saw)"
        return "go on despite it, with a reason"
    if action == Action.ROLLBACK:
        return "roll back to the pre-deployment version"
    return str(action)


def failure_text(
    spec: StepSpec, result: StepResult, actions: Mapping[Action, str], view_key: str
) -> Text:
    """The failure block of the detail pane (what failed, what to do, the keys, the evidence);
    empty for a step that did not fail.

    `actions`: the recovery actions the rulebook allows now, in order, each with its key;
    `view_key`: the key that shows the whole output."""
    text = Text()
    if result.status not in (StepStatus.FAILED, StepStatus.INTERRUPTED):
        return text
    interrupted = result.status == StepStatus.INTERRUPTED
    text.append("\nInterrupted: " if interrupted else "\nFailed: ", style="bold red")
    text.append(result.detail or "no detail recorded")
    if interrupted:
        text.append("\nWhat to do: ", style="bold")
        if spec.retry_safe:
            text.append("the connection dropped, not the release: reconnect and run it again.")
        else:
            text.append(
                "the connection dropped, not the release. This step changes the host and may "
                "have done part of its work: check on the host, then mark it done or retry."
            )
    elif spec.on_fail:
        text.append("\nWhat to do: ", style="bold")
        text.append(spec.on_fail)
    if actions:
        text.append("\nNext: ", style="bold yellow")
        parts = [
            f"{key}: {action_words(action, spec, result.status)}" for action, key in actions.items()
        ]
        text.append(" · ".join(parts), style="yellow")
    # Last: the lines can be long; at 80x24 what to do and the keys must stay in sight.
    evidence = failure_evidence(result)
    if evidence:
        label = "Output so far" if interrupted else "Evidence"
        text.append(f"\n{label} ({view_key} shows all):", style="bold")
        for line in evidence:
            text.append(f"\n  {line}")
    return text
