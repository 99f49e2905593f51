"""The engine and the UI give the same answer to "may this happen now?" for every step kind,
status and action (the footer shows a key exactly when the engine would accept what it does).

The engine side calls the real mutators on a journal-less engine whose executors are stubs (only
the refusal is under test); the UI side asks the mounted screens' `check_action`, which decides
the footer and the "why not" toast.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import make_app
from tests.test_app import SIZE, on_screen, start
from warungin_tui.engine import engine as engine_module
from warungin_tui.engine.engine import Engine, EngineError
from warungin_tui.engine.run import Run
from warungin_tui.outcome import Outcome, StepStatus
from warungin_tui.playbook import StepKind

# One step of each kind, in a phase that is not the first (so its gate can be open or closed).
STEP_OF_KIND = {
    StepKind.SSH: "phase1.record_commit",
    StepKind.WAIT: "phase1.active_sessions",
    StepKind.NOTIFY: "phase1.notify",
    StepKind.HTTP: "phase3.health",
    StepKind.MANUAL: "smoke.frontend_loads",
    StepKind.SIGNOFF: "completion.ops_lead",
    StepKind.INPUT: "monitoring.performance",
    StepKind.DECISION: "golive.decision",
}
ENGINE_ACTIONS = ["run_step", "tick", "fail", "sign_off", "record_input", "skip", "override_step"]


def keys_for(action: str, kind: StepKind) -> list[str]:
    """The UI keys that ask the engine for `action` on a step of `kind` (none: no key does)."""
    automated = kind in (StepKind.SSH, StepKind.WAIT, StepKind.HTTP, StepKind.NOTIFY)
    if action == "run_step":
        return ["run_step", "retry"] if automated else []
    if action in ("tick", "fail"):
        return [action] if kind == StepKind.MANUAL else []
    if action == "sign_off":
        return ["run_step", "tick"] if kind == StepKind.SIGNOFF else []
    if action == "record_input":
        return ["run_step", "tick"] if kind == StepKind.INPUT else []
    return [action]


STATES = ["gates open", "gate closed", "finished", "rolled back"]
"""Where the run stands: earlier gates open or not, the run sealed, or rolled back."""


def events_for(run: Run, step_id: str, status: StepStatus, state: str) -> Iterator[dict]:
    """A history leaving `step_id` in `status` with the run in `state`."""
    yield {"type": "run_started", "run_id": "parity", "target": "t", "release": "1.1.0",
           "operator": "Op"}  # fmt: skip
    if state != "gate closed":
        for phase in run.playbook.linear_phases:
            if phase.id == run.playbook.phase_of(step_id).id:
                break
            yield {"type": "gate_overridden", "phase": phase.id, "reason": "parity"}
    if state == "finished":
        yield {"type": "decision", "decision": "HOLD FOR REVIEW", "authorized_by": "Boss"}
        yield {"type": "run_finished"}
    elif state == "rolled back":
        yield {"type": "step_finished", "step": "phase1.backup", "status": "passed",
               "captures": {"backup_file": "backup.tar.gz"}}  # fmt: skip
        yield {"type": "rollback_started", "reason": "parity"}
        yield {"type": "rollback_finished", "ok": True, "detail": "previous version running"}
    yield from status_events(step_id, status)


def status_events(step_id: str, status: StepStatus) -> Iterator[dict]:
    if status == StepStatus.PENDING:
        return
    yield {"type": "step_started", "step": step_id}
    if status == StepStatus.RUNNING:
        return
    if status == StepStatus.OVERRIDDEN:
        yield {"type": "step_finished", "step": step_id, "status": "failed", "detail": "x"}
        yield {"type": "step_overridden", "step": step_id, "reason": "parity"}
        return
    yield {"type": "step_finished", "step": step_id, "status": str(status), "detail": "x"}


def engine_in(base: Engine, step_id: str, status: StepStatus, state: str) -> Engine:
    engine = Engine(base.config, Run(base.run.playbook), None, base.remote)
    for event in events_for(engine.run, step_id, status, state):
        engine.record(event)
    return engine


async def engine_accepts(engine: Engine, action: str, step_id: str) -> bool:
    spec = engine.run.playbook.step(step_id)
    calls: dict[str, Any] = {
        "run_step": lambda: engine.run_step(step_id, confirmed=True),
        "tick": lambda: engine.tick(step_id, passed=True),
        "fail": lambda: engine.tick(step_id, passed=False, note="parity"),
        "sign_off": lambda: engine.sign_off(step_id, "Parity Person"),
        "record_input": lambda: engine.record_input(step_id, (spec.choices or ["value"])[0]),
        "skip": lambda: engine.skip(step_id, "parity"),
        "override_step": lambda: engine.override_step(step_id, "parity"),
    }
    try:
        result = calls[action]()
        if hasattr(result, "__await__"):
            await result
    except EngineError:
        return False
    return True


@pytest.fixture
def stub_executors(monkeypatch: pytest.MonkeyPatch) -> None:
    async def passes(ctx: Any, spec: Any) -> Outcome:
        return Outcome(StepStatus.PASSED, "stub")

    class NoHttp:
        """Each probe engine would build an httpx client (~20 ms of TLS setup): not needed."""

        def __init__(self, remote: Any, ca_bundle: str | None = None) -> None:
            pass

        async def aclose(self) -> None:
            pass

    for kind in list(engine_module.EXECUTORS):
        monkeypatch.setitem(engine_module.EXECUTORS, kind, passes)
    monkeypatch.setattr(engine_module, "HttpProber", NoHttp)


async def test_engine_and_ui_agree_on_every_step_action(
    tmp_path: Path, stub_executors: None
) -> None:
    app, _ = make_app(tmp_path)
    disagreements: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        base = app.engine
        assert base is not None
        for kind, step_id in STEP_OF_KIND.items():
            phase_id = base.run.playbook.phase_of(step_id).id
            app.open_phase(phase_id, step_id)
            await on_screen(pilot, f"phase-{phase_id}")
            screen = app.screen
            for status in StepStatus:
                for state in STATES:
                    app.engine = engine_in(base, step_id, status, state)
                    if hasattr(screen, "select_step"):
                        screen.select_step(step_id)
                    for action in ENGINE_ACTIONS:
                        ui = any(screen.check_action(key, ()) for key in keys_for(action, kind))
                        probe = engine_in(base, step_id, status, state)
                        accepted = await engine_accepts(probe, action, step_id)
                        if ui != accepted:
                            disagreements.append(
                                f"{kind} {status} ({state}) {action}: "
                                f"engine {'accepts' if accepted else 'refuses'}, "
                                f"UI {'shows' if ui else 'hides'} it"
                            )
            app.engine = base
            await pilot.press("escape")
            await on_screen(pilot, "overview")
    assert not disagreements, "\n".join(disagreements)


async def test_engine_and_ui_agree_on_finish(tmp_path: Path, stub_executors: None) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app = await start(pilot)
        base = app.engine
        assert base is not None
        app.open_phase("golive")
        await on_screen(pilot, "phase-golive")
        for decided in (False, True):
            probe = engine_in(base, "golive.decision", StepStatus.PENDING, "gates open")
            if decided:
                probe.decide("HOLD FOR REVIEW", authorized_by="Boss")
            app.engine = probe
            ui = bool(app.screen.check_action("finish", ()))
            try:
                probe.finish()
                accepted = probe.run.finished_at is not None
            except EngineError:
                accepted = False
            assert ui == accepted == decided, (decided, ui, accepted)
        app.engine = base
