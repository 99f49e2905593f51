"""No command built from the config can run anything else (issue 8, failure 1), over real sshd.

The two injections found by the fault campaign are reproduced with validation skipped (the
templates and the argument order alone must hold), and a property test feeds hostile values into
every config field the pydantic model has: each is refused with one line, or accepted and then
every playbook command rendered with it runs on the host without creating the marker file.
"""

from __future__ import annotations

import string
import subprocess
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SAMPLE_CONFIG
from warungin_tui.config import Config, ConfigError, TargetConfig, load_config, parse_config
from warungin_tui.engine.engine import Engine
from warungin_tui.engine.run import Run
from warungin_tui.outcome import StepStatus
from warungin_tui.playbook import StepKind, build_playbook, load_playbook_data
from warungin_tui.remote import Remote
from warungin_tui.templating import render_command
from warungin_tui.values import config_values, group_values

pytestmark = pytest.mark.sshd


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_clone(root: Path) -> Path:
    """A real upstream repository and a clone of it (with `origin`), as on the server."""
    upstream = root / "upstream"
    upstream.mkdir()
    git("init", "-q", "-b", "main", cwd=upstream)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "a",
        cwd=upstream)  # fmt: skip
    git("clone", "-q", str(upstream), str(root / "clone"), cwd=root)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "b",
        cwd=upstream)  # fmt: skip
    return root / "clone"


def unvalidated(base: Config, **sections: dict[str, Any]) -> Config:
    """`base` with some values changed and validation skipped, as if the validator let them by."""
    update = {name: getattr(base, name).model_copy(update=v) for name, v in sections.items()}
    return base.model_copy(update=update)


async def run_one_step(config: Config, step_id: str) -> tuple[StepStatus, str]:
    remote = Remote(config.target)
    engine = Engine(config, Run(build_playbook(config)), None, remote, enforce_gates=False)
    try:
        outcome = await engine.run_step(step_id, confirmed=True)
        return outcome.status, engine.run.results[step_id].command or ""
    finally:
        await engine.aclose()
        await remote.close()


def base_config(target: TargetConfig) -> Config:
    return load_config(SAMPLE_CONFIG).model_copy(update={"target": target})


async def test_template_in_start_group_cannot_reenter(
    target_config: TargetConfig, tmp_path: Path
) -> None:
    """Failure 1a: `{db_name}` in a start_order name with a hostile db name ran `touch`."""
    marker = tmp_path / "PWNED-1"
    config = unvalidated(
        base_config(target_config),
        services={"start_order": [["{db_name}", "{project_dir}"]]},
        database={"name": f"x; touch {marker} #"},
    )
    status, command = await run_one_step(config, "phase2.start.1")
    assert not marker.exists(), command
    assert "'{db_name}' '{project_dir}'" in command
    assert status == StepStatus.FAILED  # there is no such service


async def test_option_as_branch_runs_nothing(target_config: TargetConfig, tmp_path: Path) -> None:
    """Failure 1b: `git pull origin '--upload-pack=...'` ran the upload-pack command."""
    clone = make_clone(tmp_path)
    marker = tmp_path / "PWNED-2"
    config = unvalidated(
        base_config(target_config.model_copy(update={"project_dir": str(clone)})),
        release={"branch": f"--upload-pack=touch {marker};git-upload-pack"},
    )
    status, command = await run_one_step(config, "phase2.pull")
    assert not marker.exists(), command
    assert status == StepStatus.FAILED
    # The same step with an ordinary branch still pulls (the fix changed no meaning).
    config = unvalidated(config, release={"branch": "main"})
    assert (await run_one_step(config, "phase2.pull"))[0] == StepStatus.PASSED
    assert (await run_one_step(config, "phase2.status"))[0] == StepStatus.PASSED


def test_git_pull_does_not_honour_double_dash(tmp_path: Path) -> None:
    """Why the playbook pulls `refs/heads/<branch>`: git 2.39 hands refspecs after `--` on to
    fetch, which still reads `--upload-pack=...` as an option."""
    clone = make_clone(tmp_path)
    marker = tmp_path / "PWNED-3"
    hostile = f"--upload-pack=touch {marker};git-upload-pack"
    subprocess.run(["git", "pull", "--ff-only", "origin", "--", hostile], cwd=clone,
                   capture_output=True)  # fmt: skip
    if not marker.exists():
        pytest.skip("this git honours `--` in pull; the refs/heads/ form is still right")
    marker.unlink()
    full = subprocess.run(["git", "pull", "--ff-only", "origin", f"refs/heads/{hostile}"],
                          cwd=clone, capture_output=True)  # fmt: skip
    assert full.returncode != 0 and not marker.exists()


# --- the property test: every field of the model, hostile values -----------------------------


def hostile_values(root: Path, marker: Path) -> list[str]:
    touch = f"touch {marker}"
    return [
        f";{touch} #",
        f"$({touch})",
        f"`{touch}`",
        "{db_name}",
        "{project_dir}",
        f"--upload-pack={touch};",
        f"x\n{touch}",
        f"'; {touch}; '",
        f'"; {touch}; "',
        "-rf",
        "*",
        f"{root}/x;{touch} #",  # absolute, so path fields may accept it: still literal
        f"{root}/$({touch})",
        f"{root}/`{touch}`",
        f"{root}/{{db_name}}",
        f"http://h/$({touch})",
    ]


