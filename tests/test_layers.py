"""Import hygiene over every module of the package, found by walking it (no hand lists).

The import-linter contracts in pyproject.toml (run by scripts/test) hold the layers; these tests
hold what a contract cannot see: that every module imports at all, and that importing everything
below the UI, in a fresh interpreter, loads no Textual (not even through a dependency; rich
is not checked here because httpx loads it for its own command line when it is installed).
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import warungin_tui

UI_MODULES = ("app", "driver", "commands", "cli", "demo", "screens", "widgets", "monitoring.demo")
"""The UI and the entry points above it: the only modules allowed to load Textual."""


def package_modules() -> list[str]:
    found = pkgutil.walk_packages(warungin_tui.__path__, prefix="warungin_tui.")
    return sorted(module.name for module in found)


def is_ui(name: str) -> bool:
    relative = name.removeprefix("warungin_tui.")
    return any(relative == ui or relative.startswith(ui + ".") for ui in UI_MODULES)


def test_the_walk_finds_every_layer() -> None:
    names = package_modules()
    for expected in (
        "warungin_tui.engine.engine",
        "warungin_tui.report.model",
        "warungin_tui.steps.ssh",
        "warungin_tui.outcome",
        "warungin_tui.screens.phase",
    ):
        assert expected in names
    assert len(names) > 80


def test_every_module_imports() -> None:
    for name in package_modules():
        importlib.import_module(name)


def test_nothing_below_the_ui_loads_textual() -> None:
    below_ui = [name for name in package_modules() if not is_ui(name)]
    code = (
        "import importlib, sys\n"
        f"for name in {below_ui!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')\n"
        "assert not bad, bad[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
