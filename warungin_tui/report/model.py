"""The deployment log export: the seed's DEPLOYMENT LOG TEMPLATE and reports, built from a Run.

Pure functions. One redacted data model (`build_report`) feeds both the JSON and the Markdown,
so the two always say the same thing, and no run data reaches either without redaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from warungin_tui import __version__
from warungin_tui.config import Config
from warungin_tui.engine.lifecycle import run_outcome
from warungin_tui.engine.run import Run
from warungin_tui.journal import TORN_LAST_LINE
from warungin_tui.monitoring.report import monitoring_markdown
from warungin_tui.report.format import (
    code,
    esc,
    fence,
    fmt_seconds,
    fmt_time,
    long_date,
    na,
    parse_at,
    redact_tree,
    table,
)
from warungin_tui.report.outcome import outcome_detail, overall_status
from warungin_tui.report.sections import (
    answer,
    completion,
    final_approval,
    go_live,
    handoff,
    incident,
    monitoring,
    overrides,
    signoffs,
    steps,
    verification,
)
from warungin_tui.report.template import template_sections

SCHEMA = "warungin-tui.deployment-log/1"
RULE = "====================================="  # the seed template's underline

__all__ = ["SCHEMA", "JournalInfo", "build_report", "markdown_of", "render_json", "render_markdown"]


@dataclass(frozen=True)
class JournalInfo:
    """What the export says about the journal it came from (read by export.journal_info)."""

    path: str
    lines: int
    chain_ok: bool
    last_hash: str | None = None
    first_bad_line: int | None = None
    problem: str = ""
    torn_tail: bool = False
    """The journal's last line was torn by a crash during a write (not tampering)."""
    recorded_with: str | None = None
    """Tool version written in the run_started event."""
    recorded_playbook: str | None = None
    """Playbook fingerprint written in the run_started event."""


def build_report(
    run: Run, config: Config, *, now: datetime | None = None, journal: JournalInfo | None = None
) -> dict[str, Any]:
    """Every section as JSON-ready data, redacted."""
    now = now or datetime.now(UTC)
    fingerprint = run.playbook.fingerprint()  # of the playbook as run, before titles are filled
    started = parse_at(run.started_at) or now
    outcome = run_outcome(run)
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "title": f"DEPLOYMENT LOG - {long_date(started)}",
        "outcome": str(outcome),
        "outcome_detail": outcome_detail(run, outcome),
        "generated_at": fmt_time(now),
        "run": {
            "run_id": run.run_id or na("no run_started event"),
            "target": run.target or config.target.label,
            "project_dir": config.target.project_dir,
            "release": run.release or config.release.version,
            "branch": config.release.branch,
            "api": config.endpoints.api,
            "frontend": config.endpoints.frontend,
            "operator": run.operator or na("no operator recorded"),
            "started_at": fmt_time(run.started_at) or na("not recorded"),
            "finished_at": fmt_time(run.finished_at) or na("run not finished"),
            "exported_by": f"warungin-tui {__version__}",
            "playbook": f"{run.playbook.name} {run.playbook.version}",
            "playbook_fingerprint": fingerprint,
            "events": run.events,
            "on_call": answer(run, "pre.on_call"),
        },
        "journal": asdict(journal) if journal else None,
        "template": template_sections(run, config, now),
        "overall_status": overall_status(run),
        "verification": verification(run, config),
        "security_handoff": handoff(run),
        "completion": {"items": completion(run), "final_approval": final_approval(run)},
        "signoffs": signoffs(run),
        "monitoring": monitoring(run),
        "go_live": go_live(run),
        "incident": incident(run),
        "overrides": overrides(run),
        "steps": steps(run),
    }
    redacted: dict[str, Any] = redact_tree(data)
    return redacted


def render_json(
    run: Run, config: Config, *, now: datetime | None = None, journal: JournalInfo | None = None
) -> dict[str, Any]:
    return build_report(run, config, now=now, journal=journal)


def render_markdown(
    run: Run, config: Config, *, now: datetime | None = None, journal: JournalInfo | None = None
) -> str:
    return markdown_of(build_report(run, config, now=now, journal=journal))


