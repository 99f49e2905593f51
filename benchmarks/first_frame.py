"""Child process of benchmarks/run.py: prints the seconds from `$BENCH_T0` (the parent's
time.time() just before it started us) to the first frame of an app, then exits.

    python benchmarks/first_frame.py minimal
    python benchmarks/first_frame.py wizard CONFIG JOURNAL_DIR

The wizard path is the CLI's (the config validated in a child process while the app imports,
then the app). Both apps run headless; "first frame" is the moment the app hands its first
screen's first full update to the driver (`App._display`, where a terminal would be written
to): the wizard's start screen, the minimal app's only screen. (Until this round it was the
screen mounted and then the process idle for 20 ms, twice, which counted work done after the
frame and added ~40 ms to both sides.)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any


def _since_start() -> float:
    return time.time() - float(os.environ["BENCH_T0"])


def _exit_at_first_paint(app: Any, screen_id: str | None) -> None:
    """Print the time of `app`'s first update of its screen (`screen_id`, or any), then exit."""
    display = app._display  # the method every frame goes through (a no-op write headless)

    def first_paint(screen: Any, update: Any) -> None:
        display(screen, update)
        if update is not None and (screen_id is None or screen.id == screen_id):
            print(f"{_since_start():.6f}", flush=True)
            app._display = display
            app.exit()

    app._display = first_paint


def minimal() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Static

    class Minimal(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("Warungin POS production deployment")
            yield Footer()

    app = Minimal()
    _exit_at_first_paint(app, None)
    app.run(headless=True)


def wizard(config_path: Path, journal_dir: Path) -> None:
    """As the console script opens the wizard (cli.run, then cli.open_wizard)."""
    from warungin_tui import startup

    startup.begin()
    from warungin_tui.config_beside import DeferredConfig

    config = DeferredConfig(config_path)  # read and parsed; a child validates it meanwhile
    from warungin_tui.app import WarunginApp

    config.start_info()  # the child's answer: a bad config would exit 2 here
    app = WarunginApp(config, config_path, journal_dir=journal_dir)
    _exit_at_first_paint(app, "start")
    app.run(headless=True)


if __name__ == "__main__":
    if sys.argv[1] == "minimal":
        minimal()
    else:
        wizard(Path(sys.argv[2]), Path(sys.argv[3]))
