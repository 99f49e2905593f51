"""Child process of benchmarks/run.py: prints the seconds from `$BENCH_T0` (the parent's
time.time() just before it started us) to the first frame of an app, then exits.

    python benchmarks/first_frame.py minimal
    python benchmarks/first_frame.py wizard CONFIG JOURNAL_DIR

The wizard path is the CLI's (config loaded and validated, then the app); the app runs
headless, and "first frame" is its first screen mounted and refreshed once.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def _since_start() -> float:
    return time.time() - float(os.environ["BENCH_T0"])


async def _mark_first_frame(pilot: object, screen_id: str | None) -> None:
    app = pilot.app  # type: ignore[attr-defined]
    while not (app.screen.is_mounted and (screen_id is None or app.screen.id == screen_id)):
        await pilot.pause()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    print(f"{_since_start():.6f}", flush=True)
    app.exit()


def minimal() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Static

    class Minimal(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("Warungin POS production deployment")
            yield Footer()

    Minimal().run(headless=True, auto_pilot=lambda pilot: _mark_first_frame(pilot, None))


def wizard(config_path: Path, journal_dir: Path) -> None:
    from warungin_tui import startup

    startup.begin()  # as the console script does first (cli.run)
    from warungin_tui.config import load_config

    config = load_config(config_path)
    from warungin_tui.app import WarunginApp

    app = WarunginApp(config, config_path, journal_dir=journal_dir)
    app.run(headless=True, auto_pilot=lambda pilot: _mark_first_frame(pilot, "start"))


if __name__ == "__main__":
    if sys.argv[1] == "minimal":
        minimal()
    else:
        wizard(Path(sys.argv[2]), Path(sys.argv[3]))
