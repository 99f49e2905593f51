"""`warungin-tui plan`, `validate`'s layout lines and `[rollback] keep`: no connection needed."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import tomli_w

from tests.helpers import SAMPLE_CONFIG, run_cli
from warungin_tui.config import ConfigError, load_config, parse_config
from warungin_tui.playbook import build_playbook

REQUIRED = {"id", "phase", "title", "kind", "command", "destructive", "timeout_s", "retry_safe"}


def sample() -> dict:
    return tomllib.loads(SAMPLE_CONFIG.read_text())


def test_plan_json_lists_every_step_in_order_with_rendered_commands() -> None:
    # the sample's host does not resolve: plan must not try to connect
    result = run_cli("plan", "--config", str(SAMPLE_CONFIG), "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    playbook = build_playbook(load_config(SAMPLE_CONFIG))
    assert [r["id"] for r in rows] == [s.id for s in playbook.all_steps()]
    assert all(REQUIRED <= row.keys() for row in rows)
    by_id = {row["id"]: row for row in rows}
    assert by_id["pre.smoke_test"]["command"] is None
    assert by_id["pre.smoke_test"]["kind"] == "manual"
    assert by_id["phase3.health"]["command"] is None
    assert by_id["phase3.health"]["url"] == "http://localhost:8000/api/health"
    backup = by_id["phase1.backup"]
    assert backup["phase"] == "phase1" and backup["timeout_s"] == 1800.0
    assert (
        "cd -- /srv/New-Warungin ||" in backup["command"]
        and "{project_dir}" not in backup["command"]
    )
    restore = by_id["rollback.restore"]
    assert restore["destructive"] is True and restore["retry_safe"] is True
    # values that earlier steps record stay placeholders, unquoted
    assert "f={backup_file}\nwant={pre_commit}\n" in restore["command"]
    assert "= {backup_sha256} ]" in restore["command"]
    destructive = {r["id"] for r in rows if r["destructive"]}
    assert destructive == {"phase1.stop_stack", "rollback.stop", "rollback.restore"}
    assert by_id["phase2.start.1"]["command"].endswith("docker compose up -d -- postgres redis")


def test_every_rendered_command_is_valid_shell() -> None:
    """`sh -n` over each command as plan renders it (placeholders as plain words)."""
    rows = json.loads(run_cli("plan", "--config", str(SAMPLE_CONFIG), "--json").stdout)
    for row in rows:
        if row["command"]:
            script = re.sub(r"\{(\w+)\}", r"\1", row["command"])
            for shell in ("sh", "bash"):
                checked = subprocess.run([shell, "-n", "-c", script], capture_output=True)
                assert checked.returncode == 0, (row["id"], shell, checked.stderr)


def test_plan_text_marks_destructive_steps_and_bad_config_exits_2(tmp_path: Path) -> None:
    text = run_cli("plan", "--config", str(SAMPLE_CONFIG))
    assert text.returncode == 0
    assert re.search(r"^rollback\.restore  \[ssh, DESTRUCTIVE, timeout 1800 s\]", text.stdout, re.M)
    assert "    $ cd /srv/New-Warungin && docker compose down" in text.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(tomli_w.dumps({**sample(), "rollback": {"keep": ["../etc"]}}))
    refused = run_cli("plan", "--config", str(bad))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("warungin-tui: [rollback] keep: '../etc': must be a path")


def test_validate_says_where_archives_and_dumps_live() -> None:
    out = run_cli("validate", str(SAMPLE_CONFIG)).stdout
    assert "release archives: /srv/New-Warungin/backup-pre-deployment-" in out
    assert "earlier backup-*.tar.gz files there are left out of the archive" in out
    assert "database dumps: /srv/New-Warungin/backups/db (inside the project (backups/db/)" in out
    assert "keeps as they are: .warungin-tui.lock, backups/db" in out


@pytest.mark.parametrize("path", ["/etc", "~/data", "../x", "a/../../b", "", ".", "a\nb"])
def test_rollback_keep_refuses_paths_outside_the_project(path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({**sample(), "rollback": {"keep": [path]}})
    assert len(caught.value.lines) == 1 and caught.value.lines[0].startswith("[rollback] keep:")


def test_rollback_keep_adds_to_what_the_restore_always_keeps() -> None:
    data = {**sample(), "rollback": {"keep": ["data/uploads", "./media/"]}}
    data["target"]["backup_dir"] = "/srv/New-Warungin/backups"
    from warungin_tui.backup_layout import BackupLayout

    layout = BackupLayout.of(parse_config(data))
    assert layout.excluded == [".warungin-tui.lock", "backups", "backups/db"]
    assert layout.kept == [".warungin-tui.lock", "backups", "backups/db", "data/uploads", "media"]
