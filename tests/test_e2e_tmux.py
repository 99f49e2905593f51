"""End to end: the installed `warungin-tui` in tmux at 80x24, driven with keys only."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import wait_until
from tests.tmux_driver import TmuxScreen, private_env
from warungin_tui.config import load_config
from warungin_tui.engine.run import rebuild_run
from warungin_tui.journal import read_journal, verify_journal
from warungin_tui.outcome import GATE_OK, StepStatus
from warungin_tui.playbook import build_playbook

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]
PROMPT = "enter = accept"
CHOICE = "enter = choose"
CONFIRM = "y = yes"


def console_script() -> str:
    found = shutil.which("warungin-tui") or str(Path(sys.executable).parent / "warungin-tui")
    if not Path(found).exists():
        pytest.skip("the console script is not installed (pip install -e .)")
    return found


@pytest.fixture
def screens(tmp_path: Path) -> Iterator[list[TmuxScreen]]:
    opened: list[TmuxScreen] = []
    yield opened
    for screen in opened:
        screen.close()


def answer_everything(screen: TmuxScreen, done: str, *, limit: int = 80) -> None:
    """Tick, sign and answer until the phase header shows `done` (e.g. "27/27").

    After every key the next action waits for the screen to change, so typed names never land
    on the phase screen (where their letters would be commands)."""
    for _ in range(limit):
        text = screen.wait_for(lambda s: "⠋" not in s.splitlines()[0], timeout=30)
        first = text.splitlines()[0]
        if done in first and PROMPT not in text and CHOICE not in text:
            return
        if PROMPT in text:
            screen.type("Rehearsal Person")
            screen.keys("Enter")
            screen.wait_for(lambda s: PROMPT not in s)
        elif CHOICE in text:
            screen.keys("Enter")
            screen.wait_for(lambda s: CHOICE not in s)
        elif CONFIRM in text:
            screen.keys("y")
            screen.wait_for(lambda s: CONFIRM not in s)
        else:
            screen.keys("Space")
            screen.wait_for(lambda s, before=text: s != before, timeout=10)
    raise AssertionError(f"phase never reached {done}:\n{screen.text()}")


def run_automated_phase(screen: TmuxScreen, title: str, done: str, timeout: float = 90) -> str:
    screen.keys("n")  # opens the next phase and starts its automated steps
    screen.wait_for(re.escape(title))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = screen.text()
        if CONFIRM in text:
            screen.keys("y")
        elif done in text.splitlines()[0]:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{title} never reached {done}:\n{screen.text()}")


def start_and_open_checklist(screen: TmuxScreen, *, resume: bool = False) -> None:
    screen.wait_for("enter = connect", timeout=60)
    screen.keys("Enter")
    screen.wait_for("Overview")
    screen.keys("Enter")
    screen.wait_for("Pre-deployment checklist")


def test_demo_to_the_end_with_keys_only_keeps_the_rehearsal(tmp_path: Path, screens) -> None:
    screen = TmuxScreen([console_script(), "demo"], env=private_env(tmp_path), cwd=tmp_path)
    screens.append(screen)
    start_and_open_checklist(screen)
    screen.wait_for("11/27", timeout=60)  # the infrastructure probes ran by themselves
    answer_everything(screen, "27/27")
    run_automated_phase(screen, "Phase 1: Pre-deployment", "5/5")
    phase2 = run_automated_phase(screen, "Phase 2: Code deployment", "11/11")
    assert "✔ Step 2.2 Build new images" in phase2
    run_automated_phase(screen, "Phase 3: Post-deployment verification", "6/6")
    screen.keys("n")
    screen.wait_for("Production smoke test")
    assert "measured" in screen.text()  # Test 1 shows the measured load time
    answer_everything(screen, "5/5")
    screen.keys("n")
    report = screen.wait_for("PRODUCTION VERIFICATION REPORT")
    assert "Service Status" in report
    assert report.count("UP & HEALTHY") >= 4
    assert "Backend health endpoint: 200 OK" in report
    assert "Frontend loads: < 3 seconds" in report
    screen.keys("Escape")
    overview = screen.wait_for("Overview")
    for title in [
        "Phase 1: Pre-deployment",
        "Phase 2: Code deployment",
        "Phase 3: Post-deployment verification",
        "Production smoke test",
    ]:
        assert re.search(rf"✔ {re.escape(title)}\s+passed", overview), overview
    # the rest of the run, to `F`: report ticks, completion, monitoring, go-live
    screen.keys("n")  # the overview opens the phase the run stands at
    screen.wait_for("PRODUCTION VERIFICATION REPORT")
    answer_everything(screen, "2/2")
    screen.keys("n")
    screen.wait_for("Deployment completion")
    answer_everything(screen, "5/5")
    run_automated_phase(screen, "Post-deployment monitoring", "5/10")
    answer_everything(screen, "10/10")
    screen.keys("n")  # the go-live screen asks the decision at once
    screen.wait_for("Go-live decision")
    screen.wait_for(CHOICE)
    screen.keys("Enter")  # GO-LIVE APPROVED is the first choice
    screen.wait_for("Effective date/time")  # who and when, in one form (when: now)
    screen.type("Rehearsal Person")
    screen.wait_for("Rehearsal Person")
    screen.keys("Enter")
    # no monitoring samples cover 24 hours: approval needs an override with a reason
    screen.wait_for("monitoring not evidenced")
    screen.type("rehearsal watched for minutes")
    screen.wait_for("rehearsal watched for minutes")
    screen.keys("Enter")
    screen.wait_for("Finish the run?")  # offered once the decision is in
    screen.keys("y")
    screen.wait_for("Log exported", timeout=30)
    assert "☒ GO-LIVE APPROVED" in screen.text()
    screen.keys("q")
    dialog = screen.wait_for(CONFIRM)
    assert "cannot be resumed" in dialog
    screen.keys("y")
    screen.wait_for("EXITED-0", timeout=60)
    printed = screen.joined_text()
    kept_dir = Path(re.search(r"rehearsal kept in (\S+):", printed).group(1))  # type: ignore[union-attr]
    assert kept_dir.parent == tmp_path / "data" / "warungin-tui" / "rehearsals"
    assert kept_dir.name.endswith("-healthy")
    kept = sorted(p.name for p in kept_dir.iterdir())
    assert [n for n in kept if n.endswith(".md")] and [n for n in kept if n.endswith(".json")]
    (journal,) = kept_dir.glob("run-*.jsonl")
    assert verify_journal(journal).ok
    for name in kept:
        assert f"  {kept_dir / name}" in printed  # every kept file is named
    markdown = next(kept_dir.glob("deployment-*.md")).read_text()
    assert markdown.splitlines()[2] == "**Outcome: SUCCESS**"
    assert not list(tmp_path.glob("warungin-*")), "the target's temporary folder is gone"


def test_sigkill_in_phase_2_then_resume_keeps_every_tick(tmp_path: Path, screens) -> None:
    """The target runs in its own process (`demo --serve`); the wizard is killed and restarted."""
    env = private_env(tmp_path)
    serve = subprocess.Popen(
        [console_script(), "demo", "--serve", "--scenario", "healthy"],
        env={**os.environ, **env},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        config_path = None
        while config_path is None:
            line = serve.stdout.readline()
            assert line, "demo --serve ended early"
            if line.startswith("config: "):
                config_path = Path(line.removeprefix("config: ").strip())
        config = load_config(config_path)
        wizard = [console_script(), "--config", str(config_path)]

        first = TmuxScreen(wizard, env=env, cwd=tmp_path)
        screens.append(first)
        start_and_open_checklist(first)
        first.wait_for("11/27", timeout=60)
        answer_everything(first, "27/27")
        run_automated_phase(first, "Phase 1: Pre-deployment", "5/5")
        first.keys("n")
        first.wait_for("Phase 2: Code deployment")
        first.keys("a")
        first.wait_for(r"Build new images\s+running", timeout=60)
        os.kill(first.pid(), signal.SIGKILL)
        first.wait_for("EXITED-137")

        (journal,) = Path(config.archive.journal_dir or "").glob("run-*.jsonl")
        before = rebuild_run(build_playbook(config), read_journal(journal))
        ticked = {
            sid: r.status
            for sid, r in before.results.items()
            if r.status in GATE_OK and not sid.startswith("phase2")
        }
        assert len(ticked) >= 32  # 27 checklist items + 5 steps of Phase 1
        assert before.results["phase2.build"].status == StepStatus.RUNNING

        second = TmuxScreen(wizard, env=env, cwd=tmp_path)
        screens.append(second)
        start = second.wait_for("unfinished run", timeout=60)
        assert "resume" in start.lower()
        second.keys("Enter")
        overview = second.wait_for("Overview")
        assert re.search(r"✔ Pre-deployment checklist\s+passed\s+27/27", overview), overview
        assert re.search(r"✔ Phase 1: Pre-deployment\s+passed\s+5/5", overview), overview
        assert re.search(r"Phase 2: Code deployment\s+failed", overview), overview

        after = rebuild_run(build_playbook(config), read_journal(journal))
        for step_id, status in ticked.items():
            assert after.results[step_id].status == status, step_id
            assert after.results[step_id].by == before.results[step_id].by
        build = after.results["phase2.build"]
        assert build.status == StepStatus.INTERRUPTED and "outcome" in build.detail
        assert verify_journal(journal).ok
        second.keys("q")
        second.wait_for(CONFIRM)
        second.keys("y")
        second.wait_for(r"EXITED-\d+", timeout=30)
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=30)
    wait_until(lambda: serve.poll() is not None)


def test_a_dropped_terminal_stops_the_demo_and_its_target(tmp_path: Path, screens) -> None:
    """The on-call's SSH session drops (SIGHUP): nothing the demo started may live on."""
    from tests.conftest import processes_mentioning

    screen = TmuxScreen([console_script(), "demo"], env=private_env(tmp_path), cwd=tmp_path)
    screens.append(screen)
    screen.wait_for("enter = connect", timeout=60)
    assert processes_mentioning(str(tmp_path / "warungin-")), "the target should be running"
    screen.close()  # kills the tmux server: the demo receives SIGHUP
    wait_until(lambda: not processes_mentioning(str(tmp_path)), timeout=20)
    wait_until(lambda: not list(tmp_path.glob("warungin-*")), timeout=20)  # folder removed
