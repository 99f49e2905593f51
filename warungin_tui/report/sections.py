"""The sections after the template: verification, handoff, completion, sign-offs, monitoring,
go-live, incident, overrides, and the appendix of every executed step (redacted by model.py).
"""

from __future__ import annotations

from typing import Any

from warungin_tui.config import Config
from warungin_tui.engine.checklists import (
    COMPLETION,
    GO_LIVE,
    SECURITY_HANDOFF,
    VERIFICATION_HEALTH,
    VERIFICATION_SECURITY,
    monitoring_hours,
    monitoring_period_hours,
)
from warungin_tui.engine.issue import the_issue
from warungin_tui.engine.lifecycle import RunOutcome, run_outcome
from warungin_tui.engine.run import Run
from warungin_tui.monitoring.report import monitoring_report
from warungin_tui.outcome import PhaseStatus, StepStatus
from warungin_tui.playbook import StepKind
from warungin_tui.report.format import fmt_hours, fmt_time, na, redact_lines, who
from warungin_tui.report.outcome import DEPLOYMENT_PHASES, overall_status
from warungin_tui.report.template import (
    item_rows,
    notice_text,
    phase_span,
    step_evidence,
    step_field,
    step_start,
)
from warungin_tui.steps.parsers import ERROR_PATTERN

NOT_MEASURED = na("not measured by this tool: browser check Test 4")
ERROR_LOG_SOURCES = ("phase3.error_logs", "incident.collect_logs", "rollback.error_logs")
"""Phase 3 first: it saw the failing release; the incident step runs after the rollback."""
ERROR_LINES_SHOWN = 20
OUTPUT_TAIL_LINES = 60
"""Lines of each step's output in the appendix; the journal keeps the rest."""
NOTICE_STEPS = ("incident.notify_tech_lead", "incident.notify_staff")


# -- b. production verification report -----------------------------------------------------------
def _service_word(row: dict[str, Any]) -> str:
    if row.get("state") != "running":
        return f"DOWN ({row.get('state') or 'unknown'})"
    health = row.get("health") or ""
    return "UP & HEALTHY" if health == "healthy" else "UP" if not health else f"UP ({health})"


def verification(run: Run, config: Config) -> dict[str, Any]:
    value = run.results["phase2.services"].value
    if isinstance(value, dict) and isinstance(value.get("services"), list):
        rows = [{**row, "result": _service_word(row)} for row in value["services"]]
        running, expected, note = value.get("running"), value.get("expected"), None
    else:
        rows, running, expected = [], None, len(config.services.expected)
        note = na(f"Step 2.3 service check {run.status('phase2.services')}")
    services = {"running": running, "expected": expected, "rows": rows, "note": note}
    values = run.values
    api = values.get("api_response_ms")
    users = values.get("concurrent_users")
    load = values.get("frontend_load_s")
    performance = {
        "API Response Time": f"{api} ms (phase3.health)"
        if api is not None
        else na(f"phase3.health {run.status('phase3.health')}, no time measured"),
        "Shift Cache Performance": NOT_MEASURED,
        "API Call Reduction": NOT_MEASURED,
        "Concurrent Users": f"{users} (active sessions after deployment)"
        if users is not None
        else na(f"phase3.concurrent_users {run.status('phase3.concurrent_users')}"),
        "Frontend Load Time": f"{load} s (phase3.frontend)"
        if load is not None
        else na(f"phase3.frontend {run.status('phase3.frontend')}"),
    }
    return {
        "services": services,
        "health": item_rows(run, VERIFICATION_HEALTH, config),
        "security": item_rows(run, VERIFICATION_SECURITY),
        "performance": performance,
        "shift_caching_check": step_evidence(run, "smoke.shift_caching"),
    }


