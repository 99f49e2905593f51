"""Recording a broken host lock in the holder's journal, when that journal is on this machine."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from warungin_tui.hostlock import HostLockError, LockHolder, jump_host
from warungin_tui.journal import Journal, JournalLocked, describe_holder, journal_holder, now_iso

BREAK_LOG = "host-lock.log"
"""In the journal folder: every unlock from the command line, one JSON line each."""


def holder_journal_path(holder: LockHolder | None) -> Path | None:
    """The holder's journal when it is a file on this machine, else None."""
    if holder is None or not holder.journal or holder.jump_host != jump_host():
        return None
    path = Path(holder.journal)
    return path if path.is_file() else None


def ensure_not_open_here(holder: LockHolder | None) -> None:
    """Refuse to break a lock whose run is open in a live process on this machine."""
    path = holder_journal_path(holder)
    if path is None:
        return
    open_in = journal_holder(path)
    if open_in is not None:
        raise HostLockError(
            f"the lock's run is open here in {describe_holder(open_in)}: it is not stale; "
            "quit that wizard (it keeps the lock until its run ends) instead of breaking it"
        )


def record_in_holder_journal(holder: LockHolder | None, event: Mapping[str, Any]) -> str | None:
    """Append `event` to the holder's journal if it is here and closed; the path, or None."""
    path = holder_journal_path(holder)
    if path is None:
        return None
    try:
        journal = Journal(path)
    except JournalLocked:
        return None
    try:
        journal.append(event)
    finally:
        journal.close()
    return str(path)


def append_break_log(folder: Path, holder: LockHolder | None, details: dict[str, Any]) -> Path:
    """Keep an unlock from the command line in the journal folder (0600, one JSON line)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / BREAK_LOG
    line = {"at": now_iso(), **details, "holder": asdict(holder) if holder else None}
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, sort_keys=True) + "\n")
    return path
