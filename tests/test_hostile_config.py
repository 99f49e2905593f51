"""Hostile configs: `validate` exits 2 with exactly one line per problem, never a traceback."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.helpers import SAMPLE_CONFIG, run_cli
from warungin_tui.config import SEED_SERVICES

Mutation = Callable[[dict[str, Any]], None]


def sample() -> dict[str, Any]:
    return tomllib.loads(SAMPLE_CONFIG.read_text())


def _set(section: str, **values: Any) -> Mutation:
    return lambda data: data[section].update(values)


# Each case: what is changed, and the lines `validate` must print (one per problem, in order).
HOSTILE: dict[str, tuple[list[Mutation], list[str]]] = {
    "newline_in_host": (
        [_set("target", host="pos.example\nProxyCommand touch PWNED")],
        ["[target] host: must not contain spaces or control characters"],
    ),
    "nul_in_user": ([_set("target", user="deploy\x00root")], ["[target] user: "]),
    "long_host": (
        [_set("target", host="a" * 300_000)],
        ["[target] host: must be a host name or address (at most 253 characters)"],
    ),
    "tilde_project_dir": (
        [_set("target", project_dir="~/New-Warungin")],
        [
            '[target] project_dir: must be an absolute path on the server (starts with /); "~" '
            "is not expanded there"
        ],
    ),
    "dotdot_backup_dir": (
        [_set("target", backup_dir="/srv/../etc")],
        ["[target] backup_dir: must not contain `..`"],
    ),
    "relative_db_backups_dir": (
        [_set("database", backups_dir="backups/db")],
        ["[database] backups_dir: must be an absolute path on the server"],
    ),
    "infinite_timeout": (
        [_set("thresholds", command_timeout_seconds=float("inf"))],
        ["[thresholds] command_timeout_seconds: must be a finite number (not inf or nan)"],
    ),
    "nan_threshold": (
        [_set("thresholds", api_latency_ms=float("nan"))],
        ["[thresholds] api_latency_ms: must be a finite number (not inf or nan)"],
    ),
    "password_in_url": (
        [_set("endpoints", api="http://admin:pw@localhost:8000")],
        ["[endpoints] api: must not hold a password (user:password@)"],
    ),
    "user_in_url": (
        [_set("endpoints", frontend="https://admin@pos.example.internal")],
        ["[endpoints] frontend: must not hold a user name (user@)"],
    ),
    "option_as_branch": (
        [_set("release", branch="--upload-pack=touch PWNED;git-upload-pack")],
        ["[release] branch: '--upload-pack=touch PWNED;git-upload-pack' is not a git branch"],
    ),
    "shell_in_version": (
        [_set("release", version="1.1.0; touch PWNED")],
        ["[release] version: must be a plain version"],
    ),
    "template_in_service": (
        [_set("services", start_order=[["postgres", "redis", "{db_name}"], ["backend"]])],
        ["[services] start_order[0][2]: '{db_name}' is not a Compose service name"],
    ),
    "option_as_expected_service": (
        [_set("services", expected=["-d", "postgres"])],
        ["[services] expected[0]: '-d' is not a Compose service name"],
    ),
    "shell_in_db_name": (
        [_set("database", name="x; touch PWNED #")],
        ["[database] name: 'x; touch PWNED #' is not a PostgreSQL name"],
    ),
    "path_in_glob": (
        [_set("database", backups_glob="../*.sql.gz")],
        ["[database] backups_glob: must be a file-name pattern without `/`"],
    ),
    "newline_in_contact": (
        [_set("contacts", notify_to="All Staff\nBCC: everyone@example.com")],
        ["[contacts] notify_to: must not contain control characters"],
    ),
    "webhook_key_in_notify_command": (
        [
            _set(
                "notify",
                command=[
                    "curl",
                    "-d",
                    "@-",
                    "https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D/abcdefghijklmnopqrstuvwx",
                ],
            )
        ],
        ["[notify] command: holds a secret (a token, password or webhook key)"],
    ),
    "three_problems_three_lines": (
        [
            _set("target", host="bad host"),
            _set("release", branch="-x"),
            _set("thresholds", poll_interval_seconds=float("inf")),
        ],
        [
            "[target] host: must not contain spaces",
            "[release] branch: '-x' is not a git branch name",
            "[thresholds] poll_interval_seconds: must be a finite number",
        ],
    ),
}


def assert_lines(stderr: str, expected: list[str]) -> None:
    lines = stderr.splitlines()
    assert len(lines) == len(expected), stderr[:2000]
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith("warungin-tui: "), line[:300]
        assert start in line, line[:300]
    assert "Traceback" not in stderr


def hostile_file(tmp_path: Path, name: str) -> tuple[Path, list[str]]:
    """The sample config changed as HOSTILE[name] says, written out; and the lines expected."""
    mutations, expected = HOSTILE[name]
    data = sample()
    for mutate in mutations:
        mutate(data)
    path = tmp_path / "hostile.toml"
    path.write_text(tomli_w.dumps(data))
    return path, expected


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_config_exits_2_with_one_line_per_problem(tmp_path: Path, name: str) -> None:
    path, expected = hostile_file(tmp_path, name)
    result = run_cli("validate", str(path))
    assert result.returncode == 2, result
    assert_lines(result.stderr, expected)


RAW_FILES: dict[str, tuple[str | None, str]] = {
    "dev_zero": (None, "/dev/zero: larger than 1024 kB"),
    "deep_arrays": ("x = " + "[" * 50_000 + "]" * 50_000, "nested too deeply (at most 20 levels)"),
    "deep_tables": ("x = " + "{a = " * 25 + "1" + "}" * 25, "nested too deeply"),
    "ten_mb_host": (f'[target]\nhost = "{"h" * 10_000_000}"\n', "larger than 1024 kB"),
}


def raw_file(tmp_path: Path, name: str) -> tuple[Path, str]:
    """RAW_FILES[name] as a file (/dev/zero as itself); and the line expected."""
    text, expected = RAW_FILES[name]
    if text is None:
        return Path("/dev/zero"), expected
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path, expected


@pytest.mark.parametrize("name", sorted(RAW_FILES))
def test_unreadable_or_huge_config_gives_one_line(tmp_path: Path, name: str) -> None:
    path, expected = raw_file(tmp_path, name)
    result = run_cli("validate", str(path))
    assert result.returncode == 2, result
    assert_lines(result.stderr, [expected])


def test_sample_config_still_validates() -> None:
    result = run_cli("validate", str(SAMPLE_CONFIG))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("target", "host", "::1"),
        ("target", "host", "10.0.0.7"),
        ("target", "host", "pos-1.example.internal"),
        ("target", "user", "svc.deploy"),
        ("target", "user", "backup$"),
        ("target", "project_dir", "/srv/New Warungin"),
        ("release", "branch", "release/1.1"),
        ("release", "version", "v1.1.0-rc.1+build.7"),
        (
            "services",
            "expected",
            [*SEED_SERVICES, "my_service.v2"],
        ),  # fmt: skip
        ("database", "name", "warungin_prod"),
        ("database", "backups_glob", "warungin-*.sql.gz"),
        ("contacts", "tech_lead_phone", "+62 811-1234 (Sari Wijaya, ext. 7)"),
        ("endpoints", "api", "http://127.0.0.1:8000/"),
    ],
)
def test_ordinary_values_stay_accepted(section: str, key: str, value: Any) -> None:
    from warungin_tui.config import parse_config

    data = sample()
    data[section][key] = value
    if key == "expected":
        data["services"]["start_order"][-1].append("my_service.v2")
    parse_config(data)


@pytest.mark.parametrize(
    "name", ["three_problems_three_lines", "webhook_key_in_notify_command", "newline_in_host"]
)
def test_the_wizard_refuses_a_bad_config_before_any_screen(tmp_path: Path, name: str) -> None:
    """The wizard's config is validated in a child process while the screens import
    (config_beside.py): the same lines as `validate`, exit 2, and no screen drawn."""
    path, expected = hostile_file(tmp_path, name)
    result = run_cli("--config", str(path))
    assert result.returncode == 2, result
    assert_lines(result.stderr, expected)
    assert result.stdout == ""  # no terminal was taken over


@pytest.mark.parametrize("name", ["dev_zero", "deep_tables"])
def test_the_wizard_refuses_an_unreadable_config_before_any_screen(
    tmp_path: Path, name: str
) -> None:
    path, expected = raw_file(tmp_path, name)
    result = run_cli("--config", str(path))
    assert result.returncode == 2, result
    assert_lines(result.stderr, [expected])
    assert result.stdout == ""
