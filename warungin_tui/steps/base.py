"""What every step executor receives and returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warungin_tui.config import Config
from warungin_tui.redact import DETAIL_CHARS, STRING_CHARS, redact_value
from warungin_tui.run import StepStatus

if TYPE_CHECKING:
    from warungin_tui.remote import Remote
    from warungin_tui.steps.http import HttpProber

OutputSink = Callable[[str, list[str]], Awaitable[None]]
ProgressSink = Callable[[dict[str, Any]], None]


@dataclass
class Outcome:
    status: StepStatus
    detail: str = ""
    exit_code: int | None = None
    value: Any = None
    captures: dict[str, Any] = field(default_factory=dict)
    command: str | None = None

    def redacted(self) -> Outcome:
        """Every field redacted, however deep, and cut to a sane length: what the engine keeps."""
        return Outcome(
            self.status,
            redact_value(self.detail, DETAIL_CHARS),
            self.exit_code,
            redact_value(self.value, STRING_CHARS),
            redact_value(self.captures, STRING_CHARS),
            redact_value(self.command, STRING_CHARS) if self.command else self.command,
        )


@dataclass
class StepContext:
    config: Config
    values: Mapping[str, Any]
    output: OutputSink
    progress: ProgressSink
    remote: Remote | None = None
    http: HttpProber | None = None
    host_record: str | None = None
    """Where the command leaves its record on the host (hostrecords.record_dir), if anywhere."""

    def seconds(self, template: str) -> float:
        from warungin_tui.templating import render_plain

        return float(render_plain(template, self.values))

    def require_remote(self) -> Remote:
        if self.remote is None:
            raise RuntimeError("this step needs an SSH connection")
        return self.remote
