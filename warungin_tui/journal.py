"""Append-only JSONL journal: one event a line, fsynced, each line chained to the last by sha256."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


class JournalError(Exception):
    title = "Journal problem"


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def line_hash(prev: str, body: dict[str, Any]) -> str:
    """The hash covers the previous line's hash and this line's content (without its own hash)."""
    return hashlib.sha256(prev.encode() + _canonical(body)).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Journal:
    """Writes events durably before anyone sees them; mode 0600: logs may hold host details."""

    def __init__(self, path: Path, tail: tuple[int, str] | None = None) -> None:
        """`tail`: (records, last hash) of this file as the caller just read it (resume parses
        a journal once); without it the file is read here."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if tail is None:
            records = read_journal(path) if path.exists() else []
            tail = (len(records), records[-1]["hash"] if records else GENESIS)
        if path.exists():
            _drop_torn_tail(path)
        self.seq, self.prev = tail
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(self._fd, 0o600)

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        body = {"seq": self.seq, "at": now_iso(), "prev": self.prev, "event": event}
        record = {**body, "hash": line_hash(self.prev, body)}
        os.write(self._fd, _canonical(record) + b"\n")
        os.fsync(self._fd)
        self.seq += 1
        self.prev = record["hash"]
        return record

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _drop_torn_tail(path: Path) -> None:
    """A crash mid-write can leave a last line without its newline: it never happened."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        with open(path, "r+b") as handle:
            handle.truncate(keep)
            os.fsync(handle.fileno())


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete record; a torn last line is ignored, any other bad line is an error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"{path}: cannot be read ({exc.strerror})") from None
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    del tail  # the bytes after the last newline are a torn write
    records = []
    for number, raw in enumerate(complete, start=1):
        try:
            record = json.loads(raw)
            if not isinstance(record, dict) or "event" not in record:
                raise ValueError("not a journal record")
        except ValueError:
            raise JournalError(f"{path}: line {number} is not a journal record") from None
        records.append(record)
    return records


FINISHED_MARK = b'"type":"run_finished"'
"""In canonical JSON a quote inside a string is escaped, so this only occurs as a real key."""


def journal_outline(path: Path) -> tuple[dict[str, Any], bool] | None:
    """The first event and whether the run finished, parsing only those lines (listing past
    runs must not parse every journal); None when the first line is not a record."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    end = data.find(b"\n")
    try:
        first = json.loads(data[:end]) if end > 0 else None
    except ValueError:
        return None
    if not isinstance(first, dict) or not isinstance(first.get("event"), dict):
        return None
    at = data.rfind(FINISHED_MARK)
    while at >= 0:
        start, stop = data.rfind(b"\n", 0, at) + 1, data.find(b"\n", at)
        try:
            record = json.loads(data[start:stop]) if stop >= 0 else None
        except ValueError:
            record = None  # a bad line is read_journal's to report, on resume
        event = record.get("event") if isinstance(record, dict) else None
        if isinstance(event, dict) and event.get("type") == "run_finished":
            return first["event"], True
        at = data.rfind(FINISHED_MARK, 0, start)
    return first["event"], False


@dataclass
class VerifyResult:
    ok: bool
    lines: int
    first_bad_line: int | None = None
    reason: str = ""


def verify_journal(path: Path) -> VerifyResult:
    """Check every line's hash and its link to the previous line; name the first broken one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return VerifyResult(False, 0, None, f"cannot be read ({exc.strerror})")
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    prev = GENESIS
    for number, raw in enumerate(raw_lines, start=1):
        try:
            record = json.loads(raw)
            stored = record.pop("hash")
        except (ValueError, KeyError, AttributeError, TypeError):
            return VerifyResult(False, len(raw_lines), number, "not a valid journal line")
        if record.get("prev") != prev:
            return VerifyResult(False, len(raw_lines), number, "does not follow the line before")
        if record.get("seq") != number - 1:
            return VerifyResult(False, len(raw_lines), number, "sequence number out of order")
        if line_hash(prev, record) != stored:
            return VerifyResult(False, len(raw_lines), number, "content does not match its hash")
        prev = stored
    return VerifyResult(True, len(raw_lines))
