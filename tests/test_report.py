"""The deployment-log export: the seed's template filled field by field, a golden log, the incident
report, redaction, private files, and the `export` / `verify-log` commands."""

from __future__ import annotations

import json
import os
import re
import stat
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests import report_script as script
from tests.helpers import run_cli
from warungin_tui.engine.engine import Engine
from warungin_tui.report.export import ExportError, export_journal, export_run, journal_info
from warungin_tui.report.format import redact_lines
from warungin_tui.report.model import render_json, render_markdown

DATA = Path(__file__).parent / "data"
SEED = DATA / "PRODUCTION_DEPLOYMENT_PLAYBOOK.md"
GOLDEN = DATA / "golden_deployment_log.md"
NOW = datetime(2026, 1, 1, 16, 0, tzinfo=UTC)
PLACEHOLDER = re.compile(r"_{3,}|☐")
Field = tuple[str | None, str]


# -- the seed's template, and the same block in a rendered log -------------------------------------
def fenced_block_after(text: str, marker: str) -> list[str]:
    """Lines of the first fenced block after the line containing `marker`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    opening = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
    fence = re.match(r"`+", lines[opening]).group(0)  # type: ignore[union-attr]
    closing = next(i for i in range(opening + 1, len(lines)) if lines[i] == fence)
    return lines[opening + 1 : closing]


def seed_template() -> tuple[list[Field], set[str]]:
    """(section, label) pairs of the seed's DEPLOYMENT LOG TEMPLATE, and its section names.

    A field is `Label: <placeholder>`; any other non-blank line names a section; a blank line
    ends the section (TOTAL DEPLOYMENT TIME and OVERALL STATUS stand alone).
    """
    block = fenced_block_after(SEED.read_text(encoding="utf-8"), "DEPLOYMENT LOG TEMPLATE")
    fields: list[Field] = []
    sections: set[str] = set()
    section: str | None = None
    for line in block[2:]:  # title and its ===== underline
        if not line.strip():
            section = None
            continue
        label, sep, rest = line.partition(": ")
        if sep and PLACEHOLDER.search(rest):
            fields.append((section, label))
        else:
            section = line.strip()
            sections.add(section)
    return fields, sections


def rendered_template(markdown: str, sections: set[str]) -> tuple[list[str], dict[Field, str]]:
    block = fenced_block_after(markdown, "## Deployment log")
    values: dict[Field, str] = {}
    section: str | None = None
    for line in block[2:]:
        if not line.strip():
            section = None
        elif line.strip() in sections:
            section = line.strip()
        else:
            label, _, value = line.partition(": ")
            values[(section, label)] = value
    return block[:2], values


def assert_filled(field: Field, value: str | None) -> None:
    assert value, f"{field} is missing or empty"
    assert not PLACEHOLDER.search(value), f"{field} still has a placeholder: {value!r}"
    if value.startswith("n/a"):
        assert re.fullmatch(r"n/a \(.+\)", value), f"{field}: n/a without a reason: {value!r}"


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[script.FakeClock]:
    yield script.install_clock(monkeypatch)
    monkeypatch.undo()
    time.tzset()


async def scripted(
    clock: script.FakeClock, journal_dir: Path, run: script.Script, **config: dict
) -> AsyncIterator[Engine]:
    engine = await script.new_engine(clock, journal_dir, script.make_config(**config))
    try:
        await run(engine, clock)
        yield engine
    finally:
        await engine.aclose()


@pytest.fixture
async def healthy(clock: script.FakeClock, tmp_path: Path) -> AsyncIterator[Engine]:
    async for engine in scripted(clock, tmp_path / "journal", script.healthy_run):
        yield engine


@pytest.fixture
async def rolled_back(clock: script.FakeClock, tmp_path: Path) -> AsyncIterator[Engine]:
    async for engine in scripted(clock, tmp_path / "journal", script.failed_run):
        yield engine


def markdown(engine: Engine) -> str:
    journal = journal_info(engine.journal.path)  # type: ignore[union-attr]
    return render_markdown(engine.run, engine.config, now=NOW, journal=journal)


# -- (a) the template, field by field, and the golden log ------------------------------------------
def test_seed_template_parses_into_every_field() -> None:
    fields, sections = seed_template()
    assert len(fields) == 26
    assert ("PHASE 2: CODE DEPLOYMENT", "Services Started") in fields
    assert (None, "OVERALL STATUS") in fields and "PRODUCTION SMOKE TEST" in sections


def test_healthy_run_fills_every_template_field(healthy: Engine) -> None:
    fields, sections = seed_template()
    head, values = rendered_template(markdown(healthy), sections)
    assert head == ["DEPLOYMENT LOG - December 31, 2025", "====================================="]
    assert list(values) == fields, "same labels, same sections, same order as the seed"
    for field in fields:
        assert_filled(field, values[field])
        assert not values[field].startswith("n/a"), f"{field}: a healthy run measures it"
    assert values[("PHASE 2: CODE DEPLOYMENT", "Services Started")] == "YES (8/8)"
    assert values[("PHASE 1: PRE-DEPLOYMENT", "Active Users")] == "0 (should be 0)"
    assert values[("PRODUCTION SMOKE TEST", "Completed")] == "YES (5/5 tests passed)"
    assert values[(None, "OVERALL STATUS")] == "SUCCESS"
    assert values[(None, "TOTAL DEPLOYMENT TIME")] == "12.5 minutes"
    assert values[("PHASE 1: PRE-DEPLOYMENT", "Phase Duration")] == "0.9 minutes (56.2 s)"
    data = render_json(healthy.run, healthy.config, now=NOW)
    from_json = {(s["section"], k): v for s in data["template"] for k, v in s["fields"].items()}
    assert from_json == values


async def test_fresh_run_says_why_each_field_is_empty(
    clock: script.FakeClock, tmp_path: Path
) -> None:
    engine = await script.new_engine(clock, tmp_path)
    fields, sections = seed_template()
    _, values = rendered_template(markdown(engine), sections)
    await engine.aclose()
    for field in fields:
        assert_filled(field, values[field])
    assert values[("PHASE 3: POST-DEPLOYMENT VERIFICATION", "Status")] == "n/a (phase not started)"
    assert values[(None, "OVERALL STATUS")].startswith("IN PROGRESS")


def normalise(text: str) -> str:
    """Times, run ids, hashes and versions change with no change in meaning."""
    text = re.sub(
        r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( UTC|Z|[+-]\d{2}:?\d{2})?",
        "<TIME>",
        text,
    )
    text = re.sub(r"\b\d{8}-\d{6}-[0-9a-f]{6}\b", "<RUN-ID>", text)
    text = re.sub(r"\b[0-9a-f]{64}\b", "<SHA256>", text)
    text = re.sub(r"fingerprint [0-9a-f]{16}", "fingerprint <FINGERPRINT>", text)
    return re.sub(r"(warungin-tui|recorded with) \d+\.\d+\.\d+\S*", r"\1 <VERSION>", text)


def test_golden_deployment_log(healthy: Engine, tmp_path: Path) -> None:
    """The whole log of a healthy run; regenerate with UPDATE_GOLDEN=1 after a deliberate change."""
    rendered = markdown(healthy).replace(str(tmp_path), "<TMP>")
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(rendered, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    assert normalise(rendered) == normalise(expected)


# -- (b) a failed health check and a rollback -----------------------------------------------------
def test_rollback_produces_a_complete_incident_report(rolled_back: Engine) -> None:
    md = markdown(rolled_back)
    block = fenced_block_after(md, "## Incident report")
    fields = dict(line.split(": ", 1) for line in block)
    assert list(fields) == [
        "Deployment Time",
        "Issue Detected",
        "Issue Severity",
        "Rollback Initiated",
        "Rollback Complete",
        "Root Cause",
        "Next Action",
    ]
    for label, value in fields.items():
        assert_filled((None, label), value)
        assert not value.startswith("n/a"), label
    assert "phase3.health" in fields["Issue Detected"] and "HTTP 503" in fields["Issue Detected"]
    assert "monitoring_alerts" not in fields["Issue Detected"], "an override is not the incident"
    assert fields["Issue Severity"] == "CRITICAL"
    assert "backend unhealthy after deploy" in fields["Rollback Initiated"]
    assert "previous version running" in fields["Rollback Complete"]
    assert fields["Root Cause"] == "shift_cache migration not idempotent"
    assert "redeploy 2026-01-02" in fields["Next Action"]
    errors = fenced_block_after(md, "From `incident.collect_logs`")
    assert any("migration 20251231_shift_cache failed" in line for line in errors)
    notice = fenced_block_after(md, "### Notify Tech Lead immediately")
    assert notice[0].startswith("TO: Sari Wijaya <sari@warungin.example>")
    assert notice[1].startswith("SUBJECT: CRITICAL: Warungin production issue - ")
    assert "OVERALL STATUS: ROLLED BACK (previous version restored)" in md
    assert md.splitlines()[2] == "**Outcome: ROLLED BACK** (previous version restored)"
    assert "Production Deployment: FAILED (Rollback)" in md
    assert "| No rollback needed | **NO** |" in md
    data = render_json(rolled_back.run, rolled_back.config, now=NOW)
    assert data["incident"]["failed_step"] == "phase3.health"
    assert data["incident"]["fields"] == fields
    assert [r["result"] for r in data["incident"]["rollbacks"]] == ["OK"]
    assert all(row["status"] == "PASSED" for row in data["incident"]["after_rollback"])


def test_healthy_run_has_no_incident(healthy: Engine) -> None:
    assert "No rollback happened: there is no incident to report." in markdown(healthy)
    assert render_json(healthy.run, healthy.config, now=NOW)["incident"] is None


# -- (c) redaction -------------------------------------------------------------------------------
SECRETS = [
    "s3cret",
    "abcdef123456789",
    "hunter2",
    "viewpw99",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU",
    "PRIVATE KEY-----",
]
KEY_BLOCK = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    *["b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"] * 450,
    "-----END OPENSSH PRIVATE KEY-----",
]


async def test_secrets_never_reach_the_export(clock: script.FakeClock, tmp_path: Path) -> None:
    config = script.make_config()
    # Config refuses a password in a URL now; a journal from an older version may still hold one.
    leaky_url = {"frontend": "https://viewer:viewpw99@pos.example"}
    config = config.model_copy(update={"endpoints": config.endpoints.model_copy(update=leaky_url)})
    engine = await script.new_engine(clock, tmp_path / "journal", config)
    leaky = "conn postgres://app:s3cret@db/x\nAuthorization: Bearer abcdef123456789\n"
    script.set_rule(engine.remote, "docker info", 0, " Server Version: 27\n" + leaky)
    await engine.run_step("pre.docker_running")  # through the engine's own redaction
    engine.tick("pre.smoke_test", note="used password=hunter2 on staging")
    engine.sign_off("pre.qa_signoff", "Ayu token=abcdef123456789")
    engine.skip("pre.ops_briefed", "see postgres://app:s3cret@db/x")
    engine.tick("pre.zero_high", passed=False, note="Authorization: Bearer abcdef123456789")
    engine.override_step("pre.zero_high", "token: abcdef123456789 leaked in the ticket")
    # Events written by something that did not redact (an older version, a hand-edited journal).
    engine.record({"type": "step_started", "step": "pre.backup_tested", "kind": "ssh"})
    for lines in (leaky.splitlines(), KEY_BLOCK, ["password=hunter2 ```"]):
        engine.record({"type": "step_output", "step": "pre.backup_tested", "lines": lines})
    engine.record(
        {
            "type": "step_finished",
            "step": "pre.backup_tested",
            "status": "failed",
            "detail": "psql postgres://app:s3cret@db/x: password=hunter2 rejected",
            "command": "PGPASSWORD=hunter2 psql postgres://app:s3cret@db/x",
            "value": {"dsn": "postgres://app:s3cret@db/x", "lines": KEY_BLOCK[:3]},
        }
    )
    paths = export_run(engine.run, config, tmp_path / "out", journal_path=engine.journal.path)
    await engine.aclose()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {path.name}"
        assert "[REDACTED]" in text
    md = paths[0].read_text(encoding="utf-8")
    assert "| Store authorization: 403 for unauthorized |" in md, "labels are not redacted"
    assert "... 395 earlier lines omitted" in md  # 2 + 452 + 1 lines, the last 60 shown


def test_key_block_whose_begin_was_cut_off_is_still_masked() -> None:
    kept = KEY_BLOCK[100:] + ["after the key"]  # BEGIN fell outside what was kept
    assert redact_lines(kept) == ["[REDACTED]"] * (len(kept) - 1) + ["after the key"]
    whole = redact_lines(["a", *KEY_BLOCK[:3], KEY_BLOCK[-1], "b"])
    assert whole == ["a", "[REDACTED]", "[REDACTED]", "[REDACTED]", "[REDACTED]", "b"]
    unterminated = redact_lines(["a", *KEY_BLOCK[:3], "b"])  # no END: the rest may be key
    assert unterminated == ["a", "[REDACTED]", "[REDACTED]", "[REDACTED]", "[REDACTED]"]


def test_output_is_bounded_and_backticks_cannot_break_the_fence(healthy: Engine) -> None:
    lines = [f"line {i} ```" for i in range(200)]
    healthy.record({"type": "step_output", "step": "phase2.build", "lines": lines})
    md = markdown(healthy)
    assert "... 144 earlier lines omitted" in md  # 4 real lines + 200, the last 60 shown
    output = fenced_block_after(md[md.index("Output (last 60 of 204 lines)") :], "Output")
    assert output[0] == "... 144 earlier lines omitted" and output[-1] == "line 199 ```"
    assert len(output) == 61


# -- (d) files -------------------------------------------------------------------------------------
def test_export_files_are_private_and_named_by_date_and_run(
    healthy: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "archive" / "deployments"
    paths = export_run(healthy.run, healthy.config, out, journal_path=healthy.journal.path)
    stem = f"deployment-2025-12-31-{script.RUN_ID}"
    assert [p.name for p in paths] == [f"{stem}.md", f"{stem}.json"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = export_run(healthy.run, healthy.config, out, now=NOW)
    assert again == paths and stat.S_IMODE(paths[1].stat().st_mode) == 0o600
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths), "no temp files"
    data = json.loads(paths[1].read_text(encoding="utf-8"))
    assert data["schema"] == "warungin-tui.deployment-log/1"
    assert data["run"]["run_id"] == script.RUN_ID and len(data["steps"]) > 60


def test_export_journal_rebuilds_from_the_journal_alone(healthy: Engine, tmp_path: Path) -> None:
    paths = export_journal(healthy.journal.path, tmp_path / "from-journal")
    data = json.loads(paths[1].read_text(encoding="utf-8"))
    assert data["overall_status"] == "SUCCESS"
    assert data["journal"]["chain_ok"] is True and len(data["journal"]["last_hash"]) == 64
    assert "Journal chain | intact (" in paths[0].read_text(encoding="utf-8")


def test_export_journal_refuses_missing_and_corrupt_journals(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as missing:
        export_journal(tmp_path / "nope.jsonl", tmp_path)
    assert missing.value.title == "Journal not found"
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("this is not json\n")
    with pytest.raises(ExportError) as corrupt:
        export_journal(garbage, tmp_path)
    assert corrupt.value.title == "Journal unreadable" and "line 1" in str(corrupt.value)
    other = tmp_path / "other.jsonl"
    other.write_text('{"seq": 0, "event": {"type": "operator_changed", "operator": "x"}}\n')
    with pytest.raises(ExportError, match="run_started"):
        export_journal(other, tmp_path)


# -- (e, f) the commands -------------------------------------------------------------------------
def test_cli_export_writes_both_files(healthy: Engine, tmp_path: Path) -> None:
    out = tmp_path / "cli-out"
    done = run_cli("export", str(healthy.journal.path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    written = [Path(line) for line in done.stdout.splitlines()]
    assert [p.suffix for p in written] == [".md", ".json"] and all(p.is_file() for p in written)
    missing = run_cli("export", str(tmp_path / "missing.jsonl"), "--out", str(out))
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1 and "Traceback" not in missing.stderr
    assert "Journal not found" in missing.stderr


def test_verify_log_and_a_tampered_journal(healthy: Engine, tmp_path: Path) -> None:
    path = healthy.journal.path
    export_journal(path, tmp_path / "before")
    assert run_cli("verify-log", str(path)).returncode == 0
    lines = path.read_bytes().split(b"\n")
    at = lines[6].index(b'"at":"2025-') + len(b'"at":"202')
    lines[6] = lines[6][:at] + b"6" + lines[6][at + 1 :]  # one byte: 2025 -> 2026
    path.write_bytes(b"\n".join(lines))
    broken = run_cli("verify-log", str(path))
    assert broken.returncode == 1 and "line 7" in broken.stderr, broken.stderr
    paths = export_journal(path, tmp_path / "after")  # still exported, with a loud warning
    md = paths[0].read_text(encoding="utf-8")
    assert "**WARNING: the journal's hash chain is BROKEN at line 7" in md


# -- every field of every section, in four kinds of run ------------------------------------------
LEFTOVER = re.compile(r"\{[a-z_]+\}|\bthreshold\b", re.I)
RUNS = {
    "healthy": script.healthy_run,
    "failed": script.failed_no_rollback_run,
    "rolled back": script.failed_run,
    "in progress": script.in_progress_run,
}
OUTCOMES = {
    "healthy": "SUCCESS",
    "failed": "FAILED",
    "rolled back": "ROLLED BACK",
    "in progress": "IN PROGRESS",
}


def leaves(node: object, where: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, f"{where}[{index}]")
    else:
        yield where, node


@pytest.mark.parametrize("kind", list(RUNS))
async def test_every_field_is_filled_in_every_kind_of_run(
    kind: str, clock: script.FakeClock, tmp_path: Path
) -> None:
    async for engine in scripted(clock, tmp_path / "journal", RUNS[kind]):
        data = render_json(engine.run, engine.config, now=NOW)
        md = markdown(engine)
    assert data["outcome"] == OUTCOMES[kind]
    assert md.splitlines()[2].startswith(f"**Outcome: {OUTCOMES[kind]}**")
    # Everything but the appendix (command output may hold braces) and the journal facts.
    fields = {k: v for k, v in data.items() if k not in ("steps", "journal", "outcome_detail")}
    for where, value in leaves(fields):
        if isinstance(value, str) and ".services.rows" not in where:  # docker's own fields
            assert value.strip(), f"{kind}: {where} is empty"
            assert not LEFTOVER.search(value), f"{kind}: {where} = {value!r}"
    fields_md = md[: md.index("## Appendix")]
    assert not LEFTOVER.search(fields_md), LEFTOVER.search(fields_md)
    fields_list, sections = seed_template()
    _, values = rendered_template(md, sections)
    for field in fields_list:
        assert_filled(field, values[field])
    phase2 = {
        label: v for (section, label), v in values.items() if section and "PHASE 2" in section
    }
    if kind == "rolled back":
        assert "YES" not in phase2["Code Pulled"] and "ROLLED BACK" in phase2["Code Pulled"]
        assert "| All code deployed successfully | **NO** |" in md
        assert "| All code fixes deployed | **NO** |" in md
    else:
        assert phase2["Code Pulled"].startswith("YES")
    if kind == "healthy":
        assert "| Frontend loads: \\< 3 seconds | **YES** |" in md


async def test_services_started_tells_what_the_group_starts_did(
    clock: script.FakeClock, tmp_path: Path
) -> None:
    """Step 2.3's check did not run because group 2 never got healthy: the services did start."""
    engine = await script.new_engine(clock, tmp_path)
    for step_id, status, detail in [
        ("phase2.start.1", "passed", "exit code 0"),
        ("phase2.ready.1", "passed", "postgres redis ready"),
        ("phase2.start.2", "passed", "exit code 0"),
        ("phase2.ready.2", "failed", "backend unhealthy after 120 s"),
    ]:
        engine.record({"type": "step_started", "step": step_id, "kind": "ssh"})
        engine.record(
            {"type": "step_finished", "step": step_id, "status": status, "detail": detail}
        )
    _, values = rendered_template(markdown(engine), seed_template()[1])
    await engine.aclose()
    started = values[("PHASE 2: CODE DEPLOYMENT", "Services Started")]
    assert started.startswith("NO (Wait until group 2 is healthy: backend frontend FAILED")
    assert "backend unhealthy after 120 s" in started and "1/3 start groups ready" in started


