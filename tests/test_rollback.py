"""Rollback on the rehearsal target over real OpenSSH: the host ends exactly as before Phase 2."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from pathlib import Path

import httpx
import pytest

from tests.playbook_driver import answer_or_run, drive
from tests.test_scenarios import Rehearsal, open_rehearsal
from warungin_tui.engine.engine import Engine
from warungin_tui.outcome import StepStatus

pytestmark = pytest.mark.sshd


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root (the .git folder included) with its mode and content hash."""
    digest = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            mode = oct(path.stat().st_mode & 0o777)
            digest[str(path.relative_to(root))] = f"{mode} {hashlib.sha256(data).hexdigest()}"
    return digest


def git_head(project: Path) -> str:
    return subprocess.run(
        ["git", "-c", f"safe.directory={project}", "-C", str(project), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def services_healthy(rehearsal: Rehearsal) -> dict[str, tuple[str, str]]:
    host = rehearsal.target.host
    out = host.docker("compose", "ps", "--all", "--format", "json", cwd=host.project_dir).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {row["Service"]: (row["State"], row["Health"]) for row in rows}


@pytest.mark.parametrize(
    ("scenario", "failing_step"),
    [("backend-unhealthy", "phase2.ready.2"), ("wrong-version", "phase3.health")],
)
async def test_failed_release_rolls_back_to_the_exact_pre_deployment_host(
    scenario: str, failing_step: str, tmp_path: Path
) -> None:
    confirmed: list[str] = []

    async def confirm(spec) -> bool:
        confirmed.append(spec.id)
        return True

    async for rehearsal in open_rehearsal(scenario, tmp_path):
        engine, host = rehearsal.engine, rehearsal.target.host
        assert await drive(engine, stop_before="phase2.branch") is None
        before_tree = tree_digest(host.project_dir)
        before_commit = git_head(host.project_dir)
        assert rehearsal.run.values["pre_commit"] == before_commit

        assert await drive(engine) == failing_step
        assert git_head(host.project_dir) != before_commit  # the new release is on disk
        assert "backend/new_feature.py" in tree_digest(host.project_dir)

        assert await engine.rollback(reason=f"{failing_step} failed", confirm=confirm) is True
        assert confirmed == ["rollback.stop", "rollback.restore"]
        assert all(
            rehearsal.status(s.id) == StepStatus.PASSED
            for s in rehearsal.run.playbook.phase("rollback").steps
        )

        # exactly the pre-deployment tree and commit
        assert git_head(host.project_dir) == before_commit
        after_tree = tree_digest(host.project_dir)
        assert after_tree.keys() == before_tree.keys()
        changed = [p for p in before_tree if before_tree[p] != after_tree[p]]
        assert changed == []

        # services up and healthy, running the previous version
        states = services_healthy(rehearsal)
        assert set(states) == set(engine.config.services.expected)
        assert all(
            state == "running" and health in ("healthy", "") for state, health in states.values()
        ), states
        health = httpx.get(f"{host.api_url}/api/health", timeout=10).json()
        assert health["status"] == "ok" and health["version"] == host.old_version
        assert rehearsal.run.rollbacks[-1]["ok"] is True
        assert len(rehearsal.run.rollbacks[-1]["commands"]) == 10
        # the failing release's logs were collected before `compose down` discarded them
        collected = rehearsal.run.results["incident.collect_logs"]
        assert collected.finished_at < rehearsal.run.results["rollback.stop"].finished_at

        # the incident response can be completed from the run
        for spec in rehearsal.run.playbook.phase("incident").steps:
            await answer_or_run(engine, spec.id)
        notice = rehearsal.run.results["incident.notify_tech_lead"].value
        assert rehearsal.run.playbook.step(failing_step).title in notice["subject"]
        assert "completed, previous version restored" in notice["body"]
        assert "tech.lead@example.invalid" in notice["body"]
        assert rehearsal.status("incident.collect_logs") == StepStatus.PASSED

        # the archived log carries a complete Incident Report
        from warungin_tui.report.model import build_report

        incident = build_report(rehearsal.run, engine.config)["incident"]
        fields = incident["fields"]
        assert set(fields) >= {
            "Deployment Time",
            "Issue Detected",
            "Issue Severity",
            "Rollback Initiated",
            "Rollback Complete",
            "Root Cause",
            "Next Action",
        }
        for label, value in fields.items():
            assert value and "n/a" not in str(value) and "____" not in str(value), label
        assert failing_step in fields["Issue Detected"]
        assert fields["Issue Severity"] == "CRITICAL"


async def test_rollback_is_refused_before_a_backup_exists(tmp_path: Path) -> None:
    from warungin_tui.engine.engine import GateClosed

    async for rehearsal in open_rehearsal("healthy", tmp_path):
        with pytest.raises(GateClosed, match="(?i)no backup"):
            await rehearsal.engine.rollback(reason="too early")
        assert rehearsal.run.rollbacks == []


async def test_failed_rollback_step_stops_and_says_where_the_host_is(tmp_path: Path) -> None:
    async for rehearsal in open_rehearsal("wrong-version", tmp_path):
        engine, host = rehearsal.engine, rehearsal.target.host
        assert await drive(engine) == "phase3.health"
        Path(rehearsal.run.values["backup_file"]).write_bytes(b"corrupted archive")

        async def confirm(spec) -> bool:
            return True

        assert await engine.rollback(reason="test", confirm=confirm) is False
        assert rehearsal.status("rollback.verify_archive") == StepStatus.FAILED
        # nothing was deleted or stopped: the archive is verified first
        assert rehearsal.status("rollback.stop") == StepStatus.PENDING
        assert "backend/new_feature.py" in tree_digest(host.project_dir)
        last = rehearsal.run.rollbacks[-1]
        assert last["ok"] is False and "Verify the backup archive" in last["detail"]
        assert "Host state: unchanged: nothing was stopped or deleted" in last["detail"]
        assert last["stopped_at"] == "rollback.verify_archive"
        assert len(last["commands"]) == 1 and "sha256sum -c" in last["commands"][0]


def owners(root: Path) -> dict[str, int]:
    """Owner of every path under root but the host lock (taken and released by the run)."""
    found = {str(p.relative_to(root)): p.lstat().st_uid for p in sorted(root.rglob("*"))}
    return {p: uid for p, uid in found.items() if not p.startswith(".warungin-tui.lock")}


@pytest.mark.parametrize("layout", ["separate", "default", "backup-inside", "other-owner"])
async def test_rollback_on_every_layout_keeps_what_it_does_not_own(
    layout: str, tmp_path: Path
) -> None:
    """The whole playbook, a failed release, the rollback: the tree (`.git`, modes, contents) is
    the pre-Phase-2 one, plus a dump taken after the backup and a file under a `keep` path."""
    previews: list[str] = []
    async for rehearsal in open_rehearsal(
        "wrong-version", tmp_path, layout, keep=["data/uploads"], guard_host=True
    ):
        engine, host = rehearsal.engine, rehearsal.target.host
        uploads = host.project_dir / "data" / "uploads"
        uploads.mkdir(parents=True)
        (uploads / "logo.png").write_bytes(b"\x89PNG logo")
        assert await drive(engine, stop_before="phase2.branch") is None
        before_tree = tree_digest(host.project_dir)
        before_owners = owners(host.project_dir)
        archive = Path(rehearsal.run.values["backup_file"])
        # the host lock sat in the project while tar read it: left out, and released at the end
        lock = [p for p in before_tree if p.startswith(".warungin-tui.lock/")]
        archived = tarfile.open(archive).getnames()
        assert lock and not [n for n in archived if "warungin-tui.lock" in n]
        for path in lock:
            del before_tree[path]
        archive_sha = hashlib.sha256(archive.read_bytes()).hexdigest()
        assert archive_sha == rehearsal.run.values["backup_sha256"]

        assert await drive(engine) == "phase3.health"
        # after the backup: the DBA dumps the day's transactions, the app stores an upload
        late_dump = host.db_backups_dir / "warungin-after-backup.sql.gz"
        late_dump.write_bytes(b"-- dump taken after the backup\n")
        (uploads / "receipt-after-backup.png").write_bytes(b"\x89PNG receipt")

        async def confirm(spec, engine: Engine = engine) -> bool:
            previews.append(engine.restore_preview())
            return True

        assert await engine.rollback(reason="wrong version", confirm=confirm) is True
        # the operator saw what the restore replaces and what it keeps, before deciding
        assert previews and all(p == previews[0] for p in previews)
        assert "backend: 1 file" in previews[0] and "VERSION: 1 file" in previews[0]
        assert "data/uploads: 1 file newer than the backup" in previews[0]
        if host.db_backups_dir.is_relative_to(host.project_dir):
            assert "backups/db: 1 file newer than the backup" in previews[0]

        assert git_head(host.project_dir) == rehearsal.run.values["pre_commit"]
        after_tree = {
            path: digest
            for path, digest in tree_digest(host.project_dir).items()
            if not path.startswith(".warungin-tui.lock/")
        }
        added = {
            str(p.relative_to(host.project_dir))
            for p in (late_dump, uploads / "receipt-after-backup.png")
            if p.is_relative_to(host.project_dir)
        }
        assert after_tree.keys() - before_tree.keys() == added
        assert before_tree.keys() - after_tree.keys() == set()
        assert [p for p in before_tree if before_tree[p] != after_tree[p]] == []
        assert late_dump.read_bytes() == b"-- dump taken after the backup\n"
        assert archive.exists() and hashlib.sha256(archive.read_bytes()).hexdigest() == archive_sha
        assert list(host.project_dir.glob(".warungin-restore.*")) == []
        if layout == "other-owner":
            after_owners = owners(host.project_dir)
            assert {p: after_owners[p] for p in before_owners} == before_owners
        # the rollback's health check expected the version recorded before Phase 2
        health = rehearsal.run.results["rollback.health"]
        assert health.status == StepStatus.PASSED
        assert rehearsal.run.values["pre_version"] == host.old_version
