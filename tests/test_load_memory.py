"""CPU/memory evidence (issue 13): the load average and memory used of total, not `Swap: 0 0 0`."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from warungin_tui.steps.parsers import PARSERS, ParseInput

NO_SWAP = """ 02:00:01 up 41 days,  3:12,  1 user,  load average: 0.52, 0.58, 0.61
               total        used        free      shared  buff/cache   available
Mem:            7951        2345        1200          12        4406        5311
Swap:              0           0           0
"""


def parse(stdout: str) -> tuple[bool, str]:
    parsed = PARSERS["load_memory"](ParseInput(stdout, [], {}, []))
    return parsed.ok, parsed.detail


def test_load_and_memory_are_the_evidence_not_the_last_line() -> None:
    ok, detail = parse(NO_SWAP)
    assert ok
    assert detail == "load average 0.52, 0.58, 0.61 · memory 2345 of 7951 MiB used (29%)"
    assert "Swap" not in detail


def test_output_without_either_says_so() -> None:
    ok, detail = parse("something else entirely\n")
    assert ok and "no load average or memory line" in detail


@pytest.mark.skipif(not (shutil.which("uptime") and shutil.which("free")), reason="procps")
def test_this_machines_uptime_and_free() -> None:
    """The step's own command on a real machine (procps), parsed."""
    out = subprocess.run(
        "uptime && free -m", shell=True, capture_output=True, text=True, check=True, timeout=30
    ).stdout
    ok, detail = parse(out)
    assert ok and detail.startswith("load average ") and " MiB used (" in detail