async def test_the_issue_is_the_earliest_failure_that_led_to_the_rollback(
    clock: script.FakeClock, tmp_path: Path
) -> None:
    engine = await script.new_engine(clock, tmp_path)

    def finished(step_id: str, status: str, detail: str) -> None:
        engine.record({"type": "step_started", "step": step_id, "kind": "ssh"})
        engine.record(
            {"type": "step_finished", "step": step_id, "status": status, "detail": detail}
        )

    finished("phase2.build", "failed", "out of disk")
    finished("phase2.build", "passed", "built")  # fixed by a retry: not the issue
    finished("phase2.ready.2", "failed", "backend unhealthy")
    finished("phase3.health", "failed", "HTTP 503")  # later: a consequence
    engine.record({"type": "rollback_started", "reason": "backend down", "by": "Dewi"})
    engine.record({"type": "rollback_finished", "ok": True, "detail": "previous version running"})
    finished("phase2.ready.2", "passed", "ready")  # after the rollback: changes nothing
    finished("phase3.auth", "failed", "HTTP 500")  # after the rollback: not the issue
    assert engine.issue_summary().endswith(": backend unhealthy")
    assert engine.issue_summary().startswith("Wait until group 2 is healthy")
    md = markdown(engine)
    await engine.aclose()
    issue = dict(line.split(": ", 1) for line in fenced_block_after(md, "## Incident report"))
    assert "phase2.ready.2" in issue["Issue Detected"]
    detected = issue["Issue Detected"].split(" - ")[0]
    assert detected < issue["Rollback Complete"].split(" - ")[0]


