"""Small shared helpers for tests: polling with a deadline instead of sleeping."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CONFIG = REPO / "sample_config.toml"


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def cli_argv(*args: str) -> list[str]:
    """The CLI as a subprocess sees it, run from this checkout."""
    return [sys.executable, "-m", "warungin_tui.cli", *args]


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion; no config reaches it unless the arguments name one."""
    env = {**os.environ, "WARUNGIN_TUI_CONFIG": "", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        cli_argv(*args), capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )
