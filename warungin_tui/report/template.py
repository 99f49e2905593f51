"""Facts about steps and phases, and the seed's DEPLOYMENT LOG TEMPLATE filled from a Run.

Every field is either a value from the run or `n/a (<reason>)`; nothing is left blank.
Composed values never put a step title right before a colon: redaction (model.py) would read
"Store authorization: ..." as a credential header and mask what follows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warungin_tui.config import Config
from warungin_tui.engine.checklists import (
    DerivedItem,
    ItemState,
    evaluate,
    item_label,
    monitoring_covered,
    monitoring_hours,
    monitoring_override,
    monitoring_period_hours,
    rolled_back,
)
from warungin_tui.engine.run import Run, StepResult
from warungin_tui.notices import notice_state
from warungin_tui.outcome import BAD, PhaseStatus, StepStatus
from warungin_tui.report.format import (
    fmt_bytes,
    fmt_minutes,
    fmt_seconds,
    fmt_time,
    na,
    parse_at,
    who,
)
from warungin_tui.report.outcome import DEPLOYMENT_PHASES, deployment_ended, overall_status
from warungin_tui.values import config_values

TEMPLATE_PHASES = (
    ("PHASE 1: PRE-DEPLOYMENT", "phase1"),
    ("PHASE 2: CODE DEPLOYMENT", "phase2"),
    ("PHASE 3: POST-DEPLOYMENT VERIFICATION", "phase3"),
)
SMOKE_SECTION = "PRODUCTION SMOKE TEST"
DONE = {StepStatus.PASSED, StepStatus.WARNING}
PHASE_WORDS = {
    PhaseStatus.RUNNING: "IN PROGRESS",
    PhaseStatus.PASSED: "COMPLETE",
    PhaseStatus.FAILED: "FAILED",
    PhaseStatus.OVERRIDDEN: "COMPLETE (with overrides)",
}


# -- step and phase facts ------------------------------------------------------------------------
def step_start(result: StepResult) -> datetime | None:
    """Human answers have no start: the moment they were given stands for both."""
    return parse_at(result.started_at or result.finished_at)


def phase_span(run: Run, phase_id: str) -> tuple[datetime | None, datetime | None]:
    starts: list[datetime] = []
    ends: list[datetime] = []
    for spec in run.playbook.phase(phase_id).steps:
        result = run.results[spec.id]
        if result.status == StepStatus.PENDING:
            continue
        if (start := step_start(result)) is not None:
            starts.append(start)
        if (end := parse_at(result.finished_at)) is not None:
            ends.append(end)
    gate = run.gate_overrides.get(phase_id)
    if gate and (at := parse_at(gate.get("at"))):
        starts.append(at)
        ends.append(at)
    return (min(starts) if starts else None), (max(ends) if ends else None)


def step_evidence(run: Run, step_id: str) -> str:
    result = run.results[step_id]
    if result.status == StepStatus.PENDING:
        return f"{step_id} not done yet"
    text = f"{step_id} {str(result.status).upper()}"
    detail = result.failed_detail if result.status == StepStatus.OVERRIDDEN else result.detail
    if detail:
        text += f" - {detail}"
    if result.override_reason:
        text += f" (override reason - {result.override_reason})"
    by = f"by {who(result.by, result.entered_by)}, " if result.by else ""
    when = fmt_time(result.finished_at or result.started_at)
    return f"{text} ({by}{when})" if when else text


def item_rows(
    run: Run, items: list[DerivedItem], config: Config | None = None
) -> list[dict[str, Any]]:
    rows = []
    values = config_values(config) if config is not None else {}
    for item, state in evaluate(run, items):
        evidence = [
            f"{ref.removeprefix('phase:')} gate {run.phase_status(ref.removeprefix('phase:'))}"
            if ref.startswith("phase:")
            else step_evidence(run, ref)
            for ref in item.steps
        ]
        if item.special == "no_rollback":
            evidence = [f"{len(run.rollbacks)} rollback(s) recorded"]
        word = str(state).upper()
        if item.special == "monitoring_period":
            word, evidence = _monitoring_claim(run, state, evidence)
        if item.undone_by_rollback and rolled_back(run):
            restored = fmt_time(run.rollbacks[-1].get("finished_at")) or "time not recorded"
            evidence = [f"the rollback restored the previous version ({restored})", *evidence]
        label = item_label(item, values) if values else item.label
        rows.append({"label": label, "state": word, "evidence": "; ".join(evidence)})
    return rows


def _monitoring_claim(run: Run, state: ItemState, evidence: list[str]) -> tuple[str, list[str]]:
    """YES only on samples covering the period; otherwise NO or OVERRIDDEN, with the hours."""
    hours, period = monitoring_hours(run), monitoring_period_hours(run)
    samples = f"{len(run.monitoring_samples)} monitoring sample(s) over {hours:.1f} hours"
    evidence = [f"{samples}; the period is {period:g} hours", *evidence]
    override = monitoring_override(run)
    if state == ItemState.OVERRIDDEN and override is not None:
        covered = override.get("hours_covered", hours)
        covered_text = f"{covered:.1f}" if isinstance(covered, int | float) else str(covered)
        return (
            f"OVERRIDDEN ({override['reason']}) after {covered_text} hours of monitoring",
            evidence,
        )
    if state == ItemState.NO and not monitoring_covered(run):
        return f"NO ({hours:.1f} hours of monitoring)", evidence
    return str(state).upper(), evidence


def why(result: StepResult) -> str:
    if result.status == StepStatus.SKIPPED:
        return f"{result.note or result.detail}; skipped by {result.by or 'unknown'}"
    if result.status == StepStatus.OVERRIDDEN:
        failed = result.failed_detail or "not run"
        return f"{failed}; override by {result.by or 'unknown'} - {result.override_reason}"
    return result.detail or "no detail recorded"


def step_field(run: Run, step_id: str, yes: str = "") -> str:
    """A template answer from one step: YES (evidence), NO (why), SKIPPED (reason) or n/a."""
    result = run.results[step_id]
    status = result.status
    if status == StepStatus.PENDING:
        phase = run.playbook.phase_of(step_id)
        if run.phase_status(phase.id) == PhaseStatus.NOT_STARTED:
            return na("phase not started")
        return na("step not run yet")
    if status == StepStatus.RUNNING:
        return na("step still running")
    if status in DONE:
        shown = yes or result.detail
        if status == StepStatus.WARNING:
            shown = f"{shown}; warning - {result.detail}" if yes else f"warning - {result.detail}"
        return f"YES ({shown})" if shown else "YES"
    word = {
        StepStatus.FAILED: "NO",
        StepStatus.INTERRUPTED: "NO - interrupted",
        StepStatus.SKIPPED: "SKIPPED",
        StepStatus.OVERRIDDEN: "NO - overridden",
    }[status]
    return f"{word} ({why(result)})"


def phase_fields(run: Run, phase_id: str, now: datetime) -> tuple[str, str, str]:
    """Start Time, Phase Duration and Status of one phase."""
    status = run.phase_status(phase_id)
    start, end = phase_span(run, phase_id)
    if status == PhaseStatus.NOT_STARTED:
        return na("phase not started"), na("phase not started"), na("phase not started")
    start_text = fmt_time(start) or na("no step of the phase has a time")
    if status == PhaseStatus.RUNNING:
        so_far = f", {fmt_minutes((now - start).total_seconds())} so far" if start else ""
        duration = na(f"phase still in progress{so_far}")
    elif start and end:
        duration = fmt_minutes((end - start).total_seconds())
    else:
        duration = na("phase gate overridden without running its steps")
    word = PHASE_WORDS[status]
    gate = run.gate_overrides.get(phase_id)
    if gate:
        word = f"OVERRIDDEN (gate overridden by {gate.get('by') or 'unknown'} - {gate['reason']})"
    return start_text, duration, word


# -- a. the DEPLOYMENT LOG TEMPLATE --------------------------------------------------------------
def _value(run: Run, step_id: str, key: str) -> Any:
    value = run.results[step_id].value
    return value.get(key) if isinstance(value, dict) else None


def phase1_fields(run: Run) -> dict[str, str]:
    backup = run.values.get("backup_file")
    backup_text = (
        f"{backup}, {fmt_bytes(run.values.get('backup_size'))}, "
        f"sha256 {run.values.get('backup_sha256', 'not recorded')}"
        if backup
        else ""
    )
    # Step 1.3 records a count even when it gives up waiting: show it beside the outcome.
    sessions = run.values.get("active_sessions")
    active = step_field(run, "phase1.active_sessions")
    if sessions is not None:
        done = run.status("phase1.active_sessions") in DONE
        active = f"{sessions} (should be 0)" + ("" if done else f" - {active}")
    return {
        "Backup Created": step_field(run, "phase1.backup", backup_text),
        "Stakeholders Notified": notified_field(run, "phase1.notify"),
        "Active Users": active,
    }


def notice_text(run: Run, step_id: str) -> str:
    """`prepared, not confirmed sent`, `sent by <command>` or `confirmed sent by ... at ...`."""
    result = run.results[step_id]
    confirmed = run.notices_confirmed.get(step_id)
    if confirmed:
        confirmed = {**confirmed, "at": fmt_time(confirmed.get("at")) or "time not recorded"}
    return notice_state(result.value, confirmed, when=fmt_time(result.finished_at) or "")


def notified_field(run: Run, step_id: str) -> str:
    """A notification field: what was prepared for whom, and whether it was sent."""
    result = run.results[step_id]
    subject = _value(run, step_id, "subject")
    if result.status not in DONE or not subject:
        return step_field(run, step_id)
    to = _value(run, step_id, "to")
    prepared = f'notice "{subject}"' + (f" to {to}" if to else "")
    prepared += f", prepared {fmt_time(result.finished_at)}"
    missing = _value(run, step_id, "missing_contacts")
    if missing:
        prepared += f"; [contacts] {', '.join(missing)} not configured"
    state = notice_text(run, step_id)
    word = "NOT CONFIRMED" if state.startswith("prepared") else "YES"
    return f"{word} ({state}; {prepared})"


def phase2_fields(run: Run, config: Config) -> dict[str, str]:
    before, after = run.values.get("pre_commit"), run.values.get("new_commit")
    pulled = f"now at {str(after)[:12]} on {config.release.branch}" if after else ""
    if before and after:
        pulled = f"{str(before)[:12]} -> {str(after)[:12]} on {config.release.branch}"
    build = run.results["phase2.build"]
    built = f"exit code {build.exit_code}, {fmt_seconds(build.duration_s)}"
    expected = _value(run, "phase2.services", "expected")
    counts = f"{_value(run, 'phase2.services', 'running')}/{expected}" if expected else ""
    fields = {
        "Code Pulled": step_field(run, "phase2.pull", pulled),
        "Images Built": step_field(run, "phase2.build", built),
        "Services Started": services_started(run, counts),
    }
    if rolled_back(run):
        # What Phase 2 did is history; the release it put in place is gone.
        restored = fmt_time(run.rollbacks[-1].get("finished_at")) or "time not recorded"
        undone = f"the rollback restored the previous version at {restored}"
        commit = f" and commit {str(before)[:12]}" if before else ""
        if run.status("phase2.pull") in DONE:
            fields["Code Pulled"] = f"ROLLED BACK (pulled {pulled}; then {undone}{commit})"
        else:
            fields["Code Pulled"] += f"; {undone}{commit}"
        for label in ("Images Built", "Services Started"):
            fields[label] += f"; undone - {undone}"
    return fields


def services_started(run: Run, counts: str) -> str:
    """Step 2.3's check, or, when it did not run, what the group starts did (they started)."""
    if run.status("phase2.services") != StepStatus.PENDING:
        return step_field(run, "phase2.services", counts)
    starts = [
        s
        for s in run.playbook.phase("phase2").steps
        if s.id.startswith(("phase2.start.", "phase2.ready."))
    ]
    ran = [s for s in starts if run.status(s.id) != StepStatus.PENDING]
    if not ran:
        return step_field(run, "phase2.services")
    bad = next((s for s in ran if run.status(s.id) in BAD), None)
    ready = [s for s in starts if s.id.startswith("phase2.ready.")]
    done = sum(run.status(s.id) in DONE for s in ready)
    progress = f"{done}/{len(ready)} start groups ready; the all-services check did not run"
    if bad is not None:
        result = run.results[bad.id]
        return f"NO ({bad.title} {str(result.status).upper()} - {why(result)}; {progress})"
    return f"PARTLY ({progress} yet)"


