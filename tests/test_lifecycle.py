"""The run's lifecycle as the engine enforces it (no UI): in progress -> finished | rolled back |
abandoned; every change after the end is refused with a reason, and resume lands in the same state.
Also the four divergences the rulebook closed, and the monitoring-evidence rule of go-live.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fake_remote import FakeRemote
from tests.helpers import SAMPLE_CONFIG
from warungin_tui.config import load_config
from warungin_tui.engine.engine import Engine, EngineError, RunClosed, StepBusy, find_unfinished_run
from warungin_tui.engine.lifecycle import RunOutcome, RunState, run_outcome, run_state
from warungin_tui.engine.rules import monitoring_covered, monitoring_hours_covered
from warungin_tui.outcome import StepStatus

DEPLOYMENT_STEPS = ["pre.smoke_test", "phase1.notify", "phase2.services", "phase3.health"]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine.start_new(
        load_config(SAMPLE_CONFIG), tmp_path, operator="Op", remote=FakeRemote()
    )


def open_all_gates(engine: Engine) -> None:
    for phase in engine.run.playbook.linear_phases:
        if phase.id != "golive":
            engine.override_gate(phase.id, "test: reached by hand")


def completed_rollback(engine: Engine) -> None:
    """The journal of a rollback that restored the previous version (what `rollback()` writes)."""
    failed = {"type": "step_finished", "step": "phase2.services", "status": "failed"}
    engine.record({**failed, "detail": "backend unhealthy", "captures": {"backup_file": "b.gz"}})
    engine.record({"type": "rollback_started", "reason": "backend unhealthy", "by": "Op"})
    engine.record({"type": "rollback_finished", "ok": True, "detail": "previous version running"})


def every_change(engine: Engine) -> dict[str, Callable[[], Any]]:
    """Each kind of change a person or the tool can ask for, on deployment steps and phases."""
    return {
        "tick": lambda: engine.tick("pre.smoke_test"),
        "fail": lambda: engine.tick("pre.smoke_test", passed=False, note="x"),
        "sign": lambda: engine.sign_off("pre.qa_signoff", "Quinn"),
        "input": lambda: engine.record_input("pre.on_call", "Rudi"),
        "skip": lambda: engine.skip("phase1.notify", "x"),
        "override step": lambda: engine.override_step("phase2.services", "x"),
        "override gate": lambda: engine.override_gate("phase2", "x"),
        "decide": lambda: engine.decide("HOLD FOR REVIEW", authorized_by="Boss"),
        "run step": lambda: engine.run_step("phase3.health", confirmed=True),
        "run phase": lambda: engine.run_automated("phase3"),
        "rollback": lambda: engine.rollback(reason="again"),
        "finish": engine.finish,
        "abandon": lambda: engine.abandon("x"),
        "acknowledge alert": lambda: engine.acknowledge_monitoring_alert("health@0", "x"),
    }


async def assert_all_refused(engine: Engine, why: str) -> None:
    before = engine.run.events
    for name, change in every_change(engine).items():
        with pytest.raises(EngineError, match=why) as raised:
            result = change()
            if hasattr(result, "__await__"):
                await result
        assert isinstance(raised.value, RunClosed), name
    assert engine.run.events == before  # nothing was journaled


def resumed(engine: Engine) -> Engine:
    """The run as a restarted tool rebuilds it (this process lets go of the journal first)."""
    assert engine.journal is not None
    engine.journal.close()
    return Engine.resume(engine.config, engine.journal.path, remote=FakeRemote())


async def test_after_finish_every_change_is_refused_and_resume_agrees(engine: Engine) -> None:
    engine.decide("HOLD FOR REVIEW", authorized_by="Boss")
    engine.finish()
    assert run_state(engine.run) == RunState.FINISHED
    await assert_all_refused(engine, "The run is (already )?finished")
    again = resumed(engine)
    assert again.run.snapshot() == engine.run.snapshot()
    assert run_state(again.run) == RunState.FINISHED
    await assert_all_refused(again, "The run is (already )?finished")


async def test_after_a_completed_rollback_only_the_incident_report_is_open(
    engine: Engine,
) -> None:
    open_all_gates(engine)
    completed_rollback(engine)
    assert run_state(engine.run) == RunState.ROLLED_BACK
    assert run_outcome(engine.run) == RunOutcome.ROLLED_BACK
    await assert_all_refused(engine, "rolled back")
    engine.record_input("incident.severity", "CRITICAL")  # the incident report goes on
    assert engine.run.status("incident.severity") == StepStatus.PASSED
    again = resumed(engine)
    assert again.run.snapshot() == engine.run.snapshot()
    await assert_all_refused(again, "rolled back")
    again.record_input("incident.root_cause", "migration not idempotent")


async def test_abandon_needs_a_reason_ends_the_run_and_is_not_offered_for_resume(
    engine: Engine, tmp_path: Path
) -> None:
    with pytest.raises(EngineError, match="needs a reason"):
        engine.abandon("  ")
    assert find_unfinished_run(tmp_path, engine.run.target) is not None
    engine.abandon("wrong release tag; redeploying tomorrow")
    assert engine.run.abandoned is not None and engine.run.abandoned["by"] == "Op"
    assert run_outcome(engine.run) == RunOutcome.ABANDONED
    await assert_all_refused(engine, "abandoned")
    assert resumed(engine).run.snapshot() == engine.run.snapshot()
    assert find_unfinished_run(tmp_path, engine.run.target) is None


def test_abandon_is_refused_once_a_destructive_step_has_run(engine: Engine) -> None:
    """A run that stopped the services (or only tried to) is rolled back or carried through:
    sealing it as abandoned would leave production half-deployed with a closed record."""
    stop = next(s for s in engine.run.playbook.all_steps() if s.destructive)
    engine.record({"type": "step_started", "step": stop.id})
    engine.record({"type": "step_finished", "step": stop.id, "status": "failed", "detail": "x"})
    with pytest.raises(EngineError, match=r"has run on the host: roll back \(R\)") as refused:
        engine.abandon("changed my mind")
    assert str(refused.value).startswith(stop.title)
    assert engine.run.abandoned is None


# -- the four divergences the rulebook closed (the engine accepted them, the UI hid them) -------
def test_skip_of_a_passed_step_is_refused(engine: Engine) -> None:
    engine.tick("pre.smoke_test")
    with pytest.raises(EngineError, match="already passed"):
        engine.skip("pre.smoke_test", "changed my mind")
    assert engine.run.status("pre.smoke_test") == StepStatus.PASSED


def test_skip_of_a_running_step_is_refused(engine: Engine) -> None:
    engine.record({"type": "step_started", "step": "pre.docker_running", "kind": "ssh"})
    with pytest.raises(StepBusy, match="is running"):
        engine.skip("pre.docker_running", "takes too long")
    assert engine.run.status("pre.docker_running") == StepStatus.RUNNING


def test_override_of_a_pending_step_is_refused(engine: Engine) -> None:
    with pytest.raises(EngineError, match="overrides a failed or interrupted step"):
        engine.override_step("pre.docker_running", "did not run it")
    assert engine.run.status("pre.docker_running") == StepStatus.PENDING


def test_finish_without_a_decision_is_refused(engine: Engine) -> None:
    with pytest.raises(EngineError, match="Record the go-live decision first"):
        engine.finish()
    assert engine.run.finished_at is None
    engine.decide("HOLD FOR REVIEW", authorized_by="Boss")
    engine.finish()
    assert engine.run.finished_at is not None


# -- go-live approval rests on monitoring evidence -----------------------------------------------
def sample(engine: Engine, at: datetime) -> None:
    """A monitoring sample taken at `at` (its journal time: issue 12 records them live)."""
    engine.run.apply({"at": at.isoformat(), "event": {"type": "monitoring_sample"}})


def test_monitoring_coverage_comes_from_samples(engine: Engine) -> None:
    assert monitoring_hours_covered(engine.run) == 0.0
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    sample(engine, start)
    assert monitoring_hours_covered(engine.run) == 0.0  # one sample covers no period
    sample(engine, start + timedelta(hours=23, minutes=30))
    assert monitoring_hours_covered(engine.run) == 23.5 and not monitoring_covered(engine.run)
    sample(engine, start + timedelta(hours=24))
    assert monitoring_covered(engine.run)


def test_approval_needs_a_monitoring_override_until_samples_cover_24_hours(
    engine: Engine,
) -> None:
    open_all_gates(engine)
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    sample(engine, start)
    sample(engine, start + timedelta(hours=6))
    with pytest.raises(EngineError, match="cover 6.0 of 24 hours"):
        engine.decide("GO-LIVE APPROVED", authorized_by="Boss")
    engine.decide("GO-LIVE APPROVED", authorized_by="Boss", monitoring_override_reason="PM ok")
    assert engine.run.decision is not None
    assert engine.run.decision["monitoring_override"] == {"reason": "PM ok", "hours_covered": 6.0}

    sample(engine, start + timedelta(hours=24))
    engine.decide("GO-LIVE APPROVED", authorized_by="Boss")  # evidence: no override needed
    assert "monitoring_override" not in engine.run.decision
