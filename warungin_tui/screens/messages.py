"""Typed messages from the engine listener to the screens, and intents from screens to the app."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message


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
