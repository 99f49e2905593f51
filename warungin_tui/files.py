"""Files the tool writes for people: owner-only (0700 folders, 0600 files), written atomically.

Used by the export and by the saved notification messages, so the UI writes no file itself.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from warungin_tui.engine.run import Run


def make_private_dir(out_dir: Path) -> None:
    if not out_dir.is_dir():
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(out_dir, 0o700)  # mkdir's mode is masked by the umask


def _write_all(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # whatever the umask did
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def create_private(path: Path, data: bytes) -> None:
    """A new file, 0600 from creation, fsynced; never replaces one (FileExistsError)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _write_all(fd, data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def write_private(path: Path, data: bytes) -> None:
    """Temp file (0600 from creation) + fsync + rename: readers see the old or the new file."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _write_all(fd, data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the file itself is synced
    finally:
        os.close(fd)


def notice_of(run: Run, step_id: str) -> dict[str, str] | None:
    """The filled-in message of a notification step, once it ran."""
    value = run.results[step_id].value
    return value if isinstance(value, dict) and "body" in value else None


def save_notice(run: Run, step_id: str, folder: Path) -> Path:
    """Write a notification step's message to `folder` (raises OSError, LookupError)."""
    notice = notice_of(run, step_id)
    if notice is None:
        raise LookupError("No message yet: run the step first.")
    path = folder / f"{run.run_id}-{step_id}.txt"
    make_private_dir(folder)
    text = f"Subject: {notice.get('subject', '')}\n\n{notice['body']}\n"
    write_private(path, text.encode("utf-8"))
    return path
