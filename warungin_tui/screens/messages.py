"""Typed messages: engine events for the screens, and requests from the screens to the app."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message

STEP_GROUP = "steps"
"""The worker group of running steps (one at a time: exclusive); here, not in the driver, so the
app can tell step workers apart before the driver (and the engine) is imported."""


class StepChanged(Message):
    """A step started, finished or was overridden: redraw its row and, if shown, its detail."""

    def __init__(self, step_id: str) -> None:
        super().__init__()
        self.step_id = step_id


class StepOutput(Message):
    """A batch of output lines of a running step (already redacted and journaled)."""

    def __init__(self, step_id: str, lines: list[str], stream: str, total: int) -> None:
        super().__init__()
        self.step_id = step_id
        self.lines = lines
        self.stream = stream
        self.total = total
        """The step's output line count including this batch (to skip what was reloaded)."""


class StepProgress(Message):
    """A wait step polled: the latest value and when the next poll comes."""

    def __init__(self, step_id: str, progress: dict[str, object]) -> None:
        super().__init__()
        self.step_id = step_id
        self.progress = progress


class RunChanged(Message):
    """Anything else changed the run (gate override, decision, rollback, operator, export)."""

    def __init__(self, event_type: str) -> None:
        super().__init__()
        self.event_type = event_type


class StartRequested(Message):
    """The start screen's intent: connect, then resume `resume_path` or start a new run."""

    def __init__(self, operator: str, resume_path: Path | None) -> None:
        super().__init__()
        self.operator = operator
        self.resume_path = resume_path


# -- requests: what the person asked for; the app's one handler turns them into engine calls ------
class Request(Message):
    """Base of every request a screen posts; the app handles them in one place."""


class RunStepRequested(Request):
    """Run (enter) or retry (r, reconnecting first) an automated step in a worker."""

    def __init__(self, step_id: str, *, reconnect: bool = False) -> None:
        super().__init__()
        self.step_id = step_id
        self.reconnect = reconnect


class RunPhaseRequested(Request):
    """Run the phase's automated steps in order (a); `auto`: the phase opened and runs itself."""

    def __init__(self, phase_id: str, *, auto: bool = False) -> None:
        super().__init__()
        self.phase_id = phase_id
        self.auto = auto


class TickRequested(Request):
    """A manual check passed (space) or failed (x, with a note)."""

    def __init__(self, step_id: str, *, passed: bool = True, note: str = "") -> None:
        super().__init__()
        self.step_id = step_id
        self.passed = passed
        self.note = note


class SignOffRequested(Request):
    def __init__(self, step_id: str, name: str) -> None:
        super().__init__()
        self.step_id = step_id
        self.name = name


class InputRequested(Request):
    def __init__(self, step_id: str, value: str) -> None:
        super().__init__()
        self.step_id = step_id
        self.value = value


class SkipRequested(Request):
    def __init__(self, step_id: str, reason: str) -> None:
        super().__init__()
        self.step_id = step_id
        self.reason = reason


class OverrideRequested(Request):
    """Go on despite a failed step (o), with a reason."""

    def __init__(self, step_id: str, reason: str) -> None:
        super().__init__()
        self.step_id = step_id
        self.reason = reason


class GateOverrideRequested(Request):
    """Open a phase's gate although steps are open (O), with a reason."""

    def __init__(self, phase_id: str, reason: str) -> None:
        super().__init__()
        self.phase_id = phase_id
        self.reason = reason


class DecisionRequested(Request):
    """The go-live decision; approval without monitoring evidence carries the override reason."""

    def __init__(
        self,
        decision: str,
        authorized_by: str,
        effective_at: str,
        *,
        monitoring_override_reason: str = "",
    ) -> None:
        super().__init__()
        self.decision = decision
        self.authorized_by = authorized_by
        self.effective_at = effective_at
        self.monitoring_override_reason = monitoring_override_reason


class FinishRequested(Request):
    """Seal the run (F, after the decision), then export."""


class RollbackRequested(Request):
    """Start the rollback; `confirmed`: already said yes (the offer after a failure)."""

    def __init__(self, *, confirmed: bool = False) -> None:
        super().__init__()
        self.confirmed = confirmed


class ExportRequested(Request):
    """Write the Markdown and JSON deployment log now."""


class NewRunRequested(Request):
    """Start a new run against the same target (after the current one ended)."""


class AbandonRequested(Request):
    """End the run without deploying (X on the overview), with the operator's reason."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class SaveMessageRequested(Request):
    """Save a notification step's filled-in message to a private file (w)."""

    def __init__(self, step_id: str) -> None:
        super().__init__()
        self.step_id = step_id


class CopyMessageRequested(Request):
    """Copy a notification step's filled-in message to the clipboard (c)."""

    def __init__(self, step_id: str) -> None:
        super().__init__()
        self.step_id = step_id


class ConfirmSentRequested(Request):
    """The operator sent a notification step's message themselves (t): record who and when."""

    def __init__(self, step_id: str) -> None:
        super().__init__()
        self.step_id = step_id


class RequestRefused(Message):
    """The engine refused a request: the screen that asked may show the reason in place."""

    def __init__(self, request: Request, reason: str, title: str) -> None:
        super().__init__()
        self.request = request
        self.reason = reason
        self.title = title


class AcknowledgeAlertRequested(Request):
    """A monitoring alert acknowledged (A on the monitoring screen), with a note."""

    def __init__(self, alert_id: str, note: str) -> None:
        super().__init__()
        self.alert_id = alert_id
        self.note = note
