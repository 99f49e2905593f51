"""SSH figures (each measured per link: direct and through the latency proxy): `check` vs one
`ssh` per command, `check` total vs its slowest probe, a 200k-line build in the wizard (shown as
finished, and key latency while it prints)."""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Row, interleaved, p95, ratio_row
from benchmarks.target import Link
from warungin_tui.engine.engine import Engine
from warungin_tui.engine.run import Run
from warungin_tui.headless import run_check
from warungin_tui.outcome import StepStatus
from warungin_tui.playbook import StepKind, build_playbook
from warungin_tui.templating import render_command

REPO = Path(__file__).resolve().parent.parent
FLOOD_STEP = "pre.server_accessible"
KEY_GAP_S = 0.05


def flood_command(lines: int) -> str:
    """A build's worth of output lines (no braces: the command is a playbook template)."""
    return f"seq -f '#%.0f building layer ... done' 1 {lines}"


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "WARUNGIN_TUI_CONFIG": ""}


async def timed_process(argv: list[str], *, ok: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env(),
    )
    _, stderr = await process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode not in ok:
        raise RuntimeError(f"{argv[:3]}... exited {process.returncode}: {stderr.decode()[-500:]}")
    return elapsed


def pre_commands(link: Link) -> list[str]:
    """The automated commands of the pre phase as `check` renders them."""
    playbook = build_playbook(link.config)
    values = Engine(link.config, Run(playbook), None).values()
    return [
        render_command(spec.command, values)
        for spec in playbook.phase("pre").steps
        if spec.kind == StepKind.SSH and spec.command
    ]


async def check_rows(link: Link, rounds: int) -> list[Row]:
    commands = pre_commands(link)

    async def ssh_each() -> float:
        started = time.perf_counter()
        for command in commands:
            await timed_process(link.ssh_argv(command), ok=(0, 1))
        return time.perf_counter() - started

    async def check() -> float:
        cli = [sys.executable, "-m", "warungin_tui.cli", "check", "--phase", "pre"]
        return await timed_process([*cli, "--config", str(link.config_path)], ok=(0, 1))

    cand, base = await interleaved(rounds, ssh_each, check)
    rows = [
        ratio_row(
            f"`check --phase pre` ({link.label})",
            f"same {len(commands)} commands, one `ssh` process each",
            cand,
            base,
            goal="5x faster (ratio <= 0.2)",
            max_ratio=0.2,
            notes="whole CLI process: start-up, config, connect, probes",
        )
    ]

    # The slowest probe of a first run; the baseline is a check of that probe alone (the same
    # connect, host-lock read and remote shell start-up, one probe).
    warm, error = await run_check(link.config, "pre")
    if error:
        raise RuntimeError(error)
    probes = [row for row in warm if row["id"] != "host.lock"]
    slowest_id = max(probes, key=lambda row: row["duration_s"])["id"]
    slowest_own: list[float] = []

    async def check_all() -> float:
        started = time.perf_counter()
        results, error = await run_check(link.config, "pre")
        elapsed = time.perf_counter() - started
        if error:
            raise RuntimeError(error)
        slowest_own.append(max(r["duration_s"] for r in results))
        return elapsed

    async def slowest_alone() -> float:
        return await check_only(link, [slowest_id])

    totals, alone = await interleaved(rounds, slowest_alone, check_all)
    row = ratio_row(
        f"`check` probes total vs slowest probe ({link.label})",
        f"slowest probe alone ({slowest_id}: connect, lock read, that probe)",
        totals,
        alone,
        goal="<= 1.5",
        max_ratio=1.5,
        notes="in-process run_check: connect + every probe",
    )
    # The earlier baseline, for comparison: the slowest probe's own duration inside the run.
    row.extra["slowest_probe_own_median_s"] = round(statistics.median(slowest_own), 4)
    rows.append(row)
    return rows


async def check_only(link: Link, step_ids: list[str]) -> float:
    """Seconds for `run_check` restricted to `step_ids` (connect, host-lock read, probes)."""
    started = time.perf_counter()
    _, error = await run_check(link.config, "pre", only=step_ids)
    if error:
        raise RuntimeError(error)
    return time.perf_counter() - started


