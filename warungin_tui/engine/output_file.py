"""The complete output of one step attempt, redacted, in a gzip side file beside the journal.

The journal keeps the first lines of each attempt (bounded); this file keeps all of them, so
nothing is lost and the journal stays small. Redaction, compression and hashing run in a
thread of their own, in large chunks, off the event loop the UI shares. The file's sha256 and
line count go into the attempt's `step_finished` event; `read_full_output` reads it back.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from warungin_tui.redact import LINE_CHARS, StreamRedactor

OUTPUTS_SUFFIX = ".outputs"
CHUNK_LINES = 1000
COMPRESS_LEVEL = 1
"""Fast: a build log compresses ~10x at level 1 too, and the writer keeps up with sshd."""


def outputs_dir(journal_path: Path) -> Path:
    """`run-X.jsonl` -> `run-X.outputs/`, beside the journal."""
    return journal_path.with_name(journal_path.stem + OUTPUTS_SUFFIX)


def output_file_name(step_id: str, attempt: int) -> str:
    return f"{step_id}-{attempt}.log.gz"


@dataclass(frozen=True)
class OutputFileSummary:
    """What the journal records of a side file: where, its sha256 (of the file as stored,
    so `sha256sum` checks it), the lines in it, and why it is incomplete, if it is."""

    name: str
    """Relative to the journal's folder: `run-X.outputs/<step>-<attempt>.log.gz`."""
    sha256: str
    lines: int
    error: str | None = None

    def as_event(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "sha256": self.sha256, "lines": self.lines}
        if self.error:
            data["error"] = self.error
        return data


class _HashingWriter:
    """A binary sink that hashes what passes through it (the compressed bytes)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


_Batch = tuple[str, list[str]]


class OutputFileWriter:
    """Writes one attempt's output: `add` queues a batch (never blocks), `close` waits for the
    writer thread and returns the summary. Each stream has its own redactor (a private key
    block may span batches), so every line that reaches the file has been redacted."""

    def __init__(self, path: Path, name: str) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = os.open(path, flags, 0o600)
        os.fchmod(fd, 0o600)
        self.path, self.name = path, name
        self._raw = os.fdopen(fd, "wb")
        self._sink = _HashingWriter(self._raw)
        self._gzip = gzip.GzipFile(
            filename="", mode="wb", fileobj=self._sink, compresslevel=COMPRESS_LEVEL, mtime=0
        )
        self._redactors: dict[str, StreamRedactor] = {}
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self.lines = 0
        self.queued = 0
        """Lines handed over so far (`lines`: those written)."""
        self._error: str | None = None
        self._summary: OutputFileSummary | None = None
        self._thread = threading.Thread(target=self._write_all, name=f"output {name}", daemon=True)
        self._thread.start()

    def add(self, stream: str, lines: list[str]) -> None:
        if lines and self._summary is None:
            self.queued += len(lines)
            self._queue.put((stream, lines))

    def close(self) -> OutputFileSummary:
        """Blocks until every queued line is written (call it in a thread from async code)."""
        if self._summary is None:
            self._queue.put(None)
            self._thread.join()
            try:
                self._gzip.close()
                self._raw.close()
            except OSError as exc:
                self._error = self._error or f"cannot write the output file: {exc}"
            digest = self._sink.digest.hexdigest()
            self._summary = OutputFileSummary(self.name, digest, self.lines, self._error)
        return self._summary

    def _write_all(self) -> None:
        done = False
        while not done:
            batches: list[_Batch] = []
            item = self._queue.get()
            while item is not None:
                batches.append(item)
                if self._queue.empty():
                    break
                item = self._queue.get_nowait()  # drain: redact in large chunks
            done = item is None
            if self._error is None:
                try:
                    self._write(batches)
                except (OSError, ValueError) as exc:
                    self._error = f"cannot write the output file: {exc}"

    def _write(self, batches: list[_Batch]) -> None:
        """Consecutive batches of one stream are redacted as one chunk of at most CHUNK_LINES:
        long enough to be cheap a line, short enough that no single call holds the GIL long."""
        index = 0
        while index < len(batches):
            stream, lines = batches[index][0], list(batches[index][1])
            index += 1
            while (
                index < len(batches)
                and batches[index][0] == stream
                and len(lines) + len(batches[index][1]) <= CHUNK_LINES
            ):
                lines.extend(batches[index][1])
                index += 1
            redactor = self._redactors.setdefault(stream, StreamRedactor())
            text = redactor.text(lines, LINE_CHARS) + "\n"  # redaction keeps the line count
            self._gzip.write(text.encode("utf-8", "replace"))
            self.lines += len(lines)


def read_full_output(path: Path) -> Iterator[str]:
    """The lines of a side file (already redacted), without their newlines, read lazily: a
    200,000-line build is never held in memory whole."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="\n") as handle:
        for line in handle:
            yield line.removesuffix("\n")


def output_file_path(journal_path: Path, name: str) -> Path:
    """The side file a `step_finished` event's `output_file.name` refers to."""
    return journal_path.parent / name