def markdown_of(report: dict[str, Any]) -> str:
    """Markdown from an already built (and redacted) report."""
    parts = [
        _header(report),
        _template(report),
        _verification(report["verification"]),
        _handoff(report["security_handoff"]),
        _completion(report),
        _monitoring(report["monitoring"]),
        _go_live(report["go_live"]),
        _incident(report["incident"]),
        _overrides(report["overrides"]),
        _appendix(report["steps"]),
    ]
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"


# -- pieces ----------------------------------------------------------------------------------------
def _fields_block(fields: dict[str, str]) -> str:
    return fence("\n".join(f"{label}: {' '.join(str(v).split())}" for label, v in fields.items()))


def _items(rows: list[dict[str, Any]]) -> str:
    body = [[esc(r["label"]), f"**{r['state']}**", esc(r["evidence"])] for r in rows]
    return table(["Item", "Result", "Evidence"], body)


def _journal_lines(journal: dict[str, Any] | None) -> tuple[list[list[str]], str]:
    if journal is None:
        return [["Journal", esc(na("no journal given to the export"))]], ""
    torn = journal.get("torn_tail", False)
    if journal["chain_ok"]:
        chain, warning = f"intact ({journal['lines']} lines, every sha256 link verified)", ""
        if torn:
            chain += f"; {TORN_LAST_LINE}, not part of the run"
    else:
        where = f"line {journal['first_bad_line']}" if journal["first_bad_line"] else "the file"
        chain = f"BROKEN at {where} ({journal['problem']})"
        warning = (
            f"> **WARNING: the journal's hash chain is BROKEN at {esc(where)} "
            f"({esc(journal['problem'])}).** The journal was changed or damaged after it was "
            "written: this log may not show what really happened."
        )
    rows = [
        ["Journal", code(journal["path"], in_table=True)],
        ["Journal chain", esc(chain)],
        ["Final line sha256", code(journal["last_hash"] or "n/a", in_table=True)],
    ]
    return rows, warning


def _header(report: dict[str, Any]) -> str:
    run = report["run"]
    journal_rows, warning = _journal_lines(report["journal"])
    recorded = (report["journal"] or {}).get("recorded_with")
    version = run["exported_by"] + (f" (run recorded with {recorded})" if recorded else "")
    rows = [
        ["Run id", code(run["run_id"], in_table=True)],
        ["Target", esc(f"{run['target']} ({run['project_dir']})")],
        ["Release", esc(f"{run['release']} (branch {run['branch']})")],
        ["Endpoints", esc(f"API {run['api']}; frontend {run['frontend']}")],
        ["Operator", esc(run["operator"])],
        ["On call", esc(run["on_call"])],
        ["Run started", esc(run["started_at"])],
        ["Run finished", esc(run["finished_at"])],
        ["Overall status", f"**{esc(report['overall_status'])}**"],
        ["Tool version", esc(version)],
        ["Playbook", esc(_playbook_text(run, report["journal"]))],
        *journal_rows,
        ["Exported at", esc(report["generated_at"])],
    ]
    detail = f" ({esc(report['outcome_detail'])})" if report["outcome_detail"] else ""
    title = (
        f"# {report['title']}\n\n**Outcome: {report['outcome']}**{detail}\n\n"
        "Warungin POS production deployment, exported from the run journal."
    )
    parts = [title, warning, table(["", ""], rows)]
    return "\n\n".join(p for p in parts if p)


def _playbook_text(run: dict[str, Any], journal: dict[str, Any] | None) -> str:
    text = f"{run['playbook']} (fingerprint {run['playbook_fingerprint']})"
    recorded = (journal or {}).get("recorded_playbook")
    if recorded and recorded != run["playbook_fingerprint"]:
        text += f"; WARNING: the run was recorded with playbook {recorded}"
    return text


def _template(report: dict[str, Any]) -> str:
    """The seed's template, line for line, in a code block as the seed has it."""
    lines = [report["title"], RULE]
    for section in report["template"]:
        lines.append("")
        if section["section"]:
            lines.append(section["section"])
        lines += [f"{k}: {' '.join(str(v).split())}" for k, v in section["fields"].items()]
    return "## Deployment log\n\n" + fence("\n".join(lines))


