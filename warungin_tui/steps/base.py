"""What every step executor receives and returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warungin_tui.config import Config

if TYPE_CHECKING:
    from warungin_tui.remote_api import RemoteLink
    from warungin_tui.steps.http import HttpProber

OutputSink = Callable[[str, list[str]], Awaitable[None]]
ProgressSink = Callable[[dict[str, Any]], None]


@dataclass
class StepContext:
    config: Config
    values: Mapping[str, Any]
    output: OutputSink
    progress: ProgressSink
    remote: RemoteLink | None = None
    http: HttpProber | None = None
    host_record: str | None = None
    """Where the command leaves its record on the host (hostrecords.record_dir), if anywhere."""

    def seconds(self, template: str) -> float:
        from warungin_tui.templating import render_plain

        return float(render_plain(template, self.values))

    def require_remote(self) -> RemoteLink:
        if self.remote is None:
            raise RuntimeError("this step needs an SSH connection")
        return self.remote
