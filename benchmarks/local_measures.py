"""Figures without SSH: memory over cursor moves, first frame, `--help`, resume, readiness."""

from __future__ import annotations

import asyncio
import gc
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any
from unittest.mock import patch

from benchmarks.harness import RSS_GROWTH_GOAL_MIB, Row, interleaved, ratio_row, rss_flat_row
from benchmarks.ssh_measures import REPO, env, until
from warungin_tui.config import Config, load_config
from warungin_tui.engine.engine import Engine, load_unfinished_run
from warungin_tui.outcome import StepStatus
from warungin_tui.steps import ssh as ssh_steps

SAMPLE = REPO / "sample_config.toml"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


CHECKPOINT_MOVES = 2000


async def rss_growth(
    folder: Path, warm_up: int, keys: int, checkpoints: list[float] | None = None
) -> tuple[float, float, int, int]:
    """The wizard on the pre checklist (scripted target: memory, not SSH, is measured): RSS
    before and after `keys` cursor moves (after `warm_up` moves: caches and the allocator
    settle), the moves made and the footer's redraws. `checkpoints` gets the RSS every
    CHECKPOINT_MOVES moves of the measured ones (the trend, not only the two ends)."""
    from tests.app_fixtures import make_app
    from warungin_tui.widgets.keys_footer import KeysFooter

    app, _ = make_app(folder)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.screen.id == "start" and app.screen.is_mounted)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.id == "overview" and app.screen.is_mounted)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.id == "phase-pre" and app.screen.is_mounted)
        await until(pilot, lambda: not app.step_workers(), 30)
        footer = app.screen.query_one(KeysFooter)
        rows = app.screen.query_one("#steps")
        enabled = [i for i, option in enumerate(rows.options) if not option.disabled]

        async def moves(count: int) -> int:
            """Down over every row, then up, until `count`: rows of every kind, so the keys
            shown change too (the footer must redraw then, and must not leak). A sweep's keys
            are posted at once, as a held-down key would send them."""
            moved = 0
            while moved < count:
                for key, end in (("down", enabled[-1]), ("up", enabled[0])):
                    steps = abs(enabled.index(end) - enabled.index(rows.highlighted))
                    for _ in range(steps):
                        app.simulate_key(key)
                    deadline = time.monotonic() + 60
                    while rows.highlighted != end:
                        if time.monotonic() > deadline:
                            raise RuntimeError("cursor keys were not handled within 60 s")
                        await asyncio.sleep(0.001)
                    moved += steps
            return moved

        await moves(warm_up)
        await pilot.pause()
        gc.collect()
        before, redraws = rss_mib(), getattr(footer, "redraws", 0)
        pressed = 0
        while pressed < keys:
            pressed += await moves(min(CHECKPOINT_MOVES, keys - pressed))
            if checkpoints is not None:
                await pilot.pause()
                gc.collect()
                checkpoints.append(round(rss_mib(), 2))
        await pilot.pause()
        gc.collect()
        after = rss_mib()
        redraws = getattr(footer, "redraws", 0) - redraws
        await app.action_quit()
    return before, after, pressed, redraws


async def rss_rows(keys: int, folder: Path, *, compare: int = 0, warm_up: int = 0) -> list[Row]:
    """RSS over `keys` cursor moves after `warm_up` moves; with `compare`, also `compare` moves
    with Textual's own Footer (the leak of textual#6666, measured the same way).

    The warm-up is long because Textual's bounded render caches (FIFOCache/LRUCache of strips,
    per widget) fill over the first ~4,000 moves here (+3.5 MiB, then object counts stay
    flat: measured with gc.get_objects() by type), and the allocator settles after them."""
    trend: list[float] = []
    before, after, pressed, redraws = await rss_growth(
        folder / "ours", warm_up or min(keys, 2000), keys, trend
    )
    rows = [
        rss_flat_row(
            f"RSS after {pressed:,} cursor moves",
            "RSS before them",
            after,
            before,
            notes=(
                f"growth {after - before:+.2f} MiB after {warm_up or min(keys, 2000):,} "
                f"warm-up moves; RSS every {CHECKPOINT_MOVES:,} moves {trend}; footer "
                f"redraws {redraws}"
            ),
            extra={"footer_redraws": redraws, "rss_trend_mib": trend},
        )
    ]
    if compare:
        from textual.widgets import Footer

        from warungin_tui.widgets.keys_footer import KeysFooter

        ours = await rss_growth(folder / "ours2", 400, compare)
        with (
            patch.object(KeysFooter, "bindings_changed", Footer.bindings_changed),
            patch.object(KeysFooter, "compose", Footer.compose),
        ):
            theirs = await rss_growth(folder / "theirs", 400, compare)
        growth, upstream = ours[1] - ours[0], theirs[1] - theirs[0]
        rows.append(
            Row(
                f"RSS growth over {ours[2]:,} cursor moves",
                "the same with Textual's Footer (before the fix)",
                growth,
                upstream,
                growth / upstream,
                f"flat: growth <= {RSS_GROWTH_GOAL_MIB:g} MiB",
                growth <= RSS_GROWTH_GOAL_MIB,
                unit="MiB",
                runs=1,
                notes=f"Textual's Footer: {upstream * 1024 / theirs[2]:.0f} KiB a move",
            )
        )
    return rows


