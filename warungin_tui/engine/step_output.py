"""One step attempt's output on its way in: the first lines journaled (redacted, bounded), all
of them written to the attempt's side file (output_file.py), the rest counted.

Output enters the engine here, so it is redacted here: in the event loop only the lines the
journal keeps (one redactor per stream: a private key block may span batches), in the side
file's thread everything. Past the journal's limit nothing is journaled per batch (no fsync a
batch): the count of lines left out is journaled once, when the attempt ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warungin_tui.engine.output_file import (
    OutputFileSummary,
    OutputFileWriter,
    output_file_name,
    outputs_dir,
)
from warungin_tui.redact import LINE_CHARS, StreamRedactor

if TYPE_CHECKING:
    from warungin_tui.engine.events import JournalEvent

OUTPUT_JOURNAL_LIMIT = 5000
"""Lines per step attempt written to the journal; the side file has them all."""

Record = Callable[["JournalEvent"], object]


class OutputRecorder:
    """The output callback of one attempt (`await recorder(stream, lines)`); `finish` (or
    `finish_now` where nothing may be awaited) ends it and says what goes into step_finished."""

    def __init__(
        self,
        step_id: str,
        record: Record,
        journal_path: Path | None,
        attempt: int,
        limit: int = OUTPUT_JOURNAL_LIMIT,
    ) -> None:
        self.step_id = step_id
        self.record = record
        self.limit = limit
        self.journaled = 0
        self.dropped = 0
        self._redactors: dict[str, StreamRedactor] = {}
        self._file: OutputFileWriter | None = None
        self._file_error: str | None = None
        self._ended = False
        self._journal_path, self._attempt = journal_path, attempt

    def _open_file(self) -> OutputFileWriter | None:
        """The side file, created with the first line (a step that prints nothing has none)."""
        if self._file is None and self._file_error is None and self._journal_path is not None:
            name = output_file_name(self.step_id, self._attempt)
            folder = outputs_dir(self._journal_path)
            try:
                self._file = OutputFileWriter(folder / name, f"{folder.name}/{name}")
            except OSError as exc:  # the run goes on; the journal says why the file is missing
                self._file_error = f"cannot create the output file: {exc}"
        return self._file

    async def __call__(self, stream: str, lines: list[str]) -> None:
        if self._ended or not lines:
            return
        side_file = self._open_file()
        if side_file is not None:
            side_file.add(stream, lines)
        room = max(0, self.limit - self.journaled)
        kept = lines[:room]
        self.journaled += len(kept)
        self.dropped += len(lines) - len(kept)
        if kept:
            redactor = self._redactors.setdefault(stream, StreamRedactor())
            clean = redactor.lines(kept, LINE_CHARS)
            self.record(
                {"type": "step_output", "step": self.step_id, "stream": stream, "lines": clean}
            )

    async def finish(self) -> dict[str, Any] | None:
        """Wait for the side file (in a thread: its backlog is written meanwhile), then end."""
        # A long output's backlog is waited for in a thread; a short one's (at most the lines
        # the journal keeps) inline, so a short step adds no await point (no reordering).
        if self._file is not None and not self._ended and self._file.queued > self.limit:
            await asyncio.to_thread(self._file.close)
        return self.finish_now()

    def finish_now(self) -> dict[str, Any] | None:
        """Journal the count of lines left out; step_finished's `output_file` (once), or None."""
        if self._ended:
            return None
        self._ended = True
        if self.dropped:
            self.record(
                {
                    "type": "step_output",
                    "step": self.step_id,
                    "stream": "stdout",
                    "lines": [],
                    "dropped": self.dropped,
                }
            )
        if self._file is not None:
            summary: OutputFileSummary = self._file.close()
            return summary.as_event()
        if self._file_error is not None:
            return {"error": self._file_error}
        return None
