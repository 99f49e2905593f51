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
    title = "Run closed"