# -- c-f. handoff, completion, sign-offs, monitoring, go-live ------------------------------------
def signoffs(run: Run) -> list[dict[str, Any]]:
    """Completion sign-offs first (the seed's Sign-Offs Required), then the pre-deployment ones."""
    specs = [s for s in run.playbook.all_steps() if s.kind == StepKind.SIGNOFF]
    specs.sort(key=lambda s: run.playbook.phase_of(s.id).id != "completion")
    rows = []
    for spec in specs:
        result = run.results[spec.id]
        name = result.value.get("name") if isinstance(result.value, dict) else None
        entered = result.entered_by or na("operator not recorded")
        if result.status == StepStatus.PASSED and name:
            signed, at = name, fmt_time(result.finished_at) or na("time not recorded")
        else:
            entered = na("not signed")
            pending = result.status == StepStatus.PENDING
            signed, at = (
                (na("not signed") if pending else step_field(run, spec.id)),
                na("not signed"),
            )
        rows.append(
            {
                "label": spec.title,
                "role": spec.role,
                "step": spec.id,
                "phase": run.playbook.phase_of(spec.id).id,
                "status": str(result.status),
                "name": signed,
                "entered_by": entered,
                "at": at,
            }
        )
    return rows


def final_approval(run: Run) -> dict[str, str]:
    start, _ = phase_span(run, "phase1")
    overall = overall_status(run)
    if run.rollbacks:
        approval = "FAILED (Rollback)"
        complete = na("rolled back: see the Incident Report")
    elif run_outcome(run) == RunOutcome.SUCCESS and run.gate_holds("completion"):
        approval = "APPROVED & COMPLETE"
        ends = [end for p in DEPLOYMENT_PHASES if (end := phase_span(run, p)[1]) is not None]
        complete = (fmt_time(max(ends)) if ends else None) or na("no deployment phase finished")
    else:
        approval = na(f"completion checklist {run.phase_status('completion')}; {overall}")
        complete = na("deployment not complete")
    if complete is None:
        complete = na("no finish time recorded")
    return {
        "Production Deployment": approval,
        "Deployed By": run.operator or na("no operator recorded"),
        "Deployment Time": fmt_time(start) or na("Phase 1 not started"),
        "Deployment Complete": complete,
    }


def answer(run: Run, step_id: str, suffix: str = "") -> str:
    """What a person typed into an input step, or why there is nothing."""
    result = run.results[step_id]
    if result.status == StepStatus.PASSED and result.value not in (None, ""):
        return f"{result.value}{suffix}"
    if result.status == StepStatus.PENDING:
        return na(f"not recorded ({step_id})")
    return step_field(run, step_id)


def monitoring(run: Run) -> dict[str, Any]:
    limit = float((run.config.get("thresholds") or {}).get("api_latency_ms", 1000.0))
    sampled = monitoring_report(run, limit)
    if run.phase_status("monitoring") == PhaseStatus.NOT_STARTED and not sampled["sampled"]:
        return {"ran": False, "fields": {}, "checks": [], "samples": sampled}
    start, _ = phase_span(run, "phase1")
    _, end = phase_span(run, "monitoring")
    duration = (
        f"{fmt_hours((end - start).total_seconds())} (Phase 1 start to the last monitoring entry)"
        if start and end
        else na("Phase 1 start or monitoring end not recorded")
    )
    uptime = run.results["monitoring.uptime"].value
    decision = (run.decision or {}).get("decision")
    go_live = {"GO-LIVE APPROVED": "APPROVED", "HOLD FOR REVIEW": "NEEDS REVIEW"}.get(
        str(decision), na("no go-live decision recorded")
    )
    samples = len(run.monitoring_samples)
    fields = {
        "Deployment Duration": duration,
        "Monitoring Covered": f"{monitoring_hours(run):.1f} of {monitoring_period_hours(run):g} "
        f"hours ({samples} monitoring sample{'s' if samples != 1 else ''})",
        "Uptime": answer(run, "monitoring.uptime", "" if str(uptime).endswith("%") else "%"),
        "Critical Issues": answer(run, "monitoring.critical_issues", " (should be 0)"),
        "User Reports": answer(run, "monitoring.user_reports"),
        "Performance": answer(run, "monitoring.performance"),
        "Go-Live Status": go_live,
    }
    if sampled["sampled"]:
        # The samples are the evidence; what a person typed is kept beside them.
        for name in ("Uptime", "Critical Issues", "Performance"):
            typed = fields[name]
            fields[name] = sampled["fields"][name]
            if not typed.startswith("n/a"):
                fields[name] += f" (entered: {typed})"
        fields["Monitoring Gaps"] = sampled["fields"]["Monitoring Gaps"]
    checks = [
        {"step": s.id, "title": s.title, "status": str(run.status(s.id)).upper()}
        | {"evidence": step_evidence(run, s.id)}
        for s in run.playbook.phase("monitoring").steps
        if s.kind != StepKind.INPUT
    ]
    return {"ran": True, "fields": fields, "checks": checks, "samples": sampled}