def _verification(data: dict[str, Any]) -> str:
    services = data["services"]
    if services["rows"]:
        mark = {True: "✅", False: "❌"}
        rows = [
            [
                f"{mark[r['result'].startswith('UP')]} {esc(r['result'])}",
                esc(r["service"]),
                esc(r["name"] or "-"),
                esc(r["status"] or "-"),
            ]
            for r in services["rows"]
        ]
        intro = f"{services['running']}/{services['expected']} services running (Step 2.3)."
        status = intro + "\n\n" + table(["Result", "Service", "Container", "Docker status"], rows)
    else:
        status = esc(services["note"])
    return "\n\n".join(
        [
            "## Production verification report",
            "### Service status",
            status,
            "### Health checks",
            _items(data["health"]),
            "### Security verification",
            _items(data["security"]),
            "### Performance baseline",
            _fields_block(data["performance"]),
            f"Shift caching browser check (Test 4): {esc(data['shift_caching_check'])}",
        ]
    )


def _handoff(rows: list[dict[str, Any]]) -> str:
    return "## Security handoff\n\n" + _items(rows)


def _completion(report: dict[str, Any]) -> str:
    sign = [
        [esc(r["label"]), esc(r["role"]), esc(r["name"]), esc(r["entered_by"]), esc(r["at"])]
        + [code(r["step"])]
        for r in report["signoffs"]
    ]
    signed = [
        f"- {esc(r['role'])}: {esc(r['name'])}, entered by {esc(r['entered_by'])} at {esc(r['at'])}"
        for r in report["signoffs"]
        if r["status"] == "passed"
    ]
    return "\n\n".join(
        [
            "## Deployment completion checklist",
            _items(report["completion"]["items"]),
            "### Sign-offs",
            table(["Sign-off", "Role", "Name", "Entered by", "Signed at", "Step"], sign),
            "\n".join(signed) or "No sign-off given yet.",
            "### Final approval",
            _fields_block(report["completion"]["final_approval"]),
        ]
    )


def _step_rows(rows: list[dict[str, Any]]) -> str:
    body = [
        [code(r["step"]), esc(r["title"]), f"**{r['status']}**", esc(r["evidence"])] for r in rows
    ]
    return table(["Step", "Check", "Result", "Evidence"], body)


def _monitoring(data: dict[str, Any]) -> str:
    if not data["ran"]:
        return "## 24-hour sign-off\n\n" + esc(na("post-deployment monitoring has not run"))
    parts = [
        "## 24-hour sign-off",
        _fields_block(data["fields"]),
        "### Monitoring checks",
        _step_rows(data["checks"]),
    ]
    if data["samples"]["sampled"]:
        parts += ["### Post-deployment monitoring samples", monitoring_markdown(data["samples"])]
    return "\n\n".join(parts)


def _go_live(data: dict[str, Any]) -> str:
    parts = ["## Go-live decision", "### Final checklist", _items(data["items"]), "### Decision"]
    if not data["decided"]:
        parts.append("Not decided.")
    parts.append(_fields_block(data["fields"]))
    if data["blockers_at_decision"]:
        parts.append(
            "Open at the time of the decision:\n\n"
            + "\n".join(f"- {esc(b)}" for b in data["blockers_at_decision"])
        )
    return "\n\n".join(parts)


def _incident(data: dict[str, Any] | None) -> str:
    if data is None:
        return "## Incident report\n\nNo rollback happened: there is no incident to report."
    attempts = [
        [esc(a["started_at"]), esc(a["finished_at"]), esc(a["by"]), esc(a["reason"])]
        + [f"**{a['result']}**", esc(a["detail"])]
        for a in data["rollbacks"]
    ]
    parts = [
        "## Incident report",
        _fields_block(data["fields"]),
        "### Rollback attempts",
        table(["Started", "Finished", "By", "Reason", "Result", "Detail"], attempts),
        "### Status after rollback",
        _step_rows(data["after_rollback"]),
        "### Error log lines",
    ]
    if not data["error_logs"]:
        parts.append(esc(na("no error lines were collected")))
    for block in data["error_logs"]:
        omitted = f", {block['omitted']} more not shown" if block["omitted"] else ""
        parts.append(
            f"From {code(block['source'])} at {esc(block['at'])} "
            f"({block['count']} error lines{omitted}):\n\n" + fence("\n".join(block["lines"]))
        )
    for notice in data["notices"]:
        parts.append(
            f"### {esc(notice['title'])}\n\nPrepared {esc(notice['at'])} for "
            f"{esc(notice['to'])}: {esc(notice['state'])}."
        )
        parts.append(fence(notice["body"]))
    return "\n\n".join(parts)


