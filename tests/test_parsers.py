"""Output parsers: real formats pass, garbage gets a clear verdict instead of a traceback."""

from __future__ import annotations

import json

import pytest

from warungin_tui.steps.parsers import PARSERS, ParseInput

PSQL_COUNT = """ active_sessions
-----------------
               3
(1 row)

"""
SERVICES = ["postgres", "backend", "loki"]


def inp(stdout: str, captures: list[str] | None = None) -> ParseInput:
    return ParseInput(stdout, SERVICES, {"backup_max_age_hours": 24.0}, captures or [])


def ps_line(service: str, state: str = "running", health: str = "healthy") -> str:
    return json.dumps(
        {
            "Name": f"warungin-{service}",
            "Service": service,
            "State": state,
            "Health": health,
            "Status": "Up 2 minutes",
        }
    )


def test_psql_count() -> None:
    parsed = PARSERS["psql_count"](inp(PSQL_COUNT, ["active_sessions"]))
    assert parsed.ok and parsed.key == "3" and parsed.captures == {"active_sessions": 3}


def test_compose_ready_in_both_json_shapes() -> None:
    lines = "\n".join([ps_line("postgres"), ps_line("backend"), ps_line("loki", health="")])
    assert PARSERS["compose_services"](inp(lines)).ok
    array = json.dumps([json.loads(line) for line in lines.splitlines()])
    parsed = PARSERS["compose_services"](inp(array, ["services_summary"]))
    assert parsed.ok and parsed.captures == {"services_summary": "3/3"}


def test_compose_starting_and_unhealthy_may_recover_but_missing_cannot() -> None:
    starting = "\n".join(
        [ps_line("postgres"), ps_line("backend", health="starting"), ps_line("loki", health="")]
    )
    parsed = PARSERS["compose_services"](inp(starting))
    assert not parsed.ok and not parsed.settled and "backend starting" in parsed.detail
    assert parsed.recovering == []
    sick = "\n".join(
        [ps_line("postgres"), ps_line("backend", health="unhealthy"), ps_line("loki", health="")]
    )
    parsed = PARSERS["compose_services"](inp(sick))
    assert not parsed.ok and not parsed.settled and parsed.recovering == ["backend unhealthy"]
    bad = "\n".join([ps_line("postgres"), ps_line("backend", health="unhealthy")])
    parsed = PARSERS["compose_services"](inp(bad))
    assert not parsed.ok and parsed.settled
    assert "backend unhealthy" in parsed.detail and "loki missing" in parsed.detail


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize("garbage", ["", "\x00\xff garbage {", "[1, 2", "now abc\n1 2 3"])
def test_garbage_never_raises(name: str, garbage: str) -> None:
    parsed = PARSERS[name](inp(garbage, ["x"]))
    assert isinstance(parsed.detail, str)


def test_backup_age() -> None:
    fresh = PARSERS["backup_age"](inp("1000 10 /b/db-1.sql.gz\nnow 4600\n", ["db_backup_file"]))
    assert fresh.ok and "1.0 h old" in fresh.detail
    stale = PARSERS["backup_age"](inp("0 10 /b/db-1.sql.gz\nnow 360000\n"))
    assert not stale.ok and "older than the 24 h limit" in stale.detail
    none = PARSERS["backup_age"](inp("now 5\n"))
    assert not none.ok and "no database backup" in none.detail


def test_error_lines() -> None:
    clean = PARSERS["error_lines"](inp("warungin-backend  | INFO started\n"))
    assert clean.ok
    dirty = PARSERS["error_lines"](inp("a | INFO ok\nb | ERROR boom\nc | Error: x\n"))
    assert not dirty.ok and dirty.key == "2" and "ERROR boom" in dirty.detail


BACKUP_CAPTURES = ["backup_file", "backup_size", "backup_sha256"]
GOOD_BACKUP = {
    "backup_file": "/srv/w/backup-pre-deployment-20250101-020000-Ab12Cd34.tar.gz",
    "backup_size": "1048576",
    "backup_sha256": "0123456789abcdef" * 4,
}


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("backup_sha256", "", "not 64 hex digits"),
        ("backup_sha256", "abc", "not 64 hex digits"),
        ("backup_sha256", "Z" * 64, "not 64 hex digits"),
        ("backup_size", "", "not a positive number"),
        ("backup_size", "0", "not a positive number"),
        ("backup_size", "12kB", "not a positive number"),
        ("backup_file", "", "not an absolute .tar.gz path"),
        ("backup_file", "backup.tar.gz", "not an absolute .tar.gz path"),
    ],
)
def test_backup_archive_values_are_checked_for_what_they_are(
    field: str, value: str, says: str
) -> None:
    values = {**GOOD_BACKUP, field: value}
    stdout = "".join(f"{k}={v}\n" for k, v in values.items())
    parsed = PARSERS["backup_archive"](inp(stdout, BACKUP_CAPTURES))
    assert not parsed.ok and field in parsed.detail and says in parsed.detail
    assert parsed.captures == {}


def test_backup_archive_good_and_missing() -> None:
    stdout = "".join(f"{k}={v}\n" for k, v in GOOD_BACKUP.items()) + "-rw------- 1 d d 1M x\n"
    parsed = PARSERS["backup_archive"](inp(stdout, BACKUP_CAPTURES))
    assert parsed.ok and parsed.captures == GOOD_BACKUP
    missing = PARSERS["backup_archive"](inp("backup_file=/x.tar.gz\n", BACKUP_CAPTURES))
    assert not missing.ok and "backup_size" in missing.detail


def test_restore_preview_counts_what_goes_and_what_stays() -> None:
    stdout = "replace\t2\tbackend\nreplace\t1\tVERSION\nkeep\t2\tbackups/db\nchecked\n"
    parsed = PARSERS["restore_preview"](inp(stdout))
    assert parsed.ok and parsed.key == "3"
    assert parsed.detail == (
        "replaced or removed, newer than the backup: VERSION: 1 file, backend: 2 files; "
        "kept as they are: backups/db: 2 files newer than the backup"
    )
    nothing = PARSERS["restore_preview"](inp("checked\n"))
    assert nothing.ok and "nothing newer than the backup" in nothing.detail
    cut = PARSERS["restore_preview"](inp("replace\t2\tbackend\n"))
    assert not cut.ok and "could not be compared" in cut.detail
