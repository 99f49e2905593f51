"""What someone asks for (`Action`) and the rulebook's "no" (`Refusal`): apart from the rules
(`rules.py`) because the wizard's first frame needs the names, not the rulebook and the run model
it pulls in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from warungin_tui.errors import EngineError


class Action(StrEnum):
    """What someone asks for; the engine's mutators and the UI's keys map onto these."""

    RUN_STEP = "run step"
    RETRY = "retry"
    RUN_PHASE = "run phase"
    TICK = "tick"
    FAIL = "fail"
    SKIP = "skip"
    OVERRIDE_STEP = "override step"
    OVERRIDE_GATE = "override gate"
    SIGN = "sign"
    INPUT = "input"
    DECIDE = "decide"
    FINISH = "finish"
    ROLLBACK = "rollback"
    EXPORT = "export"
    ABANDON = "abandon"
    NEXT_PHASE = "next phase"
    NEW_RUN = "new run"
    CONFIRM_SENT = "confirm sent"
    ACKNOWLEDGE_ALERT = "acknowledge alert"


@dataclass(frozen=True)
class Refusal:
    """Why an action is not allowed now; `error` is the exception the engine raises with it."""

    reason: str
    error: type[EngineError] = EngineError

    @property
    def title(self) -> str:
        return self.error.title

    def exception(self) -> EngineError:
        return self.error(self.reason)
