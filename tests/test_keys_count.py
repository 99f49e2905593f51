"""Issue 13: the healthy rehearsal, start screen to finished export, in at most 60 keys.

Runs benchmarks/keys.py's rehearsal: the installed `warungin-tui demo` in tmux at 80x24, driven
the way a person who knows the tool would, every key counted (typed characters apart)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.keys import NAVIGATION_GOAL, measure
from tests.test_e2e_tmux import console_script

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]


def test_healthy_rehearsal_takes_at_most_60_navigation_keys(tmp_path: Path) -> None:
    count = measure(console_script(), tmp_path)
    by_phase = ", ".join(f"{phase} {n}" for phase, n in count.navigation.items())
    assert count.total_navigation <= NAVIGATION_GOAL, f"{count.total_navigation} keys: {by_phase}"
    # the names are typed, not navigated: every sign-off and answer was reached with keys
    assert count.total_typed > 0
    assert {"pre", "phase1", "golive"} <= set(count.navigation)
    # `n` alone runs the automated phases: nothing else was pressed there but Phase 1's "y"
    assert count.navigation["phase2"] == 1 and count.navigation["phase3"] == 1