def write_finished_journals(folder: Path, config: Config, count: int) -> None:
    """`count` finished runs of the size of a real one (every step, 60 output lines each)."""
    folder.mkdir(parents=True, exist_ok=True)
    engine = Engine.start_new(config, folder / "seed", operator="Bench")
    assert engine.journal is not None
    for spec in engine.run.playbook.all_steps():
        engine.journal.append({"type": "step_started", "step": spec.id, "kind": str(spec.kind)})
        lines = [f"#{i} building layer {i}/60 ... done" for i in range(60)]
        engine.journal.append({"type": "step_output", "step": spec.id, "lines": lines})
        engine.journal.append(
            {"type": "step_finished", "step": spec.id, "status": "passed", "detail": "ok"}
        )
    engine.journal.append({"type": "run_finished"})
    engine.journal.close()
    (seed,) = (folder / "seed").glob("run-*.jsonl")
    for index in range(count):
        shutil.copyfile(seed, folder / f"run-20250101-0000{index:02d}-bench{index:02d}.jsonl")
    shutil.rmtree(folder / "seed")


async def first_frame(*args: str) -> float:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "benchmarks" / "first_frame.py"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**env(), "BENCH_T0": repr(time.time())},
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"first_frame {args[0]}: {err.decode()[-800:]}")
    return float(out.split()[-1])


async def first_frame_rows(rounds: int, folder: Path) -> list[Row]:
    config = load_config(SAMPLE)
    empty, full = folder / "empty", folder / "full"
    empty.mkdir(parents=True, exist_ok=True)
    write_finished_journals(full, config, 50)
    wizard, minimal = await interleaved(
        rounds,
        lambda: first_frame("minimal"),
        lambda: first_frame("wizard", str(SAMPLE), str(empty)),
    )
    with_runs, without = await interleaved(
        rounds,
        lambda: first_frame("wizard", str(SAMPLE), str(empty)),
        lambda: first_frame("wizard", str(SAMPLE), str(full)),
    )
    note = "process start -> first screen mounted and refreshed (headless)"
    return [
        ratio_row(
            "first frame of the wizard",
            "minimal Textual app (Static + Footer)",
            wizard,
            minimal,
            goal="<= 1.3",
            max_ratio=1.3,
            notes=note,
        ),
        ratio_row(
            "first frame with 50 finished runs in the journal folder",
            "empty journal folder",
            with_runs,
            without,
            goal="<= 1.05",
            max_ratio=1.05,
            notes=note,
        ),
    ]


async def help_rows(rounds: int) -> list[Row]:
    from benchmarks.ssh_measures import timed_process

    cli = [sys.executable, "-c", "from warungin_tui.cli import main; main()"]
    rows = []
    for flag in ("--help", "--version"):
        cand, base = await interleaved(
            rounds,
            lambda: timed_process([sys.executable, "-c", "pass"]),
            lambda flag=flag: timed_process([*cli, flag]),
        )
        rows.append(
            ratio_row(
                f"`{flag}`",
                "`python -c pass`",
                cand,
                base,
                goal="<= 4",
                max_ratio=4.0,
                notes="as the console script runs it (warungin_tui.cli:main)",
            )
        )
    return rows


