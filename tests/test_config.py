"""Config validation: TOML words, exit code 2, no traceback, secrets refused, lookup order."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
import tomli_w

from tests.helpers import SAMPLE_CONFIG, run_cli
from warungin_tui.config import ConfigError, load_config, parse_config, resolve_config_path


def sample() -> dict:
    return tomllib.loads(SAMPLE_CONFIG.read_text())


def errors_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return info.value.lines


def test_sample_config_is_valid_and_has_seed_defaults() -> None:
    config = load_config(SAMPLE_CONFIG)
    assert config.target.port == 22
    assert len(config.services.expected) == 8
    assert "cloudflared" in config.services.expected
    assert config.release.branch == "main"
    assert config.endpoints.api == "http://localhost:8000"
    assert config.endpoints.api_via_ssh is True


def test_every_sample_key_is_commented() -> None:
    previous = ""
    for line in SAMPLE_CONFIG.read_text().splitlines():
        stripped = line.strip()
        if "=" in stripped and not stripped.startswith(("#", "[")):
            assert "#" in stripped or previous.startswith("#"), f"uncommented key: {line}"
        previous = stripped


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["target"].update(port=70000),
            "[target] port: must be an integer between 1 and 65535",
        ),
        (lambda d: d["target"].update(port="22"), "[target] port: must be an integer"),
        (lambda d: d["target"].update(colour="blue"), "[target] colour: is not a known key"),
        (lambda d: d["release"].pop("version"), "[release] version: is required"),
        (lambda d: d.pop("target"), "[target]: is required"),
        (
            lambda d: d["endpoints"].update(frontend="ftp://x"),
            "[endpoints] frontend: must be an http:// or https:// URL",
        ),
        (
            lambda d: d["services"].update(start_order=[["postgres"]]),
            "[services]: start_order never starts",
        ),
        (
            lambda d: d["thresholds"].update(command_timeout_seconds=0),
            "[thresholds] command_timeout_seconds: must be a number greater than 0",
        ),
        (
            lambda d: d["endpoints"].update(api_via_ssh="maybe"),
            "[endpoints] api_via_ssh: must be true or false",
        ),
        (lambda d: d.update(extra={}), "[extra]: is not a known key"),
    ],
)
def test_errors_are_told_in_toml_words(mutate, message: str) -> None:
    data = sample()
    mutate(data)
    assert any(line.startswith(message) for line in errors_of(data)), errors_of(data)


@pytest.mark.parametrize("key", ["password", "db_password", "secret", "api_token", "passphrase"])
def test_secrets_are_refused_with_advice(key: str) -> None:
    data = sample()
    data["target"][key] = "hunter2"
    lines = errors_of(data)
    assert lines[0].startswith(f"[target] {key}: passwords and secrets are refused")
    assert "SSH key" in lines[0] and "agent" in lines[0]
    assert "hunter2" not in " ".join(lines)


def test_every_problem_is_reported_at_once_secrets_included(tmp_path: Path) -> None:
    data = sample()
    data["target"]["password"] = "hunter2"
    data["target"]["port"] = 70000
    data["release"].pop("version")
    data["thresholds"]["poll_interval_seconds"] = float("nan")
    data["endpoints"]["api_token"] = "tok"
    lines = errors_of(data)
    assert [line.split(":")[0] for line in lines] == [
        "[target] password",
        "[endpoints] api_token",
        "[target] port",
        "[release] version",
        "[thresholds] poll_interval_seconds",
    ], lines
    path = tmp_path / "many.toml"
    # TOML cannot write nan: the file holds the other four problems
    path.write_text(tomli_w.dumps({k: v for k, v in data.items() if k != "thresholds"}))
    result = run_cli("validate", str(path))
    assert result.returncode == 2, result
    told = result.stderr.splitlines()
    assert len(told) == 4 and all(line.startswith("warungin-tui: [") for line in told), told
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("WARUNGIN_TUI_CONFIG", raising=False)
    with pytest.raises(ConfigError):
        resolve_config_path(None)
    user = tmp_path / "xdg" / "warungin-tui" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("")
    assert resolve_config_path(None) == user
    (tmp_path / "warungin.toml").write_text("")
    assert resolve_config_path(None) == Path("warungin.toml")
    monkeypatch.setenv("WARUNGIN_TUI_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_config_path(None) == tmp_path / "env.toml"
    assert resolve_config_path(str(tmp_path / "flag.toml")) == tmp_path / "flag.toml"


BAD_CONFIGS = {
    "not_toml.toml": "[target\nhost = 1",
    "empty.toml": "",
    "wrong_types.toml": tomli_w.dumps(
        {**sample(), "target": {**sample()["target"], "port": "ssh"}}
    ),
    "password.toml": tomli_w.dumps({**sample(), "target": {**sample()["target"], "password": "x"}}),
    "binary.toml": "\udcff",
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_validate_bad_configs_exit_2_without_traceback(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(BAD_CONFIGS[name].encode("utf-8", "surrogateescape"))
    result = run_cli("validate", str(path))
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("warungin-tui: ")


def test_validate_good_config_and_missing_file(tmp_path: Path) -> None:
    ok = run_cli("validate", str(SAMPLE_CONFIG))
    assert ok.returncode == 0 and "ok" in ok.stdout
    missing = run_cli("validate", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_help_and_version() -> None:
    assert "demo" in run_cli("--help").stdout
    version = run_cli("--version")
    assert version.returncode == 0 and "warungin-tui" in version.stdout


BRANCH_NAMES = [
    "main", "feature/x-1", "v1.2", "release_1.0+b", "a@b", "@", "@a", "a-", "refs/heads/x", "é",
    "HEAD", "-x", "--upload-pack=touch PWNED;git-upload-pack", "a..b", ".a", "a.lock", "a/.b",
    "a/", "/a", "a//b", "a.", "a@{b", "@{-1}", "a b", "a~", "a^", "a:b", "a?", "a*", "a[", "a\\b",
    "a.lock/b", "x/a.lock", "tab\there", "nl\nx", "del\x7f", "",
]  # fmt: skip


@pytest.mark.parametrize("name", BRANCH_NAMES)
def test_branch_rule_agrees_with_git_check_ref_format(name: str, tmp_path: Path) -> None:
    """The pure rule says what real `git check-ref-format --branch` says (outside a repo)."""
    from warungin_tui.config_rules import branch_problem

    git = subprocess.run(
        ["git", "check-ref-format", "--branch", name], cwd=tmp_path, capture_output=True
    )
    assert (branch_problem(name) is None) == (git.returncode == 0), (name, git.stderr)