def go_live(run: Run) -> dict[str, Any]:
    decision = run.decision
    if decision is None:
        fields = {
            "Production Deployment Status": na("not decided"),
            "Authorized By": na("not decided"),
            "Date/Time": na("not decided"),
            "Effective Date/Time": na("not decided"),
        }
        blockers: list[str] = []
    else:
        fields = {
            "Production Deployment Status": str(decision.get("decision")),
            "Authorized By": who(
                str(decision.get("authorized_by") or na("not recorded")),
                decision.get("entered_by"),
                always=True,
            ),
            "Date/Time": fmt_time(decision.get("at")) or na("not recorded"),
            "Effective Date/Time": str(decision.get("effective_at") or na("not recorded")),
        }
        blockers = list(decision.get("blockers") or [])
    return {
        "items": item_rows(run, GO_LIVE),
        "decided": decision is not None,
        "fields": fields,
        "blockers_at_decision": blockers,
    }


def handoff(run: Run) -> list[dict[str, Any]]:
    return item_rows(run, SECURITY_HANDOFF)


def completion(run: Run) -> list[dict[str, Any]]:
    return item_rows(run, COMPLETION)


# -- g. incident report --------------------------------------------------------------------------
def first_failure(run: Run) -> tuple[str, str] | None:
    """(step id, description) of the issue (issue.the_issue), as the incident report words it."""
    issue = the_issue(run)
    if issue is None:
        return None
    text = (
        f"{fmt_time(issue.at) or 'time unknown'} - {issue.step_id} ({issue.title}) "
        f"{str(issue.status).upper()} - {issue.detail}"
    )
    return issue.step_id, text


def _error_logs(run: Run) -> list[dict[str, Any]]:
    blocks = []
    for source in ERROR_LOG_SOURCES:
        result = run.results[source]
        if result.status == StepStatus.PENDING:
            continue
        value = result.value if isinstance(result.value, dict) else {}
        lines = value.get("lines")
        if not isinstance(lines, list):
            lines = [line for _, line in result.output if ERROR_PATTERN.search(line)]
        count = int(value.get("count", len(lines)))
        if not lines:
            continue
        shown = [str(line) for line in lines[-ERROR_LINES_SHOWN:]]
        blocks.append(
            {
                "source": source,
                "at": fmt_time(result.finished_at),
                "count": count,
                "lines": shown,
                "omitted": max(0, count - len(shown)),
            }
        )
    return blocks


def incident(run: Run) -> dict[str, Any] | None:
    """The seed's Incident Report; only when a rollback happened."""
    if not run.rollbacks:
        return None
    start, _ = phase_span(run, "phase1")
    first = run.rollbacks[0]
    failure = first_failure(run)
    issue = (
        failure[1]
        if failure
        else (f"no failed step recorded; rollback reason - {first.get('reason') or 'none given'}")
    )
    completed = next((r for r in run.rollbacks if r.get("ok")), None)
    last = run.rollbacks[-1]
    if completed is not None:
        complete = f"{fmt_time(completed.get('finished_at'))} - {completed.get('detail', '')}"
    elif "ok" in last:
        complete = f"NOT COMPLETE - rollback FAILED {fmt_time(last.get('finished_at'))}"
        complete += f" ({last.get('detail', '')})"
    else:
        complete = na("rollback started but not finished")
    fields = {
        "Deployment Time": fmt_time(start) or na("Phase 1 not started"),
        "Issue Detected": issue,
        "Issue Severity": answer(run, "incident.severity"),
        "Rollback Initiated": f"{fmt_time(first.get('started_at'))} by "
        f"{first.get('by') or 'unknown'} - reason {first.get('reason') or 'none given'}",
        "Rollback Complete": complete,
        "Root Cause": answer(run, "incident.root_cause"),
        "Next Action": answer(run, "incident.next_action"),
    }
    attempts = [
        {
            "started_at": fmt_time(r.get("started_at")),
            "finished_at": fmt_time(r.get("finished_at")) or na("not finished"),
            "by": r.get("by") or "unknown",
            "reason": r.get("reason") or "",
            "result": "not finished" if "ok" not in r else "OK" if r["ok"] else "FAILED",
            "detail": r.get("detail", ""),
        }
        for r in run.rollbacks
    ]
    after = [
        {"step": s.id, "title": s.title, "status": str(run.status(s.id)).upper()}
        | {"evidence": step_evidence(run, s.id)}
        for s in run.playbook.phase("rollback").steps
    ]
    notices = []
    for step_id in NOTICE_STEPS:
        value = run.results[step_id].value
        if isinstance(value, dict) and "body" in value:
            notices.append(
                {
                    "step": step_id,
                    "title": run.playbook.step(step_id).title,
                    "at": fmt_time(run.results[step_id].finished_at),
                    "subject": str(value.get("subject", "")),
                    "to": str(value.get("to") or na("no recipient in the message")),
                    "state": notice_text(run, step_id),
                    "body": str(value["body"]),
                }
            )
    return {
        "fields": fields,
        "failed_step": failure[0] if failure else None,
        "rollbacks": attempts,
        "after_rollback": after,
        "error_logs": _error_logs(run),
        "notices": notices,
    }