async def test_every_answer_names_the_operator_who_entered_it(
    clock: script.FakeClock, tmp_path: Path
) -> None:
    engine = await script.new_engine(clock, tmp_path)
    engine.sign_off("pre.qa_signoff", "Ayu Lestari")
    engine.set_operator("Rudi")  # the start screen of a resumed session
    engine.sign_off("pre.tech_lead_signoff", "Ana Putri")
    engine.tick("pre.smoke_test", by="Ayu Lestari")
    engine.skip("pre.ops_briefed", "ops lead runs it")
    records = [json.loads(line) for line in engine.journal.path.read_text().splitlines()]
    answers = [r["event"] for r in records if r["event"]["type"] == "step_finished"]
    assert [(e["by"], e["entered_by"]) for e in answers] == [
        ("Ayu Lestari", "Dewi"),
        ("Ana Putri", "Rudi"),
        ("Ayu Lestari", "Rudi"),
        ("Rudi", "Rudi"),
    ]
    md = markdown(engine)
    await engine.aclose()
    assert "- Tech Lead: Ana Putri, entered by Rudi at 2025-12-31 " in md
    assert "- QA Lead: Ayu Lestari, entered by Dewi at " in md
    assert "- By: Ayu Lestari\n- Entered by: Rudi\n" in md


