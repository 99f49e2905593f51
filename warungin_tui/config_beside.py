"""The wizard's config, checked beside its start: a child process validates it while this one
imports the screens, and the start screen is drawn from what the child found.

pydantic and the 13 config models cost ~80 ms before anything could be drawn (the first frame's
whole margin over a bare Textual app; see README, Speed). The file is read and parsed here (a
few ms: a file that cannot be read or is not TOML is reported at once); a forked child runs the
models over that same data on the other core and answers with the few values the start screen
shows, or with every problem. A bad config still exits with code 2 and its list before any
screen is drawn. The models run again in this process right after the first frame
(`DeferredConfig.load`), over the same data, so the answer cannot differ.

Where a child cannot be forked (no `os.fork`, or threads already running, which a fork would
leave half-copied) or it dies without an answer, the models run here, before the first frame,
as they always did.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warungin_tui.config_source import ConfigError, read_config_data

if TYPE_CHECKING:
    from warungin_tui.config import Config

MAX_ANSWER_BYTES = 1 << 20
"""A child's answer is a few hundred bytes, or one line per problem of a bad config."""


@dataclass(frozen=True)
class StartInfo:
    """What the start screen shows and the app needs before the operator starts: validated."""

    label: str
    version: str
    branch: str
    project_dir: str
    operator_name: str
    journal_dir: str

    @classmethod
    def of(cls, config: Config) -> StartInfo:
        from warungin_tui.config import journal_dir

        return cls(
            config.target.label,
            config.release.version,
            config.release.branch,
            config.target.project_dir,
            config.operator.name,
            str(journal_dir(config)),
        )


class DeferredConfig:
    """A config file read and parsed, its validation running in a child (`start_info` waits
    for the child's answer; `load` builds the models here, once)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = read_config_data(path)  # ConfigError: unreadable, too large, not TOML
        self._config: Config | None = None
        self._info: StartInfo | None = None
        self._child: tuple[int, int] | None = _fork_validation(self.data, path)

    def start_info(self) -> StartInfo:
        """The validated start values, or the ConfigError listing every problem."""
        if self._info is None:
            answer = self._child_answer()
            if answer is None:  # no child, or it died: validate here
                self._info = StartInfo.of(self.load())
            elif "problems" in answer:
                raise ConfigError(list(answer["problems"]), self.path)
            else:
                self._info = StartInfo(**answer["start"])
        return self._info

    @property
    def built(self) -> bool:
        """Whether the models have been built in this process."""
        return self._config is not None

    def load(self) -> Config:
        """The config's models, built in this process (after the first frame, or on first use)."""
        if self._config is None:
            from warungin_tui.config import parse_config

            self._config = parse_config(self.data, self.path)
        return self._config

    def _child_answer(self) -> dict[str, Any] | None:
        if self._child is None:
            return None
        pid, read_end = self._child
        self._child = None
        raw = b""
        with contextlib.suppress(OSError), os.fdopen(read_end, "rb") as answer:
            raw = answer.read(MAX_ANSWER_BYTES)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        try:
            parsed = json.loads(raw)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None


def _fork_validation(data: dict[str, Any], path: Path) -> tuple[int, int] | None:
    """(pid, read end of the answer pipe), or None where no child can be forked safely."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return None
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: answer, then leave without running the parent's exit handlers
        code = 0
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as answer:  # a long answer is written whole
                answer.write(_validate(data, path))
        except BaseException:  # no answer: the parent validates itself
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def _validate(data: dict[str, Any], path: Path) -> bytes:
    from warungin_tui.config import parse_config

    try:
        answer: dict[str, Any] = {"start": asdict(StartInfo.of(parse_config(data, path)))}
    except ConfigError as exc:
        answer = {"problems": exc.lines}
    return json.dumps(answer).encode()