def write_journal(path: Path, config: Config, events: int) -> None:
    """An unfinished run of `events` events: steps started, output batches, finished."""
    engine = Engine(config, _run(config), None)
    from warungin_tui.journal import GENESIS, _canonical, line_hash, now_iso

    prev, lines = GENESIS, []
    first = {
        "type": "run_started",
        "run_id": "20250101-000000-bench0",
        "target": config.target.label,
        "release": config.release.version,
        "operator": "Bench",
        "config": config.model_dump(mode="json"),
    }
    steps = [s for s in engine.run.playbook.all_steps() if s.automated]
    todo = [first]
    index = 0
    while len(todo) < events - 1:
        spec = steps[index % len(steps)]
        index += 1
        todo.append({"type": "step_started", "step": spec.id, "kind": str(spec.kind)})
        for batch in range(6):
            out = [f"#{batch}.{i} building layer ... done" for i in range(40)]
            todo.append({"type": "step_output", "step": spec.id, "stream": "stdout", "lines": out})
        todo.append({"type": "step_finished", "step": spec.id, "status": "passed", "detail": "ok"})
    for seq, event in enumerate(todo[:events]):
        body = {"seq": seq, "at": now_iso(), "prev": prev, "event": event}
        record = {**body, "hash": line_hash(prev, body)}
        lines.append(_canonical(record))
        prev = record["hash"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines) + b"\n")
    path.chmod(0o600)


def _run(config: Config) -> Any:
    from warungin_tui.engine.run import Run
    from warungin_tui.playbook import build_playbook

    return Run(build_playbook(config))


async def resume_rows(rounds: int, folder: Path, events: int) -> list[Row]:
    config = load_config(SAMPLE)
    master = folder / "master.jsonl"
    write_journal(master, config, events)

    async def one_pass() -> float:
        started = time.perf_counter()
        data = master.read_bytes()
        for line in data.split(b"\n")[:-1]:
            json.loads(line)
        return time.perf_counter() - started

    async def resume() -> float:
        journal_dir = folder / "journals"
        shutil.rmtree(journal_dir, ignore_errors=True)
        journal_dir.mkdir()
        path = journal_dir / "run-20250101-000000-bench0.jsonl"
        shutil.copyfile(master, path)
        started = time.perf_counter()
        saved = load_unfinished_run(config, journal_dir)  # the start screen's summary
        assert saved is not None
        engine = Engine.resume(config, path, saved=saved)  # enter: resume
        elapsed = time.perf_counter() - started
        assert engine.journal is not None
        engine.journal.close()
        return elapsed

    cand, base = await interleaved(rounds, one_pass, resume)
    return [
        ratio_row(
            f"resume of a {events:,}-event journal",
            "one `json.loads` pass over its lines",
            cand,
            base,
            goal="<= 2",
            max_ratio=2.0,
            notes="find it + start-screen summary + Engine.resume (config, playbook, fold)",
        )
    ]


class ReadyAfter:
    """A scripted remote whose service is ready `delay_s` after the wait step starts."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.ready_at = 0.0

    async def run(self, command: str, *, timeout: float, on_output: Any = None) -> Any:
        from warungin_tui.remote import CommandResult

        if not self.ready_at:
            self.ready_at = time.monotonic() + self.delay_s
        count = 0 if time.monotonic() >= self.ready_at else 3
        stdout = f" active_sessions \n---\n {count}\n(1 row)\n"
        return CommandResult(command, 0, stdout, "", False, 0.001)


async def readiness_rows(rounds: int, folder: Path, delay_s: float = 0.3) -> list[Row]:
    config = load_config(SAMPLE)  # poll_interval_seconds = 2 (the config's default)
    interval = config.thresholds.poll_interval_seconds

    async def detection(fixed_interval: bool) -> float:
        remote = ReadyAfter(delay_s)
        engine = Engine(config, _run(config), None, remote, enforce_gates=False)
        original = ssh_steps.poll_gaps
        if fixed_interval:  # the behaviour before: every gap is the configured interval
            ssh_steps.poll_gaps = _constant_gaps  # type: ignore[assignment]
        try:
            outcome = await engine.run_step("phase1.active_sessions")
        finally:
            ssh_steps.poll_gaps = original
        seen = time.monotonic()
        await engine.aclose()
        if outcome.status != StepStatus.PASSED:
            raise RuntimeError(f"readiness wait: {outcome.detail}")
        return seen - remote.ready_at

    cand, base = await interleaved(rounds, lambda: detection(True), lambda: detection(False))
    row = ratio_row(
        f"readiness seen after a service is ready ({delay_s:g} s in, interval {interval:g} s)",
        "fixed polls at the interval (before)",
        cand,
        base,
        goal="<= 0.5 s",
        max_ratio=float("inf"),
        notes="scripted remote (no SSH): the delay is the poll schedule's",
    )
    row.met = row.median_s <= 0.5
    return [row]


def _constant_gaps(interval: float) -> Any:
    while True:
        yield interval
