"""Every numbered step and checklist item of the seed maps to a step of the shipped playbook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import SAMPLE_CONFIG
from warungin_tui.config import load_config
from warungin_tui.engine import checklists
from warungin_tui.playbook import StepKind, build_playbook

SEED = Path(__file__).parent / "data" / "PRODUCTION_DEPLOYMENT_PLAYBOOK.md"

# seed text (as written in the seed, without the check box) -> playbook step id
SEED_TO_STEP: dict[str, str] = {
    # PRE-DEPLOYMENT CHECKLIST
    "Smoke test PASSED (9-10/10)": "pre.smoke_test",
    "Full test suite PASSED (40+ tests)": "pre.full_suite",
    "QA Lead signed off ✅": "pre.qa_signoff",
    "Security Lead signed off ✅": "pre.security_signoff",
    "Tech Lead signed off ✅": "pre.tech_lead_signoff",
    "Product Manager signed off ✅": "pre.pm_signoff",
    "Zero critical issues remaining": "pre.zero_critical",
    "Zero high priority issues remaining": "pre.zero_high",
    "2FA working & not bypassable ✅": "pre.2fa_staging",
    "Store authorization 403 working ✅": "pre.store_403_staging",
    "Server 192.168.1.101 accessible": "pre.server_accessible",
    "SSH connection working": "pre.ssh_working",
    "Docker daemon running": "pre.docker_running",
    "Current services healthy": "pre.services_healthy",
    "Database backups recent": "pre.db_backups_recent",
    "Backup procedures tested": "pre.backup_tested",
    "Rollback procedures documented": "pre.rollback_documented",
    "Incident response procedures ready": "pre.incident_ready",
    "Monitoring alerts configured": "pre.monitoring_alerts",
    "Stakeholder notifications sent": "pre.stakeholders_notified",
    "Operations team briefed": "pre.ops_briefed",
    "On-call rotation established": "pre.on_call",
    # numbered steps
    "Step 1.1: Backup Current System": "phase1.backup",
    "Step 1.2: Notify Stakeholders": "phase1.notify",
    "Step 1.3: Monitor Current Traffic": "phase1.active_sessions",
    "Step 2.1: Pull Latest Code": "phase2.pull",
    "Step 2.2: Build New Images": "phase2.build",
    "Step 2.3: Start Services": "phase2.services",
    "Step 3.1: Service Health Check": "phase3.health",
    "Step 3.2: Database Verification": "phase3.database",
    "Step 3.3: Frontend Access": "phase3.frontend",
    "Step 3.4: Authentication Test": "phase3.auth",
    "Step 3.5: Error Log Check": "phase3.error_logs",
    "All Services Running": "phase2.services",
    "Database Connected": "phase3.database",
    "Frontend Loading": "phase3.frontend",
    "Auth Working": "phase3.auth",
    # smoke tests
    "Test 1: Frontend Loads": "smoke.frontend_loads",
    "Test 2: SUPER_ADMIN Login + 2FA": "smoke.super_admin_2fa",
    "Test 3: Store Authorization": "smoke.store_authorization",
    "Test 4: Shift Caching": "smoke.shift_caching",
    "Test 5: No Console Errors": "smoke.no_console_errors",
    # verification report
    "Backend health endpoint: 200 OK": "phase3.health",
    "Database connectivity: ✅ Connected": "phase3.database",
    "Frontend loads: ✅ <3 seconds": "phase3.frontend",
    "Authentication working: ✅ OK": "phase3.auth",
    "Error logs: ✅ Minimal/none": "phase3.error_logs",
    "All services started: ✅ 8/8": "phase2.services",
    "2FA enforcement: ✅ Working": "smoke.super_admin_2fa",
    "Store authorization: ✅ 403 for unauthorized": "smoke.store_authorization",
    "No sensitive data exposed: ✅ Verified": "report.no_data_exposed",
    "Shift caching: ✅ 5s TTL": "smoke.shift_caching",
    "Request dedup: ✅ Working": "report.request_dedup",
    # rollback
    "All services running": "rollback.services",
    "No errors in logs": "rollback.error_logs",
    "System responsive": "rollback.health",
    "Users can access": "rollback.frontend",
    # completion
    "All code deployed successfully": "phase2.build",
    "All services running and healthy": "phase2.services",
    "All post-deployment tests passed": "phase3.error_logs",
    "Production smoke tests passed": "smoke.no_console_errors",
    "No critical errors in logs": "phase3.error_logs",
    "Performance baseline verified": "phase3.health",
    "Tech Lead verified: _________________________ (Signature)": "completion.tech_lead",
    "Ops Lead verified: _________________________ (Signature)": "completion.ops_lead",
    "Product Manager confirmed: _________________________ (Signature)": (
        "completion.product_manager"
    ),
    # security handoff
    "2FA Verification": "smoke.super_admin_2fa",
    "Store Authorization": "smoke.store_authorization",
    "No Data Exposure": "report.no_data_exposed",
    "Incident Response Ready": "completion.incident_response_ready",
    "Security Team Briefed": "completion.security_team_briefed",
    # go-live final checklist
    "All code fixes deployed": "phase2.build",
    "All services verified healthy": "phase2.services",
    "Security measures verified": "smoke.super_admin_2fa",
    "Performance baseline measured": "phase3.health",
    "Post-deployment testing complete": "phase3.health",
    "All approvals signed": "completion.product_manager",
    "No rollback needed": "golive.decision",
    "24-hour monitoring passed": "monitoring.performance",
    "Production Deployment Status": "golive.decision",
}


def seed_items() -> list[str]:
    items = []
    for line in SEED.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^- \[[ x]\] (.+)$", line):
            items.append(m.group(1).strip())
        elif m := re.match(r"^#### (Step \d\.\d: .+)$", line):
            items.append(m.group(1).strip())
        elif m := re.match(r"^### (Test \d: .+)$", line):
            items.append(m.group(1).strip())
        elif m := re.match(r"^\*\*([^*]+)\*\*: ☐ (?:Verified|YES|\*\*GO-LIVE)", line):
            items.append(m.group(1).strip())
    return items


@pytest.fixture(scope="module")
def playbook():
    return build_playbook(load_config(SAMPLE_CONFIG))


def test_the_table_covers_every_seed_item() -> None:
    items = seed_items()
    assert len(items) >= 80
    missing = [item for item in items if item not in SEED_TO_STEP]
    assert missing == []


def test_every_seed_item_maps_to_a_playbook_step(playbook) -> None:
    ids = {step.id for step in playbook.all_steps()}
    unknown = {item: sid for item, sid in SEED_TO_STEP.items() if sid not in ids}
    assert unknown == {}


def test_every_seed_section_exists(playbook) -> None:
    refs = " ".join(p.seed_ref for p in playbook.phases)
    for section in [
        "PRE-DEPLOYMENT CHECKLIST",
        "PHASE 1",
        "PHASE 2",
        "PHASE 3",
        "PRODUCTION SMOKE TEST",
        "PRODUCTION VERIFICATION REPORT",
        "ROLLBACK",
        "CRITICAL ISSUES RESPONSE",
        "DEPLOYMENT COMPLETION CHECKLIST",
        "POST-DEPLOYMENT MONITORING",
        "GO-LIVE DECISION",
        "SECURITY HANDOFF",
    ]:
        assert section in refs, section


def test_derived_checklists_name_real_steps(playbook) -> None:
    ids = {step.id for step in playbook.all_steps()}
    phases = {phase.id for phase in playbook.phases}
    for group in (
        checklists.VERIFICATION_HEALTH,
        checklists.VERIFICATION_SECURITY,
        checklists.COMPLETION,
        checklists.SECURITY_HANDOFF,
        checklists.GO_LIVE,
    ):
        for item in group:
            for ref in item.steps:
                assert (
                    (ref.removeprefix("phase:") in phases)
                    if ref.startswith("phase:")
                    else ref in ids
                ), (item.label, ref)


def test_seed_flaws_are_fixed(playbook) -> None:
    phase1 = [s.id for s in playbook.phase("phase1").steps]
    # 1: sessions are counted before anything goes down
    assert phase1.index("phase1.active_sessions") < phase1.index("phase1.stop_stack")
    assert phase1.index("phase1.notify") < phase1.index("phase1.stop_stack")
    backup = playbook.step("phase1.backup").command
    # 3: earlier backups excluded, archive tested, sha256 recorded
    assert "--exclude='./backup-*.tar.gz'" in backup and "tar -tzf" in backup
    assert "sha256sum" in backup
    # 4: no fixed sleeps
    assert all("sleep" not in (s.command or "") for s in playbook.all_steps())
    # 5: every expected service, cloudflared included, is started
    starts = [playbook.step(f"phase2.start.{i}") for i in (1, 2, 3)]
    assert all("{group}" in (s.command or "") for s in starts)
    assert "cloudflared" in [name for s in starts for name in s.start_group]
    # 2: no passwords on a command line
    assert all("sshpass" not in (s.command or "") for s in playbook.all_steps())
    # 6: rollback restores the exact tree and checks the old commit
    assert "{pre_commit}" in playbook.step("rollback.restore").command
    # 7: the reported version is compared
    assert playbook.step("phase3.health").expect.json_equals["version"] == "{release_version}"
    # 8: the API probe goes through SSH from the operator's side
    assert playbook.step("phase3.health").via_ssh == "{api_via_ssh}"


def test_destructive_steps_are_flagged(playbook) -> None:
    destructive = {s.id for s in playbook.all_steps() if s.destructive}
    assert destructive == {"phase1.stop_stack", "rollback.stop", "rollback.restore"}


def test_every_step_has_kind_specific_fields(playbook) -> None:
    for step in playbook.all_steps():
        assert step.seed_ref and step.title
        if step.kind in (StepKind.SSH, StepKind.WAIT):
            assert step.command
        if step.kind == StepKind.SIGNOFF:
            assert step.role
