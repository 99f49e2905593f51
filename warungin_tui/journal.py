"""Append-only JSONL journal: one event a line, fsynced, each line chained to the last by sha256."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warungin_tui.errors import WarunginError

GENESIS = "0" * 64


class JournalError(WarunginError):
    title = "Journal problem"


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def line_hash(prev: str, body: dict[str, Any]) -> str:
    """The hash covers the previous line's hash and this line's content (without its own hash)."""
    return hashlib.sha256(prev.encode() + _canonical(body)).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class JournalLocked(JournalError):
    """Another process has this run open for writing; `holder` says who (pid, operator, host)."""

    title = "Run open elsewhere"

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path, self.holder = path, holder
        super().__init__(f"{path.name} is open in {describe_holder(holder)}")


def holder_path(path: Path) -> Path:
    """The sidecar beside a journal naming the process that has it open for writing."""
    return path.with_name(path.name + ".holder")


def describe_holder(holder: dict[str, Any]) -> str:
    who = holder.get("operator") or "an unnamed operator"
    return (
        f"process {holder.get('pid', '?')} on {holder.get('host', '?')} "
        f"({who}, since {holder.get('since', '?')})"
    )


def journal_holder(path: Path) -> dict[str, Any] | None:
    """Who has the journal open for writing, or None when nobody does (the OS lock is free)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(path)
    finally:
        os.close(fd)  # closing drops a lock we may have got
    return None


