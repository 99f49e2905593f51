"""Pure view helpers: turn run state into short texts for rows, bars and hints.

Nothing here decides anything: gates and outcomes come from the engine and the Run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from warungin_tui.engine.lifecycle import RunState, run_state
from warungin_tui.engine.run import Run, StepResult
from warungin_tui.outcome import BAD, GATE_OK, PhaseStatus, StepStatus
from warungin_tui.playbook import StepKind, StepSpec
from warungin_tui.templating import TemplateValueMissing, render_command, render_plain

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

STEP_ICONS: dict[StepStatus, str] = {
    StepStatus.PENDING: "○",
    StepStatus.RUNNING: "◐",
    StepStatus.PASSED: "✔",
    StepStatus.FAILED: "✘",
    StepStatus.WARNING: "▲",
    StepStatus.SKIPPED: "»",
    StepStatus.OVERRIDDEN: "◆",
    StepStatus.INTERRUPTED: "↯",
}
STEP_STYLES: dict[StepStatus, str] = {
    StepStatus.PENDING: "dim",
    StepStatus.RUNNING: "bold cyan",
    StepStatus.PASSED: "green",
    StepStatus.FAILED: "bold red",
    StepStatus.WARNING: "yellow",
    StepStatus.SKIPPED: "dim",
    StepStatus.OVERRIDDEN: "magenta",
    StepStatus.INTERRUPTED: "bold red",
}
PHASE_STYLES: dict[PhaseStatus, str] = {
    PhaseStatus.NOT_STARTED: "dim",
    PhaseStatus.RUNNING: "cyan",
    PhaseStatus.PASSED: "green",
    PhaseStatus.FAILED: "bold red",
    PhaseStatus.OVERRIDDEN: "magenta",
}
PHASE_ICONS: dict[PhaseStatus, str] = {
    PhaseStatus.NOT_STARTED: "○",
    PhaseStatus.RUNNING: "◐",
    PhaseStatus.PASSED: "✔",
    PhaseStatus.FAILED: "✘",
    PhaseStatus.OVERRIDDEN: "◆",
}
PENDING_WORDS: dict[StepKind, str] = {
    StepKind.SSH: "to run",
    StepKind.HTTP: "to run",
    StepKind.WAIT: "to run",
    StepKind.NOTIFY: "to run",
    StepKind.MANUAL: "to check",
    StepKind.SIGNOFF: "to sign",
    StepKind.INPUT: "to fill in",
    StepKind.DECISION: "to decide",
}
_SHORT_REF = re.compile(r"^(Step \d+\.\d+|Test \d+)")


def parse_at(value: str | None) -> datetime | None:
    """A journal timestamp (ISO 8601 with zone) as a datetime, or None."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def hms(seconds: float | None) -> str:
    """Elapsed time as h:mm:ss (or m:ss under an hour); '-' when unknown."""
    if seconds is None:
        return "-"
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration(seconds: float | None) -> str:
    """A step's duration: '0.4 s', '12 s', '3:05'."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return hms(seconds)


def short_ref(spec: StepSpec) -> str:
    """'Step 1.2' or 'Test 3' when the seed reference starts with one, else ''."""
    match = _SHORT_REF.match(spec.seed_ref)
    return match.group(1) if match else ""


def running_for(result: StepResult, now: datetime) -> float | None:
    started = parse_at(result.started_at)
    return None if started is None else (now - started).total_seconds()


def step_state_text(
    spec: StepSpec, result: StepResult, now: datetime, frame: int = 0
) -> tuple[str, str, str]:
    """(icon, words, style) for a step row: 'running 0:12', 'passed 1.2 s', 'to check'."""
    status = result.status
    style = STEP_STYLES[status]
    if status == StepStatus.RUNNING:
        return SPINNER[frame % len(SPINNER)], f"running {hms(running_for(result, now))}", style
    icon = STEP_ICONS[status]
    if status == StepStatus.PENDING:
        return icon, PENDING_WORDS[spec.kind], style
    signed = result.value if isinstance(result.value, dict) else {}
    if spec.kind == StepKind.SIGNOFF and status == StepStatus.PASSED and signed.get("name"):
        return icon, f"signed: {signed['name']}", style  # who signed, not just "passed"
    took = duration(result.duration_s) if spec.automated else ""
    return icon, f"{status} {took}".strip(), style


def phase_elapsed(run: Run, phase_id: str, now: datetime) -> float | None:
    """From the phase's first step timestamp to its last (or now while a step runs)."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    running = False
    for spec in run.playbook.phase(phase_id).steps:
        result = run.results[spec.id]
        started, finished = parse_at(result.started_at), parse_at(result.finished_at)
        if result.status == StepStatus.RUNNING:
            running = True
        for stamp in (started, finished):
            if stamp is not None:
                starts.append(stamp)
        if finished is not None:
            ends.append(finished)
    if not starts:
        return None
    end = now if running else max(ends, default=max(starts))
    return (end - min(starts)).total_seconds()


