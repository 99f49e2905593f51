from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import wait_until

pytest_plugins = ["tests.sshd_fixtures"]


def processes_mentioning(text: str) -> list[str]:
    """Live (non-zombie) processes whose command line contains `text`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        if text in cmdline and not stat[stat.rindex(")") + 2 :].startswith("Z"):
            found.append(f"{proc.name}: {cmdline.strip()}")
    return found


@pytest.fixture(autouse=True)
def no_process_left_behind(tmp_path: Path) -> Iterator[None]:
    """Every sandbox server, sshd and shim a test starts lives under its tmp_path: none may
    survive the test (checked after every other fixture has been torn down)."""
    yield
    marker = str(tmp_path)
    try:
        wait_until(lambda: not processes_mentioning(marker), timeout=10)
    except AssertionError:
        pytest.fail(f"processes left behind: {processes_mentioning(marker)}")