def _read_holder(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(holder_path(path).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


class Journal:
    """Writes events durably before anyone sees them; mode 0600: logs may hold host details.

    One process per journal: an OS lock (flock, released by the kernel when the process dies)
    is held while the journal is open; a second opener gets JournalLocked naming the holder.
    The headless monitor is the one other writer a run has (`exclusive=False`, with its own
    monitor lock): every append holds the short append lock beside the journal and first
    catches up with lines the other writer added, so both keep one hash chain.
    """

    def __init__(
        self,
        path: Path,
        *,
        operator: str = "",
        tail: tuple[int, str, int] | None = None,
        exclusive: bool = True,
    ) -> None:
        """`tail`: (records, last hash, size) of this file as the caller read it: when the
        file still has that size once locked, it is not parsed again (resume parses once)."""
        self.path = path
        self.exclusive = exclusive
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if exclusive:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._fd)
                self._fd = -1
                raise JournalLocked(path, _read_holder(path)) from None
        os.fchmod(self._fd, 0o600)
        self._append_lock = os.open(append_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
        self.holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "operator": operator,
            "since": now_iso(),
        }
        if exclusive:
            self._write_holder()
        with self._appending():  # the other writer appends only under this lock
            if tail is not None and os.fstat(self._fd).st_size == tail[2]:
                self.seq, self.prev = tail[0], tail[1]
            else:
                records = read_journal(path)
                self.seq = len(records)
                self.prev = records[-1]["hash"] if records else GENESIS
            _drop_torn_tail(path)
            self._size = os.fstat(self._fd).st_size
        self.unseen: list[dict[str, Any]] = []
        """Records the other writer appended, in order, until the owner folds them."""

    def set_operator(self, operator: str) -> None:
        self.holder["operator"] = operator
        if self.exclusive:
            self._write_holder()

    def _write_holder(self) -> None:
        sidecar = holder_path(self.path)
        temporary = sidecar.with_name(sidecar.name + ".new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.holder, handle)
        os.replace(temporary, sidecar)

    @contextmanager
    def _appending(self) -> Iterator[None]:
        fcntl.flock(self._append_lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._append_lock, fcntl.LOCK_UN)

    def assume(self, records: int, last_hash: str, size: int) -> None:
        """The caller folded the first `records` lines (the file's first `size` bytes)."""
        self.seq, self.prev, self._size = records, last_hash, size
        self.unseen = []

    def read_all(self) -> list[dict[str, Any]]:
        """Every record, read under the append lock: the state to fold and to append after."""
        with self._appending():
            records = read_journal(self.path)
            self._size = os.fstat(self._fd).st_size
        self.seq = len(records)
        self.prev = records[-1]["hash"] if records else GENESIS
        self.unseen = []
        return records

    def catch_up(self) -> None:
        """Take in lines the other writer appended since ours (into `unseen`)."""
        with self._appending():
            if os.fstat(self._fd).st_size != self._size:
                self._catch_up()

    def drain_unseen(self) -> list[dict[str, Any]]:
        unseen, self.unseen = self.unseen, []
        return unseen

    def append(self, event: Mapping[str, Any]) -> dict[str, Any]:
        with self._appending():
            if os.fstat(self._fd).st_size != self._size:
                self._catch_up()
            body = {"seq": self.seq, "at": now_iso(), "prev": self.prev, "event": event}
            record: dict[str, Any] = {**body, "hash": line_hash(self.prev, body)}
            os.write(self._fd, _canonical(record) + b"\n")
            os.fsync(self._fd)
            self._size = os.fstat(self._fd).st_size
        self.seq += 1
        self.prev = record["hash"]
        return record

    def _catch_up(self) -> None:
        """Take seq and prev from the last line the other writer appended (called locked)."""
        records = read_journal(self.path)
        self.unseen.extend(r for r in records if r["seq"] >= self.seq)
        if records:
            self.seq, self.prev = records[-1]["seq"] + 1, records[-1]["hash"]
        self._size = os.fstat(self._fd).st_size

    def close(self) -> None:
        if self._fd >= 0:
            if self.exclusive:
                holder_path(self.path).unlink(missing_ok=True)  # before the lock goes
            os.close(self._fd)
            os.close(self._append_lock)
            self._fd = -1


def append_lock_path(path: Path) -> Path:
    """Held for the moment of one append (or catching up), by whichever writer appends."""
    return path.with_name(path.name + ".append.lock")


TORN_LAST_LINE = "incomplete last line (crash during a write)"


def split_torn_tail(data: bytes) -> tuple[list[bytes], bytes]:
    """The journal's complete lines, and its torn last line (b"" when there is none).

    A crash during a write can spoil only the last line: bytes after the last newline, or a
    last line that is not JSON (a filesystem may leave zeros). Such a line never happened;
    verify-log, export and resume all read a journal through this one function.
    """
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    if tail:
        return complete, tail
    # One bad line alone is no journal at all (read_journal names it), not a torn one.
    if len(complete) > 1 and not _is_json_object(complete[-1]):
        return complete[:-1], complete[-1] + b"\n"
    return complete, b""


def _is_json_object(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


def _drop_torn_tail(path: Path) -> None:
    """A crash mid-write can leave a torn last line: it never happened, so it goes. Only the
    end of the file is read (split_torn_tail's rule needs the last two lines), not the whole
    journal again."""
    with open(path, "r+b") as handle:
        size = os.fstat(handle.fileno()).st_size
        window = TORN_TAIL_WINDOW
        while True:
            start = max(0, size - window)
            handle.seek(start)
            data = handle.read()
            torn = _torn_end(data, whole_file=start == 0)
            if torn is not None:
                break
            window *= 4
        if torn:
            handle.truncate(size - len(torn))
            os.fsync(handle.fileno())


TORN_TAIL_WINDOW = 65_536


def _torn_end(data: bytes, *, whole_file: bool) -> bytes | None:
    """split_torn_tail's torn line for the file ending with `data`; None when `data` (not the
    whole file) is too short to tell."""
    last_newline = data.rfind(b"\n")
    if not data.endswith(b"\n"):
        return data[last_newline + 1 :] if last_newline >= 0 or whole_file else None
    before = data.rfind(b"\n", 0, len(data) - 1)
    if before < 0:  # one line in the window: alone in the file it is never torn
        return b"" if whole_file else None
    last = data[before + 1 :]
    return b"" if _is_json_object(last[:-1]) else last


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete record; a torn last line is ignored, any other bad line is an error."""
    return list(iter_journal(path))


def iter_journal(path: Path) -> Iterator[dict[str, Any]]:
    """read_journal's records one at a time: a fold that keeps no list of them leaves the
    garbage collector nothing to walk again and again (resume of a long run)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"{path}: cannot be read ({exc.strerror})") from None
    complete, _ = split_torn_tail(data)
    del data
    for number, raw in enumerate(complete, start=1):
        try:
            record = json.loads(raw)
            if not isinstance(record, dict) or "event" not in record:
                raise ValueError("not a journal record")
        except ValueError:
            raise JournalError(f"{path}: line {number} is not a journal record") from None
        yield record


ENDED_MARKS = (b'"type":"run_finished"', b'"type":"run_abandoned"')
"""In canonical JSON a quote inside a string is escaped, so these only occur as real keys."""
ENDED_TYPES = ("run_finished", "run_abandoned")


def journal_outline(path: Path) -> tuple[dict[str, Any], bool] | None:
    """The first event and whether the run ended (finished or abandoned), parsing only those
    lines (listing past runs must not parse every journal); None when the first line is not a
    record."""
    try:
        with path.open("rb") as handle:
            first_line = handle.readline()
            size = os.fstat(handle.fileno()).st_size
            # A run's end is its last line or close to it: the tail alone settles a finished
            # run (reading only that much keeps a folder of past runs cheap to list).
            handle.seek(max(len(first_line), size - OUTLINE_TAIL_BYTES))
            tail = handle.read()
    except OSError:
        return None
    try:
        first = json.loads(first_line) if first_line.endswith(b"\n") else None
    except ValueError:
        return None
    if not isinstance(first, dict) or not isinstance(first.get("event"), dict):
        return None
    newline = tail.find(b"\n")
    if _ended_in(tail[newline + 1 :] if size > len(first_line) + len(tail) else tail):
        return first["event"], True
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return first["event"], _ended_in(data)


OUTLINE_TAIL_BYTES = 16_384


def _ended_in(data: bytes) -> bool:
    """Whether these whole lines hold a run_finished or run_abandoned record."""
    for mark in ENDED_MARKS:
        at = data.rfind(mark)
        while at >= 0:
            start, stop = data.rfind(b"\n", 0, at) + 1, data.find(b"\n", at)
            try:
                record = json.loads(data[start:stop]) if stop >= 0 else None
            except ValueError:
                record = None  # a bad line is read_journal's to report, on resume
            event = record.get("event") if isinstance(record, dict) else None
            if isinstance(event, dict) and event.get("type") in ENDED_TYPES:
                return True
            at = data.rfind(mark, 0, start)
    return False


@dataclass
class VerifyResult:
    ok: bool
    lines: int
    first_bad_line: int | None = None
    reason: str = ""
    torn_tail: bool = False
    """The last line was torn by a crash during a write (not counted, as resume ignores it)."""
    last_hash: str | None = None
    """The sha256 of the last line, when the whole chain holds."""


def verify_journal(path: Path) -> VerifyResult:
    """Check every line's hash and its link to the previous line; name the first broken one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return VerifyResult(False, 0, None, f"cannot be read ({exc.strerror})")
    raw_lines, torn = split_torn_tail(data)
    result = _verify_lines(raw_lines)
    result.torn_tail = bool(torn)
    return result


def _verify_lines(raw_lines: list[bytes]) -> VerifyResult:
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
    return VerifyResult(True, len(raw_lines), last_hash=prev if raw_lines else None)


def unfinished_journals(journal_dir: Path, target_label: str) -> Iterator[Path]:
    """Journals of unfinished runs against this target, newest first. Only each journal's first
    line and its run_finished line are parsed: finished runs cost a read, not a parse."""
    if not journal_dir.is_dir():
        return
    for path in sorted(journal_dir.glob("run-*.jsonl"), reverse=True):
        outline = journal_outline(path)
        if outline is None:
            continue
        first, finished = outline
        if first.get("type") == "run_started" and first.get("target") == target_label:
            if not finished:
                yield path


def find_unfinished_run(journal_dir: Path, target_label: str) -> Path | None:
    """The newest journal of an unfinished run against this target, if any."""
    return next(unfinished_journals(journal_dir, target_label), None)