def total_elapsed(run: Run, now: datetime) -> float | None:
    started = parse_at(run.started_at)
    if started is None:
        return None
    end = parse_at(run.finished_at) or now
    return (end - started).total_seconds()


def steps_done(run: Run, phase_id: str) -> tuple[int, int]:
    steps = run.playbook.phase(phase_id).steps
    done = sum(1 for s in steps if run.status(s.id) in GATE_OK)
    return done, len(steps)


def command_preview(spec: StepSpec, values: Mapping[str, Any], result: StepResult) -> str:
    """What the step runs: the recorded command once it ran, else the template filled in now."""
    if result.command and result.status != StepStatus.PENDING:
        return result.command
    try:
        if spec.kind in (StepKind.SSH, StepKind.WAIT) and spec.command:
            return render_command(spec.command, values)
        if spec.kind == StepKind.HTTP and spec.url:
            return f"{spec.method} {render_plain(spec.url, values)}"
    except TemplateValueMissing as exc:
        return f"{(spec.command or spec.url or '').splitlines()[0]}  ({exc})"
    return ""


def plain(template: str | None, values: Mapping[str, Any]) -> str:
    """A message/URL template filled in, or the raw template when a value is still unknown."""
    if not template:
        return ""
    try:
        return render_plain(template, values)
    except TemplateValueMissing:
        return template


def measured_text(run: Run, spec: StepSpec) -> str:
    """The value another step measured for this manual check, e.g. the frontend load time."""
    if not spec.measured_by:
        return ""
    result = run.results[spec.measured_by]
    value = result.value if isinstance(result.value, dict) else {}
    if "latency_ms" in value:
        return f"measured {_seconds(float(value['latency_ms']) / 1000)} ({result.status})"
    if "frontend_load_s" in run.values:
        return f"measured {_seconds(float(run.values['frontend_load_s']))}"
    return "not measured yet"


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def next_hint(run: Run) -> str:
    """What the operator should do next, in one sentence."""
    state = run_state(run)
    if state == RunState.FINISHED:
        finished, exported = run.finished_at or "", run.exported_at or ""
        if exported and exported >= finished:
            return "The run is finished, sealed and its log exported; q quits."
        return "The run is finished and sealed; export the log (e) and quit (q)."
    if state == RunState.ABANDONED:
        return "The run was abandoned; N starts a new run, q quits."
    if state == RunState.ROLLED_BACK:
        incident = run.playbook.phase("incident")
        return (
            "Rolled back: the previous version runs and this deployment is closed. Open "
            f"{incident.title} (enter) to write the incident report; N starts a new run."
        )
    if run.rollbacks and "ok" not in run.rollbacks[-1]:
        return "A rollback is in progress: open Rollback from the overview to follow it."
    phase_id = run.current_phase()
    phase = run.playbook.phase(phase_id)
    bad = [s for s in phase.steps if run.status(s.id) in BAD]
    if bad:
        spec = bad[0]
        return (
            f"{spec.title} {run.status(spec.id)}: open {phase.title} (enter), then retry (r), "
            "override with a reason (o) or roll back (R)."
        )
    step_id = run.next_step(phase_id)
    if step_id is None:
        return f"{phase.title} is complete: open it (enter) and go on (n)."
    spec = run.playbook.step(step_id)
    where = f"Open {phase.title} (enter)"
    if spec.kind == StepKind.DECISION:
        return f"{where} and record the go-live decision (enter)."
    if spec.automated:
        return f"{where} and run its automated steps (a); next: {spec.title}."
    if spec.kind == StepKind.SIGNOFF:
        return f"{where}: the {spec.role} signs off (enter, then the name)."
    if spec.kind == StepKind.INPUT:
        return f"{where} and fill in: {spec.title} (enter)."
    return f"{where} and check: {spec.title} (space passes, m with a note, x fails)."
