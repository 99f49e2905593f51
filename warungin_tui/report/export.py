"""Write the deployment log (Markdown + JSON) to disk: owner-only files, written atomically."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warungin_tui.config import Config, ConfigError, archive_dir, parse_config
from warungin_tui.engine.events import JournalEvent
from warungin_tui.engine.run import Run, rebuild_run
from warungin_tui.errors import WarunginError
from warungin_tui.files import make_private_dir as _make_dir
from warungin_tui.files import write_private as _write_private
from warungin_tui.journal import JournalError, read_journal, split_torn_tail, verify_journal
from warungin_tui.playbook import build_playbook
from warungin_tui.report.format import parse_at
from warungin_tui.report.model import JournalInfo, build_report, markdown_of

__all__ = [
    "ExportError",
    "export_journal",
    "export_recorded",
    "export_run",
    "export_paths",
    "journal_info",
]

Recorder = Callable[["JournalEvent"], object]
"""Appends one event to the run's journal (the engine's `record`)."""


class ExportError(WarunginError):
    """An export that cannot be made; `title` names the problem, the message says what to do."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title


def export_paths(run: Run, out_dir: Path, *, now: datetime | None = None) -> tuple[Path, Path]:
    """deployment-<YYYY-MM-DD>-<run id>.md/.json, dated by the run's start (UTC)."""
    started = parse_at(run.started_at) or now or datetime.now(UTC)
    # The run id comes from a file on disk: keep only filename-safe characters.
    run_id = re.sub(r"[^A-Za-z0-9._-]", "_", run.run_id or "unknown-run").lstrip(".")
    stem = f"deployment-{started:%Y-%m-%d}-{run_id}"
    return out_dir / f"{stem}.md", out_dir / f"{stem}.json"


def journal_info(path: Path) -> JournalInfo:
    """Chain verification, line count, final hash and recording tool version of a journal."""
    result = verify_journal(path)
    try:
        # A torn last line (a crash during a write) is never part of the journal.
        lines = [line for line in split_torn_tail(path.read_bytes())[0] if line.strip()]
    except OSError:
        lines = []
    first = _record(lines[0]) if lines else {}
    last = _record(lines[-1]) if lines else {}
    event = first.get("event")
    return JournalInfo(
        path=str(path),
        lines=result.lines,
        chain_ok=result.ok,
        last_hash=last.get("hash"),
        first_bad_line=result.first_bad_line,
        problem=result.reason,
        torn_tail=result.torn_tail,
        recorded_with=event.get("tool_version") if isinstance(event, dict) else None,
        recorded_playbook=event.get("playbook") if isinstance(event, dict) else None,
    )


def _record(raw: bytes) -> dict[str, Any]:
    try:
        record = json.loads(raw)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def export_run(
    run: Run,
    config: Config,
    out_dir: Path,
    *,
    journal_path: Path | None = None,
    now: datetime | None = None,
) -> list[Path]:
    """Write both files; returns their paths (Markdown first)."""
    now = now or datetime.now(UTC)
    journal = journal_info(journal_path) if journal_path is not None else None
    report = build_report(run, config, now=now, journal=journal)
    md_path, json_path = export_paths(run, out_dir, now=now)
    try:
        _make_dir(out_dir)
        _write_private(md_path, markdown_of(report).encode("utf-8"))
        text = json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"
        _write_private(json_path, text.encode("utf-8"))
    except OSError as exc:
        where = exc.filename or out_dir
        raise ExportError("Cannot write export", f"{where}: {exc.strerror or exc}") from None
    return [md_path, json_path]


def export_recorded(
    run: Run,
    config: Config,
    out_dir: Path,
    *,
    journal_path: Path | None,
    record: Recorder,
    now: datetime | None = None,
) -> list[Path]:
    """The wizard's export, bound to its journal exactly as `warungin-tui export` is.

    The journal names the files first (`export_written`), then the files are written naming the
    journal's last line, that one: the export's final sha256 is the journal's final sha256 until
    the run goes on. A write that fails is recorded next (`export_failed`), so the journal never
    claims files that are not there.
    """
    paths = [str(p) for p in export_paths(run, out_dir, now=now)]
    record({"type": "export_written", "paths": paths})
    try:
        return export_run(run, config, out_dir, journal_path=journal_path, now=now)
    except ExportError as exc:
        record({"type": "export_failed", "paths": paths, "error": f"{exc.title}: {exc}"})
        raise


def export_journal(journal_path: Path, out_dir: Path | None = None) -> list[Path]:
    """Rebuild config, playbook and run from a journal alone, then export.

    A broken hash chain does not stop the export (the log is still the best record there is);
    the header says so in bold. A journal that cannot be read or is not a run journal does.
    """
    journal_path = Path(journal_path)
    if not journal_path.is_file():
        raise ExportError("Journal not found", "no such file (give the path of a run-*.jsonl)")
    try:
        records = read_journal(journal_path)
    except JournalError as exc:
        raise ExportError("Journal unreadable", _without_path(str(exc), journal_path)) from None
    first = records[0]["event"] if records else {}
    if (
        not isinstance(first, dict)
        or first.get("type") != "run_started"
        or not isinstance(first.get("config"), dict)
    ):
        raise ExportError(
            "Not a run journal", "its first line is not a run_started event with the run's config"
        )
    try:
        config = parse_config(first["config"])
        playbook = build_playbook(config)
    except ConfigError as exc:
        raise ExportError("Recorded config unusable", "; ".join(exc.lines)) from None
    try:
        run = rebuild_run(playbook, records)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ExportError(
            "Journal does not fit the playbook",
            f"a record could not be replayed ({type(exc).__name__}: {exc}); was the run made "
            "with another playbook?",
        ) from None
    return export_run(run, config, out_dir or archive_dir(config), journal_path=journal_path)


def _without_path(message: str, path: Path) -> str:
    # The CLI already prints the path in front of the message.
    return message.removeprefix(f"{path}: ")
