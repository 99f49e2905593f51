"""The config file before validation: where it is, its bytes, its TOML; and the error type.

No pydantic here: the wizard reads and parses the file (tomllib, a few ms) and has the models
check it in a child process while it imports its screens (config_beside.py); pydantic and the
13 config models are most of what the first frame would otherwise wait for.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from warungin_tui.errors import WarunginError

ENV_CONFIG = "WARUNGIN_TUI_CONFIG"
MAX_CONFIG_BYTES = 1024 * 1024
MAX_CONFIG_NESTING = 20  # of arrays and inline tables; the deepest real key needs 2


class ConfigError(WarunginError):
    """A config that cannot be used; `lines` are ready to print, one problem each."""

    title = "Bad config"

    def __init__(self, lines: list[str], path: Path | None = None) -> None:
        self.lines = lines
        self.path = path
        super().__init__("\n".join(lines))


def read_config_data(path: Path) -> dict[str, Any]:
    """The file's TOML as data, or a ConfigError saying why it cannot be read as a config."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)  # /dev/zero or a huge file must not fill memory
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError([f"{path}: larger than {MAX_CONFIG_BYTES // 1024} kB"], path)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"], path) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a folder, not a file"], path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot be read ({exc})"], path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {_one_line(str(exc))}"], path) from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        data = None
    if data is None or _nesting_depth(data) > MAX_CONFIG_NESTING:
        too_deep = f"nested too deeply (at most {MAX_CONFIG_NESTING} levels)"
        raise ConfigError([f"{path}: {too_deep}"], path)
    return data


def _nesting_depth(data: Any) -> int:
    """How deep tables and arrays nest (iterative: the value may be deeper than the stack)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        deepest = max(deepest, depth)
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
    return deepest


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 200 else flat[:200] + "..."


def user_config_path() -> Path:
    from platformdirs import user_config_path as _ucp

    return _ucp("warungin-tui") / "config.toml"


def resolve_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """--config, then $WARUNGIN_TUI_CONFIG, then ./warungin.toml, then the user config folder."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser()
    local = Path("warungin.toml")
    if local.exists():
        return local
    candidate = user_config_path()
    if candidate.exists():
        return candidate
    raise ConfigError(
        [
            "no config found: pass --config FILE, set WARUNGIN_TUI_CONFIG, create ./warungin.toml, "
            f"or {candidate} (start from sample_config.toml; or try `warungin-tui demo`)"
        ]
    )
