"""Drive a terminal program in tmux at 80x24 with keys only, reading the screen as a person does."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path


class TmuxScreen:
    def __init__(
        self,
        command: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        width: int = 80,
        height: int = 24,
    ) -> None:
        self.name = f"wt-{uuid.uuid4().hex[:8]}"
        self.socket = f"wt-{self.name}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        shell = (
            f"cd {shlex.quote(str(cwd))} && env {exports} {shlex.join(command)}; "
            "echo EXITED-$?; sleep 600"
        )
        self._tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), shell)

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def text(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def joined_text(self) -> str:
        """The screen with wrapped lines joined (long paths printed after the program ends)."""
        return self._tmux("capture-pane", "-p", "-J", "-t", self.name)

    def keys(self, *keys: str) -> None:
        for key in keys:
            self._tmux("send-keys", "-t", self.name, key)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def wait_for(self, pattern: str | Callable[[str], bool], timeout: float = 30.0) -> str:
        """Poll the screen until `pattern` (a regex or a predicate) matches; return the screen."""
        deadline = time.monotonic() + timeout
        check = pattern if callable(pattern) else lambda s: re.search(pattern, s) is not None
        screen = ""
        while time.monotonic() < deadline:
            screen = self.text()
            if check(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"screen never showed {pattern!r}; last screen:\n{screen}")

    def pid(self) -> int:
        """The pid of the program itself (the child of the pane's shell)."""
        shell_pid = int(self._tmux("display-message", "-p", "-t", self.name, "#{pane_pid}"))
        children = Path(f"/proc/{shell_pid}/task/{shell_pid}/children").read_text().split()
        return int(children[0])

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


_REPO = Path(__file__).resolve().parent.parent


def private_env(tmp_path: Path) -> dict[str, str]:
    """The demo writes under TMPDIR; user folders point into the test's own tmp_path."""
    return {
        "TMPDIR": str(tmp_path),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "TERM": "xterm-256color",
        "PATH": os.environ["PATH"],
        "WARUNGIN_TUI_CONFIG": "",
        "PYTHONPATH": str(_REPO),  # this checkout, wherever the script was installed from
    }
