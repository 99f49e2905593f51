"""A command's output as it arrives: split into lines, cut when too long, handed over in batches."""

from __future__ import annotations

import asyncio
import inspect
import time

from warungin_tui.remote_api import OutputCallback
from warungin_tui.remote_errors import CommandResult

FLUSH_INTERVAL_S = 0.1  # output reaches the callback at least this often while it flows
MAX_BATCH_LINES = 1000  # ...in batches no larger than this (what a Log widget takes well)
MAX_LINE_CHARS = 10_000  # a longer line is cut (a 2.5 MB "line" must not reach the journal)
MAX_KEPT_CHARS = 1_000_000  # CommandResult keeps the last ~1 MB of each stream


class CommandOutput:
    """Splits chunks into lines and hands them to the callback in bounded, timely batches."""

    STREAMS = ("stdout", "stderr")

    def __init__(self, callback: OutputCallback | None) -> None:
        self.callback = callback
        self.kept: dict[str, list[str]] = {s: [] for s in self.STREAMS}
        self.kept_size = dict.fromkeys(self.STREAMS, 0)
        self.partial = dict.fromkeys(self.STREAMS, "")
        self.partial_cut = dict.fromkeys(self.STREAMS, 0)  # characters cut from `partial`
        self.pending: dict[str, list[str]] = {s: [] for s in self.STREAMS}
        self.last_flush = time.monotonic()
        # One flush at a time keeps batches in order and slows readers to the callback's pace.
        self.lock = asyncio.Lock()

    async def feed(self, stream: str, chunk: str) -> None:
        self.kept[stream].append(chunk)
        self.kept_size[stream] += len(chunk)
        if self.kept_size[stream] > 2 * MAX_KEPT_CHARS:  # trim now and then, not per chunk
            self.kept[stream], self.kept_size[stream] = [self.text(stream)], MAX_KEPT_CHARS
        if self.callback is None:
            return
        text = self.partial[stream] + chunk
        lines = text.split("\n")
        self.partial[stream] = lines.pop()
        carried = self.partial_cut[stream]
        if lines:  # what was cut from the unfinished line belongs to the first line ending now
            lines[0] = cut_line(lines[0], carried)
            if max(map(len, lines)) > MAX_LINE_CHARS:  # rare: not a Python call a line
                lines[1:] = [cut_line(line) for line in lines[1:]]
            carried = 0
        if len(self.partial[stream]) > MAX_LINE_CHARS:  # a line that never ends stays bounded
            carried += len(self.partial[stream]) - MAX_LINE_CHARS
            self.partial[stream] = self.partial[stream][:MAX_LINE_CHARS]
        self.partial_cut[stream] = carried
        if "\r" in text:
            lines = [line.removesuffix("\r") for line in lines]
        self.pending[stream].extend(lines)
        if len(self.pending[stream]) >= MAX_BATCH_LINES or (
            time.monotonic() - self.last_flush >= FLUSH_INTERVAL_S
        ):
            await self.flush()

    async def flush(self, final: bool = False) -> None:
        """Hand pending lines over; `final` adds a last line that had no newline."""
        async with self.lock:
            self.last_flush = time.monotonic()
            for stream in self.STREAMS:
                if final and self.partial[stream]:
                    last = cut_line(self.partial[stream], self.partial_cut[stream])
                    self.pending[stream].append(last.removesuffix("\r"))
                    self.partial[stream], self.partial_cut[stream] = "", 0
                while self.pending[stream] and self.callback is not None:
                    batch = self.pending[stream][:MAX_BATCH_LINES]
                    del self.pending[stream][:MAX_BATCH_LINES]
                    if inspect.isawaitable(outcome := self.callback(stream, batch)):
                        await outcome

    def result(
        self, command: str, status: int | None, timed_out: bool, started: float
    ) -> CommandResult:
        """What the command left: no exit status when the host's deadline ended it."""
        return CommandResult(
            command,
            None if timed_out else status,
            self.text("stdout"),
            self.text("stderr"),
            timed_out,
            time.monotonic() - started,
        )

    def text(self, stream: str) -> str:
        return "".join(self.kept[stream])[-MAX_KEPT_CHARS:]


def cut_line(line: str, already_cut: int = 0) -> str:
    """The line, at most MAX_LINE_CHARS of it, saying how much was cut."""
    cut = already_cut + max(0, len(line) - MAX_LINE_CHARS)
    if not cut:
        return line
    return f"{line[:MAX_LINE_CHARS]} [... {cut} more characters cut]"