def phase3_fields(run: Run, config: Config) -> dict[str, str]:
    health = run.results["phase3.health"]
    healthy = f"{health.detail}, status ok, version {config.release.version}"
    database = next(
        (line.strip() for _, line in run.results["phase3.database"].output if "PostgreSQL" in line),
        run.results["phase3.database"].detail,
    )
    tail = config.thresholds.error_log_tail_lines
    return {
        "Health Checks Passed": step_field(run, "phase3.health", healthy),
        "Database Verified": step_field(run, "phase3.database", database[:120]),
        "Frontend Accessible": step_field(
            run, "phase3.frontend", f'{run.results["phase3.frontend"].detail}, "Warungin POS" seen'
        ),
        "Auth Working": step_field(
            run, "phase3.auth", f"unknown user refused with {run.results['phase3.auth'].detail}"
        ),
        "Error Logs Clean": step_field(
            run,
            "phase3.error_logs",
            f"{run.results['phase3.error_logs'].detail} in the last {tail} lines per service",
        ),
    }


def smoke_fields(run: Run) -> dict[str, str]:
    specs = run.playbook.phase("smoke").steps
    results = [run.results[s.id] for s in specs]
    if all(r.status == StepStatus.PENDING for r in results):
        reason = na("smoke test not started")
        return {"Completed": reason, "Issues Found": reason, "Critical Issues": reason}
    passed = sum(r.status in DONE for r in results)
    open_ = sum(r.status in (StepStatus.PENDING, StepStatus.RUNNING) for r in results)
    score = f"{passed}/{len(results)} tests passed"
    completed = f"IN PROGRESS ({score}, {open_} not done yet)" if open_ else f"YES ({score})"
    issues = [
        f"{spec.title} {str(r.status).upper()} ({why(r)})"
        for spec, r in zip(specs, results, strict=True)
        if r.status not in DONE and r.status not in (StepStatus.PENDING, StepStatus.RUNNING)
    ]
    # A failed browser check is critical: the seed's go-live needs all five; overrides count too.
    critical = [
        spec.title
        for spec, r in zip(specs, results, strict=True)
        if r.status in (StepStatus.FAILED, StepStatus.INTERRUPTED, StepStatus.OVERRIDDEN)
    ]
    critical_text = f"{len(critical)} (should be 0)"
    if critical:
        critical_text += f" - failed checks {', '.join(critical)}"
    return {
        "Completed": completed,
        "Issues Found": "; ".join(issues) or ("none so far" if open_ else "none"),
        "Critical Issues": critical_text,
    }