# -- h. overrides and skips ----------------------------------------------------------------------
def overrides(run: Run) -> list[dict[str, Any]]:
    rows = []
    for phase_id, gate in run.gate_overrides.items():
        rows.append(
            {
                "kind": "gate override",
                "target": phase_id,
                "title": run.playbook.phase(phase_id).title,
                "outcome": f"phase {run.phase_status(phase_id)}",
                "reason": gate.get("reason", ""),
                "by": who(gate.get("by"), gate.get("entered_by")),
                "at": fmt_time(gate.get("at")) or na("time not recorded"),
            }
        )
    for spec in run.playbook.all_steps():
        result = run.results[spec.id]
        if result.status == StepStatus.OVERRIDDEN:
            kind, reason = "step override", result.override_reason or ""
            outcome = f"failed - {result.failed_detail}" if result.failed_detail else "never run"
            at = fmt_time(result.overridden_at) or na("time not recorded")
        elif result.status == StepStatus.SKIPPED:
            kind, reason, outcome = "skip", result.note or result.detail, "skipped"
            at = fmt_time(result.finished_at) or na("time not recorded")
        else:
            continue
        rows.append(
            {
                "kind": kind,
                "target": spec.id,
                "title": spec.title,
                "outcome": outcome,
                "reason": reason,
                "by": who(result.by, result.entered_by),
                "at": at,
            }
        )
    return rows


# -- i. appendix: every executed step ------------------------------------------------------------
def steps(run: Run) -> list[dict[str, Any]]:
    order = {spec.id: index for index, spec in enumerate(run.playbook.all_steps())}

    def when(step_id: str) -> tuple[int, float, int]:
        start = step_start(run.results[step_id])
        # Steps overridden without running have no time: they go last, in playbook order.
        return (0, start.timestamp(), order[step_id]) if start else (1, 0.0, order[step_id])

    executed = [
        sid for sid, r in run.results.items() if r.status != StepStatus.PENDING or r.attempts
    ]
    rows = []
    for step_id in sorted(executed, key=when):
        spec = run.playbook.step(step_id)
        result = run.results[step_id]
        lines = [line if s == "stdout" else f"[{s}] {line}" for s, line in result.output]
        shown = redact_lines(lines)[-OUTPUT_TAIL_LINES:]  # redact the whole stream, then cut
        rows.append(
            {
                "id": step_id,
                "title": spec.title,
                "seed_ref": spec.seed_ref,
                "phase": run.playbook.phase_of(step_id).id,
                "kind": str(spec.kind),
                "status": str(result.status),
                "attempts": result.attempts,
                "started_at": fmt_time(result.started_at),
                "finished_at": fmt_time(result.finished_at),
                "duration_s": result.duration_s,
                "exit_code": result.exit_code,
                "command": result.command,
                "detail": result.detail,
                "failed_detail": result.failed_detail,
                "by": result.by,
                "entered_by": result.entered_by,
                "note": result.note,
                "override_reason": result.override_reason,
                "notice": notice_text(run, step_id) if spec.kind == StepKind.NOTIFY else None,
                "value": result.value,
                "output": shown,
                "output_lines_total": result.output_lines,
                "output_omitted": max(0, result.output_lines - len(shown)),
                "output_file": result.output_file,
            }
        )
    return rows
