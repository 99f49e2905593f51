"""What runs inside the emulated containers for `docker compose exec`: psql, pg_dump,
pg_isready and redis-cli, printing what the real programs print.

Standard library only (imported by the docker shim).
"""

from __future__ import annotations

import getopt
import re
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from warungin_tui.sandbox import formats, scenarios
from warungin_tui.sandbox.state import StateStore

KNOWN_ROLES = ("warungin", "postgres")
KNOWN_DATABASES = ("warungin", "postgres")
PG_SOCKET = '"/var/run/postgresql/.s.PGSQL.5432"'


def run(service: str, argv: list[str], store: StateStore) -> int:
    """Run `argv` in `service`'s container; print its output; return its exit status."""
    if argv[0] in ("sh", "bash", "/bin/sh", "/bin/bash") and argv[1:2] == ["-c"] and argv[2:]:
        # A one-command shell script: split it and run the command (no pipes, no expansion).
        argv = shlex.split(argv[2])
    programs: dict[str, Callable[[list[str], StateStore], int]] = {}
    if service == "postgres":
        programs = {"psql": psql, "pg_dump": pg_dump, "pg_isready": pg_isready}
    elif service == "redis":
        programs = {"redis-cli": redis_cli}
    program = programs.get(argv[0].rsplit("/", 1)[-1]) if argv else None
    if program is None:
        sys.stderr.write(
            "OCI runtime exec failed: exec failed: unable to start container process: "
            f'exec: "{argv[0]}": executable file not found in $PATH: unknown\n'
        )
        return 126
    return program(argv[1:], store)


def _connect(user: str, dbname: str) -> str | None:
    """psql's complaint when the role or database does not exist, else None."""
    if user not in KNOWN_ROLES:
        return f'FATAL:  role "{user}" does not exist'
    if dbname not in KNOWN_DATABASES:
        return f'FATAL:  database "{dbname}" does not exist'
    return None


def psql(args: list[str], store: StateStore) -> int:
    try:
        opts, rest = getopt.gnu_getopt(
            args,
            "U:d:c:h:p:tAXqw",
            [
                "username=",
                "dbname=",
                "command=",
                "tuples-only",
                "no-align",
                "no-psqlrc",
                "quiet",
                "host=",
                "port=",
            ],
        )
    except getopt.GetoptError as exc:
        sys.stderr.write(f"psql: error: {exc}\n")
        return 1
    given = dict(opts)
    user = given.get("-U", given.get("--username", "root"))
    dbname = given.get("-d", given.get("--dbname", rest[0] if rest else user))
    sql = given.get("-c", given.get("--command"))
    problem = _connect(user, dbname)
    if problem:
        sys.stderr.write(
            f"psql: error: connection to server on socket {PG_SOCKET} failed: {problem}\n"
        )
        return 2
    if sql is None:
        sys.stderr.write("psql: error: interactive sessions are not emulated; use -c\n")
        return 1
    keys = {key for key, _ in opts}
    shape = {
        "tuples_only": bool(keys & {"-t", "--tuples-only"}),
        "unaligned": bool(keys & {"-A", "--no-align"}),
    }
    answer = _query(sql, store)
    if isinstance(answer, str):
        sys.stderr.write(answer)
        return 1
    column, value, numeric = answer
    sys.stdout.write(formats.psql_table(column, [value], numeric=numeric, **shape))
    return 0


def _query(sql: str, store: StateStore) -> tuple[str, str, bool] | str:
    """(column, value, numeric) of a known one-row query, or psql's error text."""
    text = " ".join(sql.strip().rstrip(";").split())
    lower = text.lower()
    alias = re.search(r"\bas\s+\"?(\w+)\"?", text, re.I)
    if "count(" in lower and re.search(r"\bsessions\b", lower):
        return (alias.group(1) if alias else "count"), str(_sessions(store)), True
    if "count(" in lower and "pg_stat_activity" in lower:
        return (alias.group(1) if alias else "count"), "6", True
    if re.fullmatch(r"select\s+version\(\)", lower):
        return "version", formats.PG_VERSION, False
    if re.fullmatch(r"select\s+now\(\)", lower):
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        return (alias.group(1) if alias else "now"), now, False
    if re.fullmatch(r"select\s+1(\s+as\s+\w+)?", lower):
        return (alias.group(1) if alias else "?column?"), "1", True
    table = re.search(r"\bfrom\s+([\w.]+)", text, re.I)
    if table:
        return f'ERROR:  relation "{table.group(1)}" does not exist\n'
    first = text.split(" ", 1)[0] if text else ""
    return f'ERROR:  syntax error at or near "{first}"\n'


def _sessions(store: StateStore) -> int:
    """The active-session count; the first query of a run starts the drain clock."""
    now = time.time()
    with store.update() as st:
        extra = st["scenario_state"]
        first = extra.get("first_session_query_at")
        if first is None:
            extra["first_session_query_at"] = now
        return scenarios.active_sessions(st["scenario"], first, now)


def pg_dump(args: list[str], store: StateStore) -> int:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    sys.stdout.write(
        "--\n-- PostgreSQL database dump\n--\n\n"
        "-- Dumped from database version 15.10\n-- Dumped by pg_dump version 15.10\n"
        f"-- Started on {stamp}\n\nSET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n"
        "CREATE TABLE public.sessions (\n    id uuid NOT NULL,\n    user_id integer NOT NULL,\n"
        "    expires_at timestamp with time zone NOT NULL\n);\n\n"
        "--\n-- PostgreSQL database dump complete\n--\n\n"
    )
    return 0


def pg_isready(args: list[str], store: StateStore) -> int:
    sys.stdout.write("/var/run/postgresql:5432 - accepting connections\n")
    return 0


def redis_cli(args: list[str], store: StateStore) -> int:
    words = [a for a in args if not a.startswith("-")]
    answers = {"ping": "PONG", "dbsize": "(integer) 42"}
    reply = answers.get(words[0].lower(), "(error) ERR unknown command") if words else "PONG"
    sys.stdout.write(reply + "\n")
    return 0