@pytest.mark.parametrize(
    ("hours", "override", "expected"),
    [
        (24, None, "| **YES** | 5 monitoring sample(s) over 24.0 hours; the period is 24 hours"),
        (6, None, "| 24-hour monitoring passed | **NO (6.0 hours of monitoring)** |"),
        (
            6,
            {"reason": "store opening tomorrow", "hours_covered": 6.0},
            "| 24-hour monitoring passed | **OVERRIDDEN (store opening tomorrow) after 6.0 hours "
            "of monitoring** |",
        ),
    ],
)
async def test_monitoring_passed_rests_on_samples_covering_the_period(
    hours: int, override: dict | None, expected: str, clock: script.FakeClock, tmp_path: Path
) -> None:
    engine = await script.new_engine(clock, tmp_path)
    engine.enforce_gates = False
    assert "| 24-hour monitoring passed | **OPEN** |" in markdown(engine)  # nothing yet
    script.record_monitoring(engine, clock, hours=hours)
    for spec in engine.run.playbook.phase("monitoring").steps:
        engine.skip(spec.id, "checked by hand")  # the checks pass; only the samples differ
    decision = {"type": "decision", "decision": "GO-LIVE APPROVED", "authorized_by": "Budi"}
    if override is not None:  # the field h5's go-live rule adds to the decision
        decision["monitoring_override"] = override
    engine.record(decision)
    md = markdown(engine)
    await engine.aclose()
    assert expected in md


