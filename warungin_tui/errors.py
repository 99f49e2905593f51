"""What the engine refuses, with a short title a UI can show."""

from __future__ import annotations


class EngineError(Exception):
    title = "Not possible now"


class GateClosed(EngineError):
    title = "Gate closed"


class NeedsConfirmation(EngineError):
    title = "Confirmation needed"


class StepBusy(EngineError):
    title = "Busy"


class RunClosed(EngineError):
    """The run ended (finished, rolled back, abandoned): its record takes no more changes."""

    title = "Run closed"


class ReadOnlyRun(EngineError):
    """Another process has the run open for writing: this one may only look."""

    title = "Read-only"


class StillRunningOnHost(EngineError):
    """The host says the step's command is still running: wait for it or stop it, never rerun."""

    title = "Still running on the host"

    def __init__(self, message: str, step_id: str, pid: int | None) -> None:
        super().__init__(message)
        self.step_id, self.pid = step_id, pid
