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
    return json.dumps({"Name": f"warungin-{service}", "Service": service, "State": state,
                       "Health": health, "Status": "Up 2 minutes"})


def test_psql_count() -> None:
    parsed = PARSERS["psql_count"](inp(PSQL_COUNT, ["active_sessions"]))
    assert parsed.ok and parsed.key == "3" and parsed.captures == {"active_sessions": 3}


def test_compose_ready_in_both_json_shapes() -> None:
    lines = "\n".join([ps_line("postgres"), ps_line("backend"), ps_line("loki", health="")])
    assert PARSERS["compose_services"](inp(lines)).ok
    array = json.dumps([json.loads(line) for line in lines.splitlines()])
    parsed = PARSERS["compose_services"](inp(array, ["services_summary"]))
    assert parsed.ok and parsed.captures == {"services_summary": "3/3"}


def test_compose_starting_is_not_settled_but_unhealthy_is() -> None:
    starting = "\n".join([ps_line("postgres"), ps_line("backend", health="starting"),
                          ps_line("loki", health="")])
    parsed = PARSERS["compose_services"](inp(starting))
    assert not parsed.ok and not parsed.settled and "backend starting" in parsed.detail
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
