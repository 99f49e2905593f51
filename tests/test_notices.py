"""Notifications: prepared is not sent; a local `[notify] command` sends (argv, stdin, no shell),
the operator can confirm sending; a blank contact is a warning, never a blank in the message."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import report_script as script
from tests.helpers import SAMPLE_CONFIG, run_cli
from warungin_tui.config import ConfigError
from warungin_tui.engine.engine import EngineError
from warungin_tui.outcome import StepStatus
from warungin_tui.report.model import render_markdown


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[script.FakeClock]:
    yield script.install_clock(monkeypatch)
    monkeypatch.undo()
    time.tzset()


def stakeholders_line(markdown: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith("Stakeholders Notified"))


async def test_prepared_then_confirmed_by_the_operator(
    clock: script.FakeClock, tmp_path: Path
) -> None:
    engine = await script.new_engine(clock, tmp_path)
    with pytest.raises(EngineError, match="no prepared message yet"):
        engine.confirm_notice_sent("phase1.notify")
    engine.enforce_gates = False
    await engine.run_step("phase1.notify")
    line = stakeholders_line(render_markdown(engine.run, engine.config))
    assert line.startswith("Stakeholders Notified: NOT CONFIRMED (prepared, not confirmed sent; ")
    assert "to All Staff" in line
    engine.confirm_notice_sent("phase1.notify")
    with pytest.raises(EngineError, match="already confirmed"):
        engine.confirm_notice_sent("phase1.notify")
    line = stakeholders_line(render_markdown(engine.run, engine.config))
    assert line.startswith("Stakeholders Notified: YES (confirmed sent by Dewi at 2025-12-31 ")
    await engine.run_step("phase1.notify")  # a new message: not the one confirmed
    assert "prepared, not confirmed sent" in stakeholders_line(
        render_markdown(engine.run, engine.config)
    )
    await engine.aclose()


async def test_the_notify_command_sends_the_message_on_stdin(
    clock: script.FakeClock, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox.txt"
    sender = (
        "import sys; open(sys.argv[1], 'w').write(sys.stdin.read()); "
        # the secret is built at run time: a literal one in the argv is refused by the config
        "print('queued as 42; pass' + 'word=hunter2')"
    )
    command = [sys.executable, "-c", sender, str(inbox)]
    config = script.make_config(notify={"command": command, "timeout_seconds": 30.0})
    engine = await script.new_engine(clock, tmp_path / "journal", config)
    engine.enforce_gates = False
    outcome = await engine.run_step("phase1.notify")
    assert outcome.status == StepStatus.PASSED, outcome.detail
    received = inbox.read_text()
    assert received.startswith("Subject: System Maintenance - ")
    assert "Warungin POS is being updated to version 1.1.0" in received
    records = [json.loads(line) for line in engine.journal.path.read_text().splitlines()]
    sent = next(
        r["event"]
        for r in records
        if r["event"].get("step") == "phase1.notify" and r["event"]["type"] == "step_finished"
    )["value"]["sent"]
    assert sent["exit_code"] == 0 and sent["ok"] is True
    assert sent["output"] == ["queued as 42; password=[REDACTED]"]
    with pytest.raises(EngineError, match="already sent"):
        engine.confirm_notice_sent("phase1.notify")
    line = stakeholders_line(render_markdown(engine.run, engine.config))
    assert line.startswith(f"Stakeholders Notified: YES (sent by {sys.executable} -c ")
    await engine.aclose()


async def test_a_failing_notify_command_fails_the_step(
    clock: script.FakeClock, tmp_path: Path
) -> None:
    command = [sys.executable, "-c", "import sys; print('relay refused'); sys.exit(3)"]
    config = script.make_config(notify={"command": command})
    engine = await script.new_engine(clock, tmp_path / "journal", config)
    engine.enforce_gates = False
    outcome = await engine.run_step("phase1.notify")
    assert outcome.status == StepStatus.FAILED and outcome.exit_code == 3
    assert outcome.detail.endswith("failed with exit code 3: relay refused")
    missing = script.make_config(notify={"command": [str(tmp_path / "no-such-mailer")]})
    engine.config = missing
    outcome = await engine.run_step("phase1.notify")
    assert outcome.status == StepStatus.FAILED and "cannot run" in outcome.detail
    hung = [sys.executable, "-c", "import time; time.sleep(600)"]
    engine.config = script.make_config(notify={"command": hung, "timeout_seconds": 0.5})
    outcome = await engine.run_step("phase1.notify")
    assert outcome.status == StepStatus.FAILED and "did not finish within 0.5 s" in outcome.detail
    await engine.aclose()


@pytest.mark.parametrize(
    "command", [[], ["mail", ""], "mail -s x ops@example.com", [1, 2]], ids=str
)
def test_the_notify_command_is_an_argv_list_of_strings(command: object) -> None:
    with pytest.raises(ConfigError) as bad:
        script.make_config(notify={"command": command})
    assert bad.value.lines[0].startswith("[notify] command")


async def test_missing_contacts_are_named_never_blank(
    clock: script.FakeClock, tmp_path: Path
) -> None:
    config = script.make_config(contacts={"tech_lead_email": "", "tech_lead_phone": ""})
    engine = await script.new_engine(clock, tmp_path, config)
    engine.enforce_gates = False
    outcome = await engine.run_step("incident.notify_tech_lead")
    assert outcome.status == StepStatus.WARNING
    assert "tech_lead_email, tech_lead_phone not configured" in outcome.detail
    body = engine.run.results["incident.notify_tech_lead"].value["body"]
    first = body.splitlines()[0]
    assert first == (
        "TO: Sari Wijaya <(no [contacts] tech_lead_email configured)>, "
        "phone (no [contacts] tech_lead_phone configured)"
    )
    await engine.aclose()


def test_validate_warns_about_missing_contacts() -> None:
    done = run_cli("validate", str(SAMPLE_CONFIG))  # the sample leaves the contacts blank
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stdout.splitlines() if "warning:" in line]
    assert any(
        "[contacts] tech_lead_email is empty: Notify stakeholders, Notify Tech" in w
        for w in warnings
    )
