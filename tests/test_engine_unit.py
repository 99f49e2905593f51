"""Engine rules with a scripted remote: gates, overrides, confirmations, decisions, layering."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_remote import FakeRemote
from tests.helpers import SAMPLE_CONFIG
from warungin_tui.config import load_config
from warungin_tui.engine.engine import Engine, EngineError, GateClosed, NeedsConfirmation
from warungin_tui.outcome import PhaseStatus, StepStatus
from warungin_tui.playbook import build_playbook


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine.start_new(
        load_config(SAMPLE_CONFIG), tmp_path, operator="Op", remote=FakeRemote()
    )


def pass_phase(engine: Engine, phase_id: str) -> None:
    for spec in engine.run.playbook.phase(phase_id).steps:
        engine.skip(spec.id, "unit test")


async def test_phase1_is_gated_until_pre_passes_or_is_overridden(engine: Engine) -> None:
    with pytest.raises(GateClosed, match="Pre-deployment checklist"):
        await engine.run_step("phase1.notify")
    engine.override_gate("pre", "rehearsal only")
    assert engine.run.phase_status("pre") == PhaseStatus.OVERRIDDEN
    outcome = await engine.run_step("phase1.notify")
    # the sample config leaves the contacts blank: ready, with a warning naming them
    assert outcome.status == StepStatus.WARNING and "tech_lead_email" in outcome.detail
    assert "Warungin POS is being updated to version 1.1.0" in outcome.value["body"]


async def test_destructive_step_needs_confirmation(engine: Engine) -> None:
    engine.override_gate("pre", "x")
    with pytest.raises(NeedsConfirmation):
        await engine.run_step("phase1.stop_stack")
    assert engine.remote.commands == []
    await engine.run_step("phase1.stop_stack", confirmed=True)
    assert engine.remote.commands[-1].endswith("docker compose down")


async def test_failed_step_fails_the_phase_and_override_needs_reason(engine: Engine) -> None:
    engine.remote.rules = [("docker info", 1, "Cannot connect to the Docker daemon\n")]
    outcome = await engine.run_step("pre.docker_running")
    assert outcome.status == StepStatus.FAILED and "exit code 1" in outcome.detail
    assert engine.run.phase_status("pre") == PhaseStatus.FAILED
    with pytest.raises(EngineError):
        engine.override_step("pre.docker_running", "   ")
    engine.override_step("pre.docker_running", "docker checked by hand")
    assert engine.run.status("pre.docker_running") == StepStatus.OVERRIDDEN


async def test_connection_lost_marks_interrupted(engine: Engine) -> None:
    engine.remote.drop_on = "uname"
    outcome = await engine.run_step("pre.server_accessible")
    assert outcome.status == StepStatus.INTERRUPTED
    assert list(engine.run.results["pre.server_accessible"].output)


async def test_missing_capture_is_a_clear_failure(engine: Engine) -> None:
    engine.override_gate("pre", "x")
    engine.override_gate("phase1", "x")
    # rollback needs the backup captured in Step 1.1
    with pytest.raises(GateClosed, match="No backup"):
        await engine.run_step("rollback.verify_archive")


def test_go_live_approval_refused_while_gates_fail(engine: Engine) -> None:
    with pytest.raises(GateClosed, match="refused"):
        engine.decide("GO-LIVE APPROVED", authorized_by="Boss")
    engine.decide("HOLD FOR REVIEW", authorized_by="Boss")
    assert engine.run.decision["decision"] == "HOLD FOR REVIEW"
    for phase in engine.run.playbook.linear_phases:
        if phase.id != "golive":
            pass_phase(engine, phase.id)
    with pytest.raises(GateClosed, match="monitoring samples cover 0.0 of 24 hours"):
        engine.decide("GO-LIVE APPROVED", authorized_by="Boss")
    engine.decide(
        "GO-LIVE APPROVED", authorized_by="Boss", monitoring_override_reason="watched by hand"
    )
    assert engine.run.status("golive.decision") == StepStatus.PASSED
    assert engine.run.decision["monitoring_override"] == {
        "reason": "watched by hand",
        "hours_covered": 0.0,
    }


def test_inputs_and_signoffs_validate(engine: Engine) -> None:
    with pytest.raises(EngineError):
        engine.sign_off("pre.qa_signoff", " ")
    engine.sign_off("pre.qa_signoff", "Quinn QA")
    assert engine.run.results["pre.qa_signoff"].value == {"name": "Quinn QA", "role": "QA Lead"}
    with pytest.raises(EngineError):
        engine.tick("pre.qa_signoff")


async def test_resume_uses_the_recorded_config_even_if_the_file_changed(tmp_path: Path) -> None:
    """Editing start_order renames the per-group steps; the resumed run keeps its own."""
    config = load_config(SAMPLE_CONFIG)
    first = Engine.start_new(config, tmp_path, operator="Op", remote=FakeRemote())
    first.override_gate("pre", "x")
    first.override_gate("phase1", "x")
    await first.run_step("phase2.start.3")
    path = first.journal.path
    first.journal.close()
    services = config.services.model_copy(update={"start_order": [list(config.services.expected)]})
    edited = config.model_copy(update={"services": services})
    assert "phase2.start.3" not in {s.id for s in build_playbook(edited).all_steps()}
    resumed = Engine.resume(edited, path, remote=FakeRemote())
    assert resumed.run.status("phase2.start.3") == StepStatus.PASSED
    assert resumed.config.services.start_order == config.services.start_order


def test_resume_after_a_crash_during_the_rollback_marks_it_interrupted(tmp_path: Path) -> None:
    """Nothing runs after a crash: the run must not say a rollback is in progress."""
    from warungin_tui.engine.lifecycle import RunOutcome, run_outcome

    config = load_config(SAMPLE_CONFIG)
    crashed = Engine.start_new(config, tmp_path, operator="Op", remote=FakeRemote())
    crashed.record(
        {
            "type": "step_finished",
            "step": "phase1.backup",
            "status": "passed",
            "captures": {"backup_file": "/srv/b.tar.gz", "backup_sha256": "c" * 64},
        }
    )
    crashed.record({"type": "rollback_started", "reason": "health failed", "by": "Op"})
    for step in ("rollback.verify_archive", "rollback.preview", "rollback.stop"):
        crashed.record({"type": "step_started", "step": step, "kind": "ssh"})
        crashed.record({"type": "step_finished", "step": step, "status": "passed"})
    crashed.record({"type": "step_started", "step": "rollback.restore", "kind": "ssh"})
    assert crashed.rollback_state().startswith("in progress")
    path = crashed.journal.path
    crashed.journal.close()

    resumed = Engine.resume(config, path, remote=FakeRemote())
    last = resumed.run.rollbacks[-1]
    assert last["ok"] is False and last["stopped_at"] == "rollback.restore"
    assert "interrupted" in last["detail"] and "Host state: services are DOWN" in last["detail"]
    assert resumed.run.status("rollback.restore") == StepStatus.INTERRUPTED
    assert resumed.rollback_state() == "FAILED: see the log"
    assert run_outcome(resumed.run) == RunOutcome.FAILED
    # resuming again adds nothing: the rollback is already recorded as stopped
    events = resumed.run.events
    resumed.journal.close()
    again = Engine.resume(config, path, remote=FakeRemote())
    assert again.run.events == events
    again.journal.close()
