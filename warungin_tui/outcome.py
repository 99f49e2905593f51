"""The bottom of the package: a step's status and an executor's outcome.

Steps produce these, the engine folds them into a Run, the report and the UI read them. Nothing
here imports another module of the package except redact (itself a leaf), and that only when an
outcome is redacted: the start screen reads statuses, and compiling redaction's patterns is ~5 ms
of its first frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"
    OVERRIDDEN = "overridden"
    INTERRUPTED = "interrupted"


GATE_OK = {StepStatus.PASSED, StepStatus.WARNING, StepStatus.SKIPPED, StepStatus.OVERRIDDEN}
BAD = {StepStatus.FAILED, StepStatus.INTERRUPTED}


class PhaseStatus(StrEnum):
    NOT_STARTED = "not started"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    OVERRIDDEN = "overridden"


@dataclass
class Outcome:
    status: StepStatus
    detail: str = ""
    exit_code: int | None = None
    value: Any = None
    captures: dict[str, Any] = field(default_factory=dict)
    command: str | None = None

    def redacted(self) -> Outcome:
        """Every field redacted, however deep, and cut to a sane length: what the engine keeps."""
        from warungin_tui.redact import DETAIL_CHARS, STRING_CHARS, redact_value

        return Outcome(
            self.status,
            redact_value(self.detail, DETAIL_CHARS),
            self.exit_code,
            redact_value(self.value, STRING_CHARS),
            redact_value(self.captures, STRING_CHARS),
            redact_value(self.command, STRING_CHARS) if self.command else self.command,
        )