def test_the_wizard_export_is_bound_to_its_journal_like_the_cli_export(
    healthy: Engine, tmp_path: Path
) -> None:
    from warungin_tui.journal import verify_journal
    from warungin_tui.report.export import export_recorded

    journal = healthy.journal.path  # type: ignore[union-attr]
    paths = export_recorded(
        healthy.run,
        healthy.config,
        tmp_path / "wizard",
        journal_path=journal,
        record=healthy.record,
    )
    assert healthy.run.exports[-2:] == [str(p) for p in paths]
    wizard = json.loads(paths[1].read_text(encoding="utf-8"))
    cli = json.loads(export_journal(journal, tmp_path / "cli")[1].read_text(encoding="utf-8"))
    assert set(wizard) == set(cli) and wizard["journal"] == cli["journal"]
    checked = verify_journal(journal)
    assert wizard["journal"]["last_hash"] == checked.last_hash
    assert wizard["journal"]["lines"] == checked.lines  # the export_written line included
    assert wizard["outcome"] == cli["outcome"] == "SUCCESS"


def test_a_failed_wizard_export_is_recorded_as_failed(healthy: Engine, tmp_path: Path) -> None:
    from warungin_tui.report.export import export_recorded

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the archive folder should be")
    before = list(healthy.run.exports)
    with pytest.raises(ExportError):
        export_recorded(
            healthy.run,
            healthy.config,
            blocked,
            journal_path=healthy.journal.path,
            record=healthy.record,
        )
    assert healthy.run.exports == before, "the journal claims no file that is not there"
    lines = healthy.journal.path.read_text().splitlines()  # type: ignore[union-attr]
    kinds = [json.loads(line)["event"]["type"] for line in lines[-2:]]
    assert kinds == ["export_written", "export_failed"]
