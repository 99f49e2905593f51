"""`warungin-tui init` and `demo --help`: getting started after `pip install` (issue 13)."""

from __future__ import annotations

import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO, run_cli
from warungin_tui.config import load_config
from warungin_tui.sandbox.scenarios import SCENARIOS


def test_packaged_sample_is_the_top_level_sample() -> None:
    """One source: the package's copy (what `pip install` ships) equals the file people read."""
    packaged = REPO / "warungin_tui" / "sample_config.toml"
    assert packaged.read_bytes() == (REPO / "sample_config.toml").read_bytes(), (
        "run: cp sample_config.toml warungin_tui/sample_config.toml"
    )


def test_init_writes_the_commented_sample_private_and_says_what_next(tmp_path: Path) -> None:
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "warungin.toml"  # no PATH: where the wizard looks first
    assert written.read_bytes() == (REPO / "sample_config.toml").read_bytes()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    (line,) = result.stdout.strip().splitlines()
    assert "warungin.toml" in line and "[target] host" in line and "validate" in line
    assert load_config(written).release.version  # what it wrote is a valid config


def test_init_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("# my edits\n")
    result = run_cli("init", str(path))
    assert result.returncode == 2
    assert path.read_text() == "# my edits\n"
    (line,) = result.stderr.strip().splitlines()
    assert "exists already" in line and "Traceback" not in result.stderr


def test_init_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path / "nowhere" / "c.toml"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_demo_help_lists_every_scenario_in_one_line(tmp_path: Path) -> None:
    result = run_cli("demo", "--help")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    for name, what in SCENARIOS.items():
        (line,) = [line for line in lines if line.split()[:1] == [name]]
        assert line.split(maxsplit=1)[1].strip() == what  # the whole line, nothing cut


@pytest.mark.skipif(
    subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode,
    reason="needs pip",
)
def test_the_wheel_carries_the_sample(tmp_path: Path) -> None:
    """What `pip install` gets: the built wheel holds the sample next to the code."""
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip()[-200:]}")
    (wheel,) = tmp_path.glob("warungin_tui-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read("warungin_tui/sample_config.toml")
    assert data == (REPO / "sample_config.toml").read_bytes()
