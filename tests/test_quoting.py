"""Config values with spaces, quotes, `;`, `$()` and newlines reach the remote command literally."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warungin_tui.config import TargetConfig
from warungin_tui.remote import Remote
from warungin_tui.templating import render_command, shell_quote

NASTY = [
    "plain",
    "with space",
    "it's quoted",
    'double "quoted"',
    "semi; touch PWNED",
    "$(touch PWNED)",
    "`touch PWNED`",
    "line\nbreak; touch PWNED",
    "back\\slash",
    "-n",
    "*",
    "$HOME and ${PATH}",
    "|| touch PWNED &&",
    "",
    "tab\there",
    "ünïcødé ✅",
]

# What a TOML string can hold and an argv can carry: any Unicode scalar except NUL.
TOML_CHARS = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
ECHO_ARGS = "printf '<%s>\\n' {value} {values}"


def expected_output(value: str, values: list[str]) -> str:
    return "".join(f"<{v}>\n" for v in [value, *values])


@given(
    value=st.text(TOML_CHARS, max_size=40),
    values=st.lists(st.text(TOML_CHARS, max_size=10), max_size=3),
)
@settings(max_examples=300, deadline=None, derandomize=True)
def test_local_shell_receives_literal_arguments(value: str, values: list[str]) -> None:
    """Fast, many examples: a local POSIX shell sees each value as exactly one argument."""
    command = render_command(ECHO_ARGS, {"value": value, "values": values})
    out = subprocess.run(["sh", "-c", command], capture_output=True, timeout=10).stdout
    assert out.decode("utf-8", "surrogateescape") == expected_output(value, values)


def test_lists_become_several_words() -> None:
    assert shell_quote(["a b", "c"]) == "'a b' c"


@pytest.mark.sshd
async def test_remote_shell_over_real_sshd_receives_literal_arguments(
    target_config: TargetConfig, tmp_path: Path
) -> None:
    remote = Remote(target_config)
    try:
        for value in NASTY:
            command = render_command(
                "cd {dir} && " + ECHO_ARGS,
                {"dir": str(tmp_path), "value": value, "values": [value, "x"]},
            )
            result = await remote.run(command, timeout=20)
            assert result.exit_status == 0, result.stderr
            assert result.stdout == expected_output(value, [value, "x"]), value
        assert not (tmp_path / "PWNED").exists()
    finally:
        await remote.close()


@pytest.mark.sshd
async def test_project_dir_with_nasty_name_works_end_to_end(
    target_config: TargetConfig, tmp_path: Path
) -> None:
    """A real playbook step with a hostile project_dir from the config."""
    from tests.helpers import SAMPLE_CONFIG
    from warungin_tui.config import load_config
    from warungin_tui.engine.engine import Engine
    from warungin_tui.engine.run import Run
    from warungin_tui.outcome import StepStatus
    from warungin_tui.playbook import build_playbook

    nasty = tmp_path / 'proj $(touch PWNED); it\'s "x"\nnext'
    nasty.mkdir()
    (nasty / "docker-compose.yml").write_text("services: {}\n")
    base = load_config(SAMPLE_CONFIG)
    target = target_config.model_copy(update={"project_dir": str(nasty)})
    config = base.model_copy(update={"target": target})
    remote = Remote(target)
    engine = Engine(config, Run(build_playbook(config)), None, remote, enforce_gates=False)
    try:
        outcome = await engine.run_step("pre.ssh_working")
        assert outcome.status == StepStatus.PASSED, outcome.detail
        assert str(nasty) in "\n".join(
            line for _, line in engine.run.results["pre.ssh_working"].output
        )
        assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()
    finally:
        await engine.aclose()
        await remote.close()


def test_group_names_are_values_filled_once_never_templates() -> None:
    """A `{db_name}` inside a service name stays literal in the command, title and services."""
    from tests.helpers import SAMPLE_CONFIG
    from warungin_tui.config import load_config
    from warungin_tui.engine.engine import Engine
    from warungin_tui.engine.run import Run
    from warungin_tui.playbook import build_playbook

    base = load_config(SAMPLE_CONFIG)
    # Validation refuses such names; model_copy skips it to prove the templates alone are safe.
    services = base.services.model_copy(update={"start_order": [["{db_name}", "{project_dir}"]]})
    database = base.database.model_copy(update={"name": "x; touch PWNED #"})
    config = base.model_copy(update={"services": services, "database": database})
    engine = Engine(config, Run(build_playbook(config)), None, None, enforce_gates=False)
    spec = engine.run.playbook.step("phase2.start.1")
    assert spec.title == "Start group 1: {db_name} {project_dir}"
    values = engine.values(spec)
    command = render_command(spec.command or "", values)
    assert command.endswith("up -d -- '{db_name}' '{project_dir}'")
    assert "PWNED" not in command
    ready = engine.run.playbook.step("phase2.ready.1")
    assert ready.title == "Wait until group 1 is healthy: {db_name} {project_dir}"
    from warungin_tui.templating import render_plain

    assert render_plain(ready.services or "", engine.values(ready)).split() == [
        "{db_name}",
        "{project_dir}",
    ]