def leaf_fields() -> list[tuple[str, str, Any]]:
    """(section, key, annotation) for every field of every section of the Config model."""
    leaves = []
    for section, field in Config.model_fields.items():
        model = field.annotation
        assert model is not None and hasattr(model, "model_fields"), section
        for key, leaf in model.model_fields.items():
            leaves.append((section, key, leaf.annotation))
    return leaves


def shaped(annotation: Any, value: Any, current: Any) -> Any:
    """`value` placed where the field's type wants it (list items next to the current ones)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return shaped(inner[0], value, current)
    if origin is list:
        (item,) = typing.get_args(annotation)
        if typing.get_origin(item) is list:
            groups = [list(g) for g in current]
            groups[-1].append(value)
            return groups
        return [*current, value]
    return value


def data_with(base: dict[str, Any], section: str, key: str, value: Any) -> dict[str, Any]:
    data = {name: dict(table) for name, table in base.items()}
    data.setdefault(section, {})[key] = value
    return data


def rendered_commands(config: Config, playbook_data: dict[str, Any]) -> set[str]:
    """Every ssh/wait command of the playbook, filled in; captured values get harmless stand-ins."""
    playbook = build_playbook(config, playbook_data)
    commands = set()
    for spec in playbook.all_steps():
        if spec.kind not in (StepKind.SSH, StepKind.WAIT) or not spec.command:
            continue
        values = {**config_values(config), **group_values(spec.start_group, spec.start_group_index)}
        for _, name, _, _ in string.Formatter().parse(spec.command):
            if name and name not in values:
                values[name] = "0" * 40  # backup_file, pre_commit...: not from the config
        commands.add(render_command(spec.command, values))
    return commands


def probe_script(commands: list[str], marker: Path) -> str:
    """Each command in its own subshell; the first one after which the marker exists is named."""
    checks = [
        f"( {command}\n) </dev/null >/dev/null 2>&1; test -e {marker} && {{ echo {i}; exit 0; }}"
        for i, command in enumerate(commands)
    ]
    return "\n".join([*checks, "echo clean"])


def batches(commands: list[str], limit: int) -> list[list[str]]:
    """Consecutive groups of commands whose joined length stays under `limit` characters."""
    groups: list[list[str]] = [[]]
    size = 0
    for command in commands:
        if groups[-1] and size + len(command) > limit:
            groups.append([])
            size = 0
        groups[-1].append(command)
        size += len(command) + 100  # the probe's wrapper around each command
    return groups


async def test_hostile_value_in_every_field_is_refused_or_harmless(
    target_config: TargetConfig, tmp_path: Path
) -> None:
    clone = make_clone(tmp_path)
    marker = tmp_path / "MARKER"
    target = target_config.model_copy(update={"project_dir": str(clone)})
    base = tomllib.loads(SAMPLE_CONFIG.read_text())
    base["target"] = {k: v for k, v in target.model_dump().items() if v is not None}
    base_cfg = parse_config(base)
    refused = accepted = 0
    playbook_data = load_playbook_data()
    commands: dict[str, str] = {}  # command -> the field that produced it first
    for section, key, annotation in leaf_fields():
        current = base.get(section, {}).get(key, [])
        candidates: list[Any] = hostile_values(tmp_path, marker)
        if typing.get_origin(annotation) is None and annotation is float:
            candidates += [float("inf"), float("nan")]
        for value in candidates:
            data = data_with(base, section, key, shaped(annotation, value, current))
            try:
                config = parse_config(data)
            except ConfigError as exc:
                refused += 1
                assert len(exc.lines) == 1, (section, key, value, exc.lines)
                assert exc.lines[0].startswith(f"[{section}] {key}"), exc.lines
                assert "\n" not in exc.lines[0]
                continue
            accepted += 1
            for command in rendered_commands(config, playbook_data):
                commands.setdefault(command, f"[{section}] {key} = {value!r}")
    assert refused and accepted  # both sides of the property were exercised
    assert {section for section, _, _ in leaf_fields()} == set(Config.model_fields)
    remote = Remote(base_cfg.target)
    try:
        # The probe can fail: an honest `touch` among the commands is found and named.
        canary = await remote.run(probe_script(["true", f"touch {marker}"], marker), timeout=20)
        assert canary.stdout.strip() == "1" and marker.exists()
        marker.unlink()
        ordered = sorted(commands)
        # in batches: one `sh -c` argument is capped by the kernel (128 KiB, MAX_ARG_STRLEN)
        for batch in batches(ordered, limit=100_000):
            result = await remote.run(f"cd {tmp_path}\n{probe_script(batch, marker)}", timeout=300)
            assert result.stdout.strip() == "clean", commands.get(batch[int(result.stdout)], result)
    finally:
        await remote.close()
