"""Derived checklist items: an override is shown as such, never as a plain YES."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_remote import FakeRemote
from tests.helpers import SAMPLE_CONFIG
from warungin_tui.config import load_config
from warungin_tui.engine.checklists import GO_LIVE, ItemState, item_state
from warungin_tui.engine.engine import Engine, EngineError


def item(label: str):
    return next(i for i in GO_LIVE if i.label == label)


def test_overridden_gate_and_step_are_not_yes(tmp_path: Path) -> None:
    engine = Engine.start_new(
        load_config(SAMPLE_CONFIG), tmp_path, operator="Op", remote=FakeRemote()
    )
    run = engine.run
    monitoring = item("24-hour monitoring passed")
    assert item_state(run, monitoring) == ItemState.OPEN
    engine.override_gate("monitoring", "signed off at hour 2 by the PM")
    assert item_state(run, monitoring) == ItemState.OVERRIDDEN

    for phase in ["pre", "phase1", "phase2", "phase3", "smoke", "report"]:
        engine.override_gate(phase, "unit test: reach the completion phase")
    approvals = item("All approvals signed")
    engine.sign_off("completion.tech_lead", "T")
    engine.sign_off("completion.ops_lead", "O")
    assert item_state(run, approvals) == ItemState.OPEN
    # a pending sign-off cannot be overridden (only a failed step can); skipped, it is no YES
    with pytest.raises(EngineError, match="failed or interrupted"):
        engine.override_step("completion.product_manager", "PM on leave")
    engine.skip("completion.product_manager", "PM on leave, deputy agreed by phone")
    assert item_state(run, approvals) == ItemState.OPEN
    engine.sign_off("completion.product_manager", "P")
    assert item_state(run, approvals) == ItemState.YES
    assert item_state(run, item("No rollback needed")) == ItemState.YES