async def build_rows(link: Link, rounds: int, lines: int, folder: Path) -> list[Row]:
    """The wizard (real Remote, real journal) runs a step printing `lines` lines."""
    from warungin_tui import startup
    from warungin_tui.app import WarunginApp
    from warungin_tui.screens.messages import RunStepRequested

    command = flood_command(lines)

    def prepare(engine: Engine) -> None:
        spec = engine.run.playbook.step(FLOOD_STEP)
        object.__setattr__(spec, "command", command)  # StepSpec is frozen: a benchmark-only swap

    # As the console script does first (cli.run): the collector is off until the first frame,
    # which freezes what exists then (startup.py). Without it every full collection during the
    # build scanned the whole start-up heap: 55-70 ms stalls of the event loop, measured.
    startup.begin()
    app = WarunginApp(
        link.config, link.config_path, journal_dir=folder / "journal", prepare_engine=prepare
    )
    finished: list[float] = []
    bare: list[float] = []
    busy: list[float] = []
    idle: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.screen.id == "start" and app.screen.is_mounted)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.id == "overview" and app.screen.is_mounted, 30)
        app._autoran.add("pre")  # no autorun of the checklist: we run one step at a time
        app.open_phase("pre", FLOOD_STEP)
        await until(pilot, lambda: app.screen.id == "phase-pre" and app.screen.is_mounted)
        engine = app.require_engine()
        rows_widget = app.screen.query_one("#steps")

        async def run_flood(with_keys: list[float] | None) -> float:
            started = time.perf_counter()
            # `r` on a step that already passed: the rulebook refuses enter (RUN_STEP) there
            again = engine.run.status(FLOOD_STEP) != StepStatus.PENDING
            if not app.request(RunStepRequested(FLOOD_STEP, reconnect=again)):
                raise RuntimeError("the engine refused to run the flood step")
            await until(pilot, lambda: app.step_workers(), 10)
            while app.step_workers():
                if with_keys is not None:
                    with_keys.append(await key_latency(app, rows_widget))
                    await asyncio.sleep(KEY_GAP_S)
                else:
                    await asyncio.sleep(0.002)
            await pilot.pause()
            elapsed = time.perf_counter() - started
            if engine.run.status(FLOOD_STEP) != StepStatus.PASSED:
                raise RuntimeError(f"flood step: {engine.run.results[FLOOD_STEP].detail}")
            return elapsed

        async def ssh_to_null() -> float:
            return await timed_process(link.ssh_argv(command))

        async def shown_finished() -> float:
            return await run_flood(None)

        finished, bare = await interleaved(rounds, ssh_to_null, shown_finished)
        for _ in range(rounds):
            app.screen.query_one("#steps").focus()
            for _ in range(20):
                idle.append(await key_latency(app, rows_widget))
                await asyncio.sleep(KEY_GAP_S)
            await run_flood(busy)
        await app.action_quit()
    gc.unfreeze()  # the next measure starts from an ordinary heap

    row_finished = ratio_row(
        f"{lines:,}-line build shown as finished ({link.label})",
        "`ssh host cmd > /dev/null`",
        finished,
        bare,
        goal="<= 1.2",
        max_ratio=1.2,
        notes="wizard (Pilot, headless) with a real Remote and journal",
    )
    busy_p95 = p95(busy)
    row_keys = Row(
        f"key latency while a {lines:,}-line build prints ({link.label})",
        "same keys, idle",
        statistics.median(busy),
        statistics.median(idle),
        statistics.median(busy) / statistics.median(idle),
        "p95 <= 50 ms",
        busy_p95 <= 0.050,
        runs=len(busy),
        notes="key posted -> cursor moved (handler ran); down/up every 50 ms",
        extra={"p95_s": round(busy_p95, 4), "idle_p95_s": round(p95(idle), 4)},
    )
    return [row_finished, row_keys]


async def key_latency(app: Any, rows_widget: Any) -> float:
    """Post one cursor key (down from the first row, else up); seconds until the row moved."""
    key = "down" if rows_widget.highlighted in (0, None) else "up"
    return await cursor_key(app, rows_widget, key)


async def cursor_key(app: Any, rows_widget: Any, key: str) -> float:
    """Post one cursor key; seconds until the highlighted row has changed."""
    before = rows_widget.highlighted
    started = time.perf_counter()
    app.simulate_key(key)  # posted like a terminal's key event: the app's queue, then bindings
    deadline = started + 10
    while rows_widget.highlighted == before:
        if time.perf_counter() > deadline:
            raise RuntimeError("a key press was not handled within 10 s")
        await asyncio.sleep(0.0005)
    return time.perf_counter() - started


async def until(pilot: Any, predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not reached within {timeout} s")
        await pilot.pause()
