"""The wizard's config is validated in a forked child while the screens import: the start values
it answers are the models' own, a bad config's problems are the same lines, and where no child
can answer the models run in this process instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.helpers import REPO, SAMPLE_CONFIG
from warungin_tui import config_beside
from warungin_tui.config import ConfigError, load_config
from warungin_tui.config_beside import DeferredConfig, StartInfo

# A fresh interpreter (one thread: a fork is allowed) opens the config as the wizard does.
OPEN_AS_THE_WIZARD_DOES = """
import json, sys
from pathlib import Path
import warungin_tui.config_beside as beside
from warungin_tui.config_source import ConfigError

if sys.argv[2] == "child-dies":
    beside._validate = lambda data, path: 1 / 0  # runs in the child: it answers nothing
config = beside.DeferredConfig(Path(sys.argv[1]))
answer = {"forked": config._child is not None}
try:
    answer["start"] = beside.asdict(config.start_info())
except ConfigError as exc:
    answer["problems"] = exc.lines
answer["models_built_here"] = "pydantic" in sys.modules
print(json.dumps(answer))
"""


def open_as_the_wizard(path: Path, how: str = "normal") -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", OPEN_AS_THE_WIZARD_DOES, str(path), how],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},  # the same default journal folder
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    data = tomllib.loads(SAMPLE_CONFIG.read_text())
    data["release"]["branch"] = "-x"
    data["target"]["host"] = "bad host"
    path.write_text(tomli_w.dumps(data))
    return path


def test_the_child_answers_the_models_start_values_and_no_model_is_built_here(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(SAMPLE_CONFIG.read_text())
    answer = open_as_the_wizard(path)
    assert answer["forked"] is True
    assert answer["start"] == asdict(StartInfo.of(load_config(path)))
    assert answer["models_built_here"] is False  # pydantic waits until after the first frame


def test_a_bad_config_gets_the_same_lines_from_the_child_as_from_the_models(
    tmp_path: Path,
) -> None:
    path = bad_config(tmp_path)
    with pytest.raises(ConfigError) as here:
        load_config(path)
    answer = open_as_the_wizard(path)
    assert answer["forked"] is True
    assert answer["problems"] == here.value.lines and len(here.value.lines) == 2


def test_a_child_that_dies_without_an_answer_leaves_the_models_to_this_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(SAMPLE_CONFIG.read_text())
    answer = open_as_the_wizard(path, "child-dies")
    assert answer["forked"] is True
    assert answer["start"] == asdict(StartInfo.of(load_config(path)))
    assert answer["models_built_here"] is True
    bad = bad_config(tmp_path)
    assert open_as_the_wizard(bad, "child-dies")["problems"] == open_as_the_wizard(bad)["problems"]


def test_without_a_child_the_models_run_here_with_the_same_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_beside, "_fork_validation", lambda data, path: None)
    deferred = DeferredConfig(SAMPLE_CONFIG)
    assert deferred.start_info() == StartInfo.of(load_config(SAMPLE_CONFIG))
    assert deferred.load() is deferred.load()  # built once
    assert deferred.load() == load_config(SAMPLE_CONFIG)
    with pytest.raises(ConfigError) as refused:
        DeferredConfig(bad_config(tmp_path)).start_info()
    assert len(refused.value.lines) == 2


def test_an_unreadable_file_is_refused_before_any_child(tmp_path: Path) -> None:
    path = tmp_path / "not.toml"
    path.write_text("[target\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        DeferredConfig(path)


async def test_the_wizard_draws_from_the_start_values_and_builds_the_models_after(
    tmp_path: Path,
) -> None:
    from textual.widgets import Input, Static

    from tests.test_app import until
    from warungin_tui.app import WarunginApp

    deferred = DeferredConfig(SAMPLE_CONFIG)
    info = deferred.start_info()
    app = WarunginApp(deferred, SAMPLE_CONFIG, journal_dir=tmp_path / "journals")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.id == "start" and app.screen.is_mounted)
        shown = str(app.screen.query_one("#start-info", Static).render())
        assert info.label in shown and f"{info.version} (branch {info.branch})" in shown
        assert app.screen.query_one("#operator", Input).value == info.operator_name
        await until(pilot, lambda: deferred.built)  # right after the first frame, not at enter
        assert app.config == load_config(SAMPLE_CONFIG)
