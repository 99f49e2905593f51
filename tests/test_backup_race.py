"""Step 1.1 on the default layout (archives in the project folder) over real OpenSSH, real GNU tar.

Regression table (50 runs each, a tree of ~330 files, one SSH connection, on the shared 2-core
box while other suites ran; the old command's count varies with load, the new one's never did):

    command                                       runs  failures (two runs)
    old: tar -czf "$f" . with $f inside the tree   50    12, 10 (tar: .: file changed as we read it)
    new: temp file made before tar, excluded       50    0, 0

The old command fails because tar's compressor child creates the archive inside `.` while tar
reads `.`; the new one creates the file before tar starts and excludes it by exact path.
"""

from __future__ import annotations

import re
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

RUNS = 50
OLD_BACKUP = """set -e
cd {project_dir}
mkdir -p {backup_dir}
f={backup_dir}/backup-pre-deployment-$(date +%Y%m%d-%H%M%S).tar.gz
tar --exclude='./backup-*.tar.gz' -czf "$f" .
tar -tzf "$f" > /dev/null
echo "backup_file=$f"
echo "backup_size=$(stat -c %s "$f")"
echo "backup_sha256=$(sha256sum "$f" | cut -d' ' -f1)"
ls -lh "$f\""""
"""Step 1.1 as shipped before issue 9, kept to show the race it had."""


def add_static_files(project: Path, count: int = 300) -> None:
    """A built frontend's worth of files, so tar takes long enough for the race to show."""
    for index in range(count):
        path = project / "frontend" / "dist" / f"chunk-{index % 12}" / f"asset-{index}.js"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"export const asset{index} = {'x' * (index * 13 % 4000)!r};\n")


async def test_backup_never_races_itself_on_the_default_layout(tmp_path: Path, record_property):
    async with RehearsalTarget(
        "healthy", root=tmp_path / "target", transport="openssh", layout="default"
    ) as target:
        project = target.host.project_dir
        add_static_files(project)
        config = load_config(target.config_path)
        values = config_values(config)
        new_command = render_command(build_playbook(config).step("phase1.backup").command, values)
        old_command = render_command(OLD_BACKUP, values)
        remote = Remote(config.target)
        try:
            await remote.connect()
            failures: dict[str, list[str]] = {"old": [], "new": []}
            for name, command in (("new", new_command), ("old", old_command)):
                for _ in range(RUNS):
                    result = await remote.run(command, timeout=60)
                    if result.exit_status != 0:
                        failures[name].append(result.stderr.strip().splitlines()[-1])
                        continue
                    if name == "new":
                        sha = re.search(r"^backup_sha256=([0-9a-f]{64})$", result.stdout, re.M)
                        assert sha, result.stdout
        finally:
            await remote.close()
        record_property("old_failures", f"{len(failures['old'])}/{RUNS}")
        record_property("new_failures", f"{len(failures['new'])}/{RUNS}")
        print(f"\nStep 1.1 x{RUNS}: old {len(failures['old'])} failed, new {len(failures['new'])}")
        assert failures["new"] == []
        # what the old command's failures were, when this machine reproduced the race
        assert all("file changed as we read it" in line for line in failures["old"])
        archives = list(project.glob("backup-pre-deployment-*.tar.gz"))
        assert len([a for a in archives if a.stat().st_mode & 0o777 == 0o600]) >= RUNS
        assert list(project.glob(".backup-pre-deployment.*")) == []


HOSTILE = {
    "stat prints nothing": ("stat", "exit 0", "stat printed no size"),
    "stat prints garbage": ("stat", "echo '12 backup_size=99'", "stat printed no size"),
    "stat fails": ("stat", "exit 3", "stat exited with status 3"),
    "sha256sum prints nothing": ("sha256sum", "exit 0", "sha256sum printed no checksum"),
    "sha256sum prints a short sum": ("sha256sum", "echo 'abc123  -'", "printed no checksum"),
    "sha256sum prints garbage": (
        "sha256sum",
        "echo 'ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ  -'",
        "printed no checksum",
    ),
    "sha256sum fails": ("sha256sum", "exit 1", "sha256sum exited with status 1"),
}


async def test_hostile_stat_or_sha256sum_fails_the_backup_clearly(tmp_path: Path) -> None:
    """Each hostile tool in turn (a shim first on the session's PATH): Step 1.1 fails, says
    which tool, records no value and leaves no archive behind."""
    async with RehearsalTarget(
        "healthy", root=tmp_path / "target", transport="openssh", layout="default"
    ) as target:
        project = target.host.project_dir
        config = load_config(target.config_path)
        remote = Remote(config.target)
        engine = Engine.start_new(config, tmp_path / "journal", operator="T", remote=remote)
        engine.enforce_gates = False  # only Step 1.1 is under test
        seen: dict[str, str] = {}
        try:
            for case, (tool, body, _) in HOSTILE.items():
                shim = target.host.bin_dir / tool
                shim.write_text(f"#!/bin/sh\n{body}\n")
                shim.chmod(0o755)
                outcome = await engine.run_step("phase1.backup")
                shim.unlink()
                seen[case] = f"{outcome.status}: {outcome.detail}"
                assert list(project.glob(".backup-pre-deployment.*")) == [], case
                assert list(project.glob("backup-pre-deployment-*")) == [], case
            assert "backup_file" not in engine.run.values and not engine.run.rollback_available
            # the same step with the real tools passes: the failures came from the shims
            assert (await engine.run_step("phase1.backup")).status == StepStatus.PASSED
        finally:
            await engine.aclose()
            await remote.close()
        for case, (_, _, detail) in HOSTILE.items():
            assert seen[case].startswith("failed: ") and detail in seen[case], (case, seen[case])
            assert "backup failed" in seen[case]
