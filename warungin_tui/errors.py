"""The one error base of the package, and what the engine refuses.

Every error the tool raises for a person to read (config, journal, export, remote, engine,
template, monitor) is a `WarunginError`: its `title` is a short heading (a toast's title, the
first words of a CLI line) and its message says what happened and what to do. A UI or the CLI
catches this one class; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class WarunginError(Exception):
    title = "Problem"


class EngineError(WarunginError):
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
