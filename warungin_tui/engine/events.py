"""The journal's event kinds: one typed shape per kind, the one list of what a journal may hold.

Events stay JSON objects on disk (the hash chain covers their canonical JSON), so the shapes are
`TypedDict`s: they name each kind's fields (the ones a fold needs are required). `Engine.record`
takes only a `JournalEvent` (their union), so mypy checks every event the code writes against its
shape; `check_event` checks each one again before it is written and when a run is resumed.
A kind nobody wrote, or an event without the fields its fold needs, is a journal problem with a
one-line message, never a silent skip.
"""

# No `from __future__ import annotations` here: TypedDict reads NotRequired[...] only from
# evaluated annotations, and EVENT_KINDS needs each shape's required keys.
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, get_args

from warungin_tui.journal import JournalError


class RunStarted(TypedDict):
    type: Literal["run_started"]
    run_id: str
    target: str
    release: str
    operator: str
    config: NotRequired[dict[str, Any]]
    playbook: NotRequired[str]
    tool_version: NotRequired[str]


class OperatorChanged(TypedDict):
    type: Literal["operator_changed"]
    operator: str


class StepStarted(TypedDict):
    type: Literal["step_started"]
    step: str
    kind: NotRequired[str]
    command: NotRequired[str]
    host_record: NotRequired[str]


class StepReattached(TypedDict):
    type: Literal["step_reattached"]
    step: str
    pid: NotRequired[int | None]
    host_record: NotRequired[str]


class StepOutput(TypedDict):
    type: Literal["step_output"]
    step: str
    lines: list[str]
    stream: NotRequired[str]
    dropped: NotRequired[int]


class StepFinished(TypedDict):
    type: Literal["step_finished"]
    step: str
    status: str
    detail: NotRequired[str]
    duration_s: NotRequired[float | None]
    exit_code: NotRequired[int | None]
    value: NotRequired[Any]
    captures: NotRequired[dict[str, Any]]
    command: NotRequired[str | None]
    by: NotRequired[str | None]
    entered_by: NotRequired[str | None]
    note: NotRequired[str | None]
    # The attempt's complete output (engine/output_file.py): name, sha256, lines; or error.
    output_file: NotRequired[dict[str, Any]]


class StepOverridden(TypedDict):
    type: Literal["step_overridden"]
    step: str
    reason: str
    by: NotRequired[str]
    entered_by: NotRequired[str]


class GateOverridden(TypedDict):
    type: Literal["gate_overridden"]
    phase: str
    reason: str
    by: NotRequired[str]
    entered_by: NotRequired[str]


class HostKeyTrusted(TypedDict):
    type: Literal["host_key_trusted"]
    fingerprint: str


class HostLockTaken(TypedDict):
    type: Literal["host_lock_taken"]
    lock_dir: str
    holder: NotRequired[dict[str, Any]]
    adopted: NotRequired[bool]  # ours, from before a restart


class HostLockReleased(TypedDict):
    type: Literal["host_lock_released"]
    lock_dir: str
    removed: NotRequired[bool]
    reason: NotRequired[str]


class HostLockBroken(TypedDict):
    type: Literal["host_lock_broken"]
    lock_dir: str
    reason: str
    holder: NotRequired[dict[str, Any] | None]
    by: NotRequired[str]
    by_host: NotRequired[str]
    by_run: NotRequired[str]
    via: NotRequired[str]
    holder_journal: NotRequired[str]


class RollbackStarted(TypedDict):
    type: Literal["rollback_started"]
    reason: NotRequired[str]
    by: NotRequired[str]


class RollbackFinished(TypedDict):
    type: Literal["rollback_finished"]
    ok: bool
    detail: NotRequired[str]
    stopped_at: NotRequired[str | None]
    commands: NotRequired[list[str]]


class Decision(TypedDict):
    type: Literal["decision"]
    decision: str
    authorized_by: NotRequired[str]
    entered_by: NotRequired[str]
    effective_at: NotRequired[str]
    blockers: NotRequired[list[str]]
    monitoring_override: NotRequired[dict[str, Any]]


class NoticeConfirmed(TypedDict):
    type: Literal["notice_confirmed"]
    step: str
    by: NotRequired[str]
    entered_by: NotRequired[str]


class ExportWritten(TypedDict):
    type: Literal["export_written"]
    paths: list[str]


class ExportFailed(TypedDict):
    type: Literal["export_failed"]
    paths: list[str]
    error: NotRequired[str]


class RunFinished(TypedDict):
    type: Literal["run_finished"]
    by: NotRequired[str]


class RunAbandoned(TypedDict):
    type: Literal["run_abandoned"]
    reason: str
    by: NotRequired[str]


class MonitoringStarted(TypedDict):
    type: Literal["monitoring_started"]
    settings: NotRequired[dict[str, Any]]
    clock: NotRequired[str]
    origin: NotRequired[float]
    speed: NotRequired[float]
    by: NotRequired[str]


class MonitoringSample(TypedDict):
    type: Literal["monitoring_sample"]
    due_s: NotRequired[float]
    taken_s: NotRequired[float]
    probes: NotRequired[Any]
    alerts: NotRequired[list[dict[str, str]]]
    window: NotRequired[Any]


class MonitoringGap(TypedDict):
    type: Literal["monitoring_gap"]
    from_s: float
    to_s: float
    missed: NotRequired[int]
    reason: NotRequired[str]
    through_due_s: NotRequired[float]


class MonitoringAlertAcknowledged(TypedDict):
    type: Literal["monitoring_alert_acknowledged"]
    alert: str
    note: NotRequired[str]
    by: NotRequired[str]
    entered_by: NotRequired[str]


class MonitoringCompleted(TypedDict):
    type: Literal["monitoring_completed"]


JournalEvent = (
    RunStarted
    | OperatorChanged
    | StepStarted
    | StepReattached
    | StepOutput
    | StepFinished
    | StepOverridden
    | GateOverridden
    | HostKeyTrusted
    | HostLockTaken
    | HostLockReleased
    | HostLockBroken
    | RollbackStarted
    | RollbackFinished
    | Decision
    | NoticeConfirmed
    | ExportWritten
    | ExportFailed
    | RunFinished
    | RunAbandoned
    | MonitoringStarted
    | MonitoringSample
    | MonitoringGap
    | MonitoringAlertAcknowledged
    | MonitoringCompleted
)
"""An event as code writes it: `Engine.record` takes only these, so mypy checks each literal."""

EVENT_KINDS: dict[str, frozenset[str]] = {
    get_args(shape.__annotations__["type"])[0]: frozenset(shape.__required_keys__)
    for shape in get_args(JournalEvent)
}
"""Every kind a journal may hold -> the fields its fold needs."""


class UnknownEvent(JournalError):
    title = "Unknown journal event"


class MalformedEvent(JournalError):
    title = "Malformed journal event"


def check_event(event: Mapping[str, Any], where: str = "") -> None:
    """Raise UnknownEvent or MalformedEvent unless `event` is a kind this tool writes, whole."""
    kind = event.get("type")
    required = EVENT_KINDS.get(kind) if isinstance(kind, str) else None
    at = f"{where}: " if where else ""
    if required is None:
        raise UnknownEvent(
            f"{at}event kind {kind!r} is not one this version writes "
            "(a newer warungin-tui, or an edited journal)"
        )
    if missing := required - event.keys():
        raise MalformedEvent(f"{at}{kind} event lacks {', '.join(sorted(missing))}")
