"""The pre-checks that catch, before Phase 1 stops anything, what would fail after `down`."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from warungin_tui.config import load_config
from warungin_tui.engine.engine import Engine
from warungin_tui.outcome import StepStatus
from warungin_tui.playbook import build_playbook
from warungin_tui.remote import Remote
from warungin_tui.sandbox.target import RehearsalTarget
from warungin_tui.templating import render_command
from warungin_tui.values import config_values

pytestmark = pytest.mark.sshd

CHECKS = [
    "pre.compose_file",
    "pre.git_accepts",
    "pre.project_readable",
    "pre.backup_space",
    "pre.running_version",
]


async def test_prechecks_pass_then_each_failure_says_what_to_do(tmp_path: Path) -> None:
    async with RehearsalTarget(
        "healthy", root=tmp_path / "target", transport="openssh", layout="other-owner"
    ) as target:
        host = target.host
        config = load_config(target.config_path)
        remote = Remote(config.target)
        engine = Engine.start_new(config, tmp_path / "journal", operator="T", remote=remote)
        engine.enforce_gates = False

        async def run(step_id: str) -> tuple[StepStatus, str]:
            outcome = await engine.run_step(step_id)
            return outcome.status, outcome.detail

        try:
            for step in CHECKS:
                status, detail = await run(step)
                assert status == StepStatus.PASSED, (step, detail)
            assert engine.run.values["pre_version"] == host.old_version
            assert "git accepts" in engine.run.results["pre.git_accepts"].detail

            # Compose's other names are found; none at all fails with what was looked for
            compose = host.project_dir / "docker-compose.yml"
            compose.rename(host.project_dir / "compose.yaml")
            status, detail = await run("pre.compose_file")
            assert status == StepStatus.PASSED and detail.endswith("/compose.yaml")
            (host.project_dir / "compose.yaml").rename(host.project_dir / "notes.yaml")
            status, detail = await run("pre.compose_file")
            assert status == StepStatus.FAILED
            assert "no compose file in" in detail and "check project_dir" in detail
            (host.project_dir / "notes.yaml").rename(compose)

            # root on a checkout owned by nobody, without safe.directory: git refuses
            host.gitconfig_path.write_text("")
            status, detail = await run("pre.git_accepts")
            assert status == StepStatus.FAILED
            assert "belongs to nobody" in detail
            assert f"git config --global --add safe.directory {host.project_dir}" in detail

            # a df that answers nothing: no guess, a clear failure
            shim = host.bin_dir / "df"
            shim.write_text("#!/bin/sh\necho 'Filesystem 1K-blocks Used Available'\n")
            shim.chmod(0o755)
            status, detail = await run("pre.backup_space")
            assert status == StepStatus.FAILED and "df reported no free space" in detail
            shim.write_text("#!/bin/sh\necho 'F 1K-blocks Used Available'\necho 'x 9 9 1 1% /'\n")
            status, detail = await run("pre.backup_space")
            assert status == StepStatus.FAILED and "has 1 KiB free, the project needs" in detail
            assert "set backup_dir to a larger disk" in detail
        finally:
            await engine.aclose()
            await remote.close()


def test_unreadable_files_are_listed_for_the_login_user() -> None:
    """The readability check as `nobody` (root reads everything): the first unreadable paths and
    what to do. The command is the playbook's, rendered as for the other steps."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run the check as another user")
    # pytest's tmp_path sits in a root-only folder: nobody needs a way in
    base = Path(tempfile.mkdtemp(prefix="warungin-readable-"))
    try:
        _check_as_nobody(base)
    finally:
        shutil.rmtree(base)


def _check_as_nobody(base: Path) -> None:
    base.chmod(0o755)
    project = base / "project"
    (project / "backend").mkdir(parents=True)
    (project / "backend" / "main.py").write_text("print('ok')\n")
    secret = project / ".env"
    secret.write_text("DB=x\n")
    secret.chmod(0o600)
    (project / "private").mkdir(mode=0o700)
    project.chmod(0o755)
    config = load_config(Path(__file__).parent.parent / "sample_config.toml")
    values = {**config_values(config), "project_dir": str(project)}
    command = render_command(build_playbook(config).step("pre.project_readable").command, values)
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-c"]
    done = subprocess.run([*as_nobody, command], capture_output=True, text=True, cwd="/")
    assert done.returncode == 1
    assert sorted(done.stdout.split()) == ["./.env", "./private"]
    last = done.stderr.strip().splitlines()[-1]
    assert "2 path(s) under" in last and "cannot be read by nobody" in last
    assert "fix the permissions" in last
    secret.chmod(0o644)
    (project / "private").chmod(0o755)
    done = subprocess.run([*as_nobody, command], capture_output=True, text=True, cwd="/")
    assert done.returncode == 0 and "readable by nobody" in done.stdout