def deployment_window(run: Run) -> tuple[datetime | None, datetime | None]:
    start, _ = phase_span(run, "phase1")
    ends = [end for p in DEPLOYMENT_PHASES if (end := phase_span(run, p)[1]) is not None]
    ends += [t for r in run.rollbacks if (t := parse_at(r.get("finished_at")))]
    return start, (max(ends) if ends else None)


def template_sections(run: Run, config: Config, now: datetime) -> list[dict[str, Any]]:
    """The seed's DEPLOYMENT LOG TEMPLATE, section by section, label by label, in seed order."""
    per_phase = {
        "phase1": phase1_fields(run),
        "phase2": phase2_fields(run, config),
        "phase3": phase3_fields(run, config),
    }
    sections: list[dict[str, Any]] = []
    for title, phase_id in TEMPLATE_PHASES:
        start, duration, status = phase_fields(run, phase_id, now)
        fields = {"Start Time": start, **per_phase[phase_id]}
        fields.update({"Phase Duration": duration, "Status": status})
        sections.append({"section": title, "fields": fields})
    smoke = smoke_fields(run)
    smoke["Status"] = phase_fields(run, "smoke", now)[2]
    sections.append({"section": SMOKE_SECTION, "fields": smoke})
    overall = overall_status(run)
    began, ended = deployment_window(run)
    if began is None:
        total = na("deployment not started")
    elif not deployment_ended(run) or ended is None:
        total = na(f"deployment in progress, {fmt_minutes((now - began).total_seconds())} so far")
    else:
        total = fmt_minutes((ended - began).total_seconds())
    sections.append(
        {"section": None, "fields": {"TOTAL DEPLOYMENT TIME": total, "OVERALL STATUS": overall}}
    )
    return sections