def _overrides(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return (
            "## Overrides and skips\n\nNone: no step was skipped or overridden, no gate overridden."
        )
    body = [
        [esc(r["kind"]), code(r["target"]), esc(r["title"]), esc(r["outcome"])]
        + [esc(r["reason"]), esc(r["by"]), esc(r["at"])]
        for r in rows
    ]
    header = ["Kind", "What", "Title", "Outcome", "Reason", "By", "When"]
    return "## Overrides and skips\n\n" + table(header, body)


def _appendix(rows: list[dict[str, Any]]) -> str:
    parts = [
        "## Appendix: steps in time order",
        f"{len(rows)} steps with an outcome. Output is redacted; each step shows at most its "
        "last lines (the journal keeps up to 5000 per attempt).",
    ]
    for number, step in enumerate(rows, start=1):
        parts.append(_appendix_step(number, step))
    return "\n\n".join(parts)


def _appendix_step(number: int, step: dict[str, Any]) -> str:
    facts = [f"- Seed: {esc(step['seed_ref'])}"]
    if step["attempts"]:
        exit_code = step["exit_code"] if step["exit_code"] is not None else "n/a"
        facts += [
            f"- Status: **{step['status'].upper()}**, exit code {exit_code}, duration "
            f"{fmt_seconds(step['duration_s'])}, attempts {step['attempts']}",
            f"- Started {esc(step['started_at'] or 'n/a')}, "
            f"finished {esc(step['finished_at'] or 'n/a')}",
        ]
    else:  # answered by a person (tick, sign-off, input, skip, override): nothing was executed
        when = step["finished_at"] or "time not recorded"
        facts.append(f"- Status: **{step['status'].upper()}**, answered {esc(when)}")
    for key, label in (
        ("detail", "Detail"),
        ("failed_detail", "Failure"),
        ("by", "By"),
        ("entered_by", "Entered by"),
        ("note", "Note"),
        ("override_reason", "Override reason"),
        ("notice", "Notification"),
    ):
        repeated = key in ("failed_detail", "note") and step[key] and step[key] in step["detail"]
        repeated = repeated or (key == "entered_by" and step[key] == step["by"])
        if step[key] and not repeated:
            facts.append(f"- {label}: {esc(step[key])}")
    parts = [f"### {number}. {code(step['id'])} {esc(step['title'])}", "\n".join(facts)]
    if step["command"]:
        parts.append("Command:\n\n" + fence(step["command"], "sh"))
    if step["output"]:
        total, omitted = step["output_lines_total"], step["output_omitted"]
        count = f"{total} line{'s' if total != 1 else ''}"
        note = f"last {len(step['output'])} of {count}" if omitted else count
        lines = ([f"... {omitted} earlier lines omitted"] if omitted else []) + step["output"]
        parts.append(f"Output ({note}):\n\n" + fence("\n".join(lines)))
    if step.get("output_file") and step["output_omitted"]:  # the appendix shows part of it
        parts.append(_output_file_note(step["output_file"]))
    return "\n\n".join(parts)


def _output_file_note(side: dict[str, Any]) -> str:
    """Where the attempt's complete output is (redacted, gzip), and how to check it is intact."""
    if "name" not in side:
        return f"Complete output: not kept ({esc(str(side.get('error', 'unknown reason')))})."
    lines = int(side.get("lines", 0))
    note = (
        f"Complete output ({lines} line{'s' if lines != 1 else ''}, redacted): "
        f"{code(str(side['name']))} beside the journal, sha256 {code(str(side['sha256']))}"
    )
    if side.get("error"):
        note += f" (incomplete: {esc(str(side['error']))})"
    return note + "."
