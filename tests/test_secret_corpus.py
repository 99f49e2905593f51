"""A corpus of 40 secret shapes planted in the rehearsal host's .env, container logs and HTTP
answers never comes out of the tool: not in the journal, the engine's events, the wizard's
screen, `check` (text and --json), `monitor`, or either export. Over real OpenSSH.

The host runs the `secrets-in-output` scenario: its backend logs every line of the project's
.env as an ERROR line (so the error-log parser keeps them in `value.lines` and the detail), puts
them in its /api/health JSON and the frontend bakes them into its page.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import Static

from tests.helpers import REPO, cli_argv
from tests.playbook_driver import drive
from tests.test_app import on_screen, until
from tests.test_app_rehearsal import start
from warungin_tui.app import WarunginApp
from warungin_tui.config import journal_dir, load_config
from warungin_tui.engine.engine import Engine
from warungin_tui.engine.output_file import outputs_dir, read_full_output
from warungin_tui.outcome import StepStatus
from warungin_tui.redact import MASK
from warungin_tui.remote import Remote
from warungin_tui.report.export import export_journal
from warungin_tui.sandbox import project_files
from warungin_tui.sandbox.target import RehearsalTarget
from warungin_tui.widgets.output_log import OutputLog

pytestmark = pytest.mark.sshd


def sized(text: str, length: int, fill: str = "0") -> str:
    """`text` padded to an exact length (token shapes have fixed lengths)."""
    assert len(text) <= length
    return text + fill * (length - len(text))


AWS_SECRET_1 = sized("Crp10AwsSecretAccessKey/", 40, "Q")
AWS_SECRET_2 = sized("Crp23AwsSecretNextToId+", 40, "R")
GHP = "ghp_" + sized("Crp18GithubClassic", 36)
GITHUB_PAT = "github_pat_11AAAAAAA0" + sized("Crp19FineGrainedPat_", 59, "x")
NPM = "npm_" + sized("Crp33NpmToken", 36)
GCP_KEY = "AIza" + sized("Crp25GcpApiKey", 35)
BASIC = "Q3JwMzJCYXNpY0F1dGg6cGFzcw=="  # base64("Crp32BasicAuth:pass")
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDcnAzMCJ9.Crp30JwtSignature_abcdef"
SA_JSON = json.dumps(
    {
        "type": "service_account",
        "private_key_id": "Crp26PrivateKeyId0123",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQCrp27GcpKeyBody\n"
        "-----END PRIVATE KEY-----\n",
        "client_email": "deploy@warungin.iam.gserviceaccount.com",
    }
)

# (shape, text as planted in the .env (one line or a block), needle that must never be found)
CORPUS: list[tuple[str, str, str]] = [
    ("URL user:password", "DATABASE_URL=postgres://app:Crp01PgUrlPw@db:5432/x", "Crp01PgUrlPw"),
    ("URL :password", "REDIS_URL=redis://:Crp02RedisPw@redis:6379/0", "Crp02RedisPw"),
    ("amqp URL", "BROKER=amqp://shop:Crp03AmqpPw@rabbit:5672/", "Crp03AmqpPw"),
    ("mongodb+srv URL", "MONGO=mongodb+srv://app:Crp04MongoPw@c0.example.net/db", "Crp04MongoPw"),
    ("URL token@", "ORIGIN=https://Crp05UrlTokenAbCd@git.example.com/a.git", "Crp05UrlToken"),
    ("*_PASS", "DB_PASS=Crp06DbPass", "Crp06DbPass"),
    ("*_PWD", "SMTP_PWD=Crp07SmtpPwd", "Crp07SmtpPwd"),
    ("*_PASSWORD", "DB_PASSWORD=Crp08DbPassword", "Crp08DbPassword"),
    ("*_SECRET", "JWT_SECRET=Crp09JwtSecret", "Crp09JwtSecret"),
    ("*_KEY (AWS secret)", f"AWS_SECRET_ACCESS_KEY={AWS_SECRET_1}", "Crp10AwsSecret"),
    ("*_TOKEN", "API_TOKEN=Crp11ApiToken", "Crp11ApiToken"),
    ("*_KEY", "MAPS_API_KEY='Crp12MapsKey'", "Crp12MapsKey"),
    ("mysql -p", "# restore: mysql -uroot -pCrp13MysqlPw shop", "Crp13MysqlPw"),
    ("mysqldump -p", "# dump: mysqldump -u root -pCrp14DumpPw shop", "Crp14DumpPw"),
    ("Stripe sk_live", "PAYMENTS=sk_live_Crp15StripeLiveAbc123", "Crp15StripeLive"),
    ("Stripe sk_test", "PAYMENTS_TEST=sk_test_Crp16StripeTestAbc123", "Crp16StripeTest"),
    ("Stripe rk_live", "PAYMENTS_RO=rk_live_Crp17StripeRestricted99", "Crp17StripeRestr"),
    ("GitHub ghp_", f"CI={GHP}", "Crp18GithubClassic"),
    ("GitHub github_pat_", f"CI_FINE={GITHUB_PAT}", "Crp19FineGrained"),
    ("Slack xoxb-", "CHAT=xoxb-123456789012-1234567890123-Crp20SlackBot", "Crp20SlackBot"),
    (
        "Slack webhook URL",
        "ALERTS=https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/Crp21SlackHook",
        "Crp21SlackHook",
    ),
    ("AWS AKIA key id", "AWS_ID=AKIACRP22AWSKEYID000", "AKIACRP22AWSKEYID000"),
    ("AWS secret next to its id", f"# aws: AKIACRP23OTHERID0000 {AWS_SECRET_2}", "Crp23AwsSecret"),
    ("AWS ASIA key id", "SESSION_ID=ASIACRP24SESSIONID00", "ASIACRP24SESSIONID00"),
    ("GCP API key", f"MAPS={GCP_KEY}", "Crp25GcpApiKey"),
    ("GCP service account private_key_id", f"GOOGLE_CREDENTIALS={SA_JSON}", "Crp26PrivateKeyId"),
    ("GCP service account private_key", f"GCP_SA={SA_JSON}", "Crp27GcpKeyBody"),
    (
        "RSA private key block",
        'SSH_DEPLOY_KEY="-----BEGIN RSA PRIVATE KEY-----\nMIIEowCrp28RsaKeyBodyLine1\n'
        'Crp28RsaKeyBodyLine2AAAA\n-----END RSA PRIVATE KEY-----"',
        "Crp28RsaKeyBody",
    ),
    (
        "OpenSSH private key block",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaCrp29OpenSshBody\n"
        "-----END OPENSSH PRIVATE KEY-----",
        "Crp29OpenSshBody",
    ),
    ("JWT", f"SESSION={JWT}", "Crp30JwtSignature"),
    ("Authorization: Bearer", "# Authorization: Bearer Crp31BearerToken", "Crp31BearerToken"),
    ("Authorization: Basic", f"# Authorization: Basic {BASIC}", BASIC),
    ("npm token", f"NPMRC=//registry.npmjs.org/:_authToken={NPM}", "Crp33NpmToken"),
    ("YAML password:", "# password: Crp34YamlPassword", "Crp34YamlPassword"),
    ("JSON password", 'LOGIN={"user": "ops", "password": "Crp35JsonPassword"}', "Crp35JsonPass"),
    ("sshpass -p", "# sshpass -p Crp36SshPass ssh deploy@warungin", "Crp36SshPass"),
    ("GitLab glpat-", "GITLAB=glpat-Crp37GitlabToken0000", "Crp37GitlabToken"),
    ("SendGrid SG.", "MAIL=SG.Crp38SendGridKey0000.abcdefghijklmnopqrstuv", "Crp38SendGrid"),
    ("PGPASSWORD=", "# PGPASSWORD=Crp39PgPassword psql -h db", "Crp39PgPassword"),
    ("client_secret:", "# client_secret: Crp40ClientSecret", "Crp40ClientSecret"),
]
DOTENV = "\n".join(text for _, text, _ in CORPUS) + "\n"
NEEDLES = [needle for _, _, needle in CORPUS]
# Re-run in the wizard; phase3.error_logs last, as it fails again and closes later gates.
PROBES = [
    ("monitoring", "monitoring.error_logs"),
    ("phase3", "phase3.health"),
    ("phase3", "phase3.frontend"),
    ("phase3", "phase3.error_logs"),
]


def found(text: str) -> list[str]:
    """The needles present in `text` (needles are plain ASCII: JSON never escapes them)."""
    return [needle for needle in NEEDLES if needle in text]


def run_cli(config_path: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WARUNGIN_TUI_CONFIG": ""}
    done = subprocess.run(
        cli_argv(*args, "--config", str(config_path)),
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout + done.stderr


def test_corpus_is_large_and_distinct() -> None:
    assert len(CORPUS) >= 30
    assert len(set(NEEDLES)) == len(NEEDLES)
    assert len({shape for shape, _, _ in CORPUS}) == len(CORPUS)


async def drive_overriding(engine: Engine, stop_before: str) -> None:
    """The whole playbook up to `stop_before`; the error-log checks fail (the leaked lines are
    ERROR lines) and are overridden, as an operator would after reading them."""
    for _ in range(10):
        failed = await drive(engine, stop_before=stop_before)
        if failed is None:
            return
        engine.override_step(failed, "secret corpus test: leaked settings are expected")
    raise AssertionError("the playbook kept failing")


def selected(app: WarunginApp) -> str | None:
    spec = getattr(app.screen, "selected_spec", lambda: None)()
    return spec.id if spec is not None else None


def screen_texts(app: WarunginApp) -> dict[str, str]:
    """Everything the wizard shows of the selected step: screenshot, output pane, detail."""
    screen = app.screen
    return {
        "screenshot": html.unescape(app.export_screenshot()),
        "output pane": "\n".join(screen.query_one("#output", OutputLog).plain_lines),
        "detail pane": str(screen.query_one("#info-text", Static).render()),
    }


async def test_secret_corpus_is_found_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(project_files, "LEAKY_DOTENV", DOTENV)
    seen: dict[str, str] = {}  # where -> text the tool produced
    root = tmp_path / "target"
    async with RehearsalTarget("secrets-in-output", root=root, transport="openssh") as target:
        host = target.host
        # The corpus really is where the tool reads: raw logs and HTTP answers hold all of it.
        raw_logs = host.docker("compose", "logs", "--no-color").stdout
        async with httpx.AsyncClient(trust_env=False) as client:
            raw_health = (await client.get(f"{host.api_url}/api/health")).text
            raw_page = (await client.get(host.frontend_url)).text
        assert found(raw_logs) == NEEDLES
        assert found(raw_health) == NEEDLES
        assert found(raw_page) == NEEDLES

        config = load_config(target.config_path)
        events: list[dict[str, Any]] = []

        # 1. The engine through every phase that reads logs or HTTP (live events included).
        remote = Remote(config.target)
        engine = Engine.start_new(config, journal_dir(config), operator="Corpus", remote=remote)
        engine.subscribe(events.append)
        try:
            await drive_overriding(engine, stop_before="golive.decision")
        finally:
            await engine.aclose()
            await remote.close()
        assert engine.journal is not None
        journal_path = engine.journal.path
        error_logs = engine.run.results["phase3.error_logs"]
        assert len(error_logs.value["lines"]) > 20  # the leaked lines did reach the parser

        # 2. The wizard: resume the run, run the probes again, read what the screen shows.
        app = WarunginApp(config, target.config_path, journal_dir=journal_dir(config))
        async with app.run_test(size=(220, 60)) as pilot:
            await start(pilot)
            for phase_id, step_id in PROBES:
                run = app.engine.run if app.engine else None
                assert run is not None
                before = run.results[step_id].attempts
                app.open_phase(phase_id, step_id)
                await on_screen(pilot, f"phase-{phase_id}")
                await until(pilot, lambda step_id=step_id: selected(app) == step_id)
                await pilot.press("r")
                await until(
                    pilot,
                    lambda run=run, step_id=step_id, before=before: (
                        run.results[step_id].attempts > before
                        and run.status(step_id) != StepStatus.RUNNING
                    ),
                    timeout=60,
                )
                await pilot.pause()
                if app.screen.name == "confirm":  # a failed check offers the rollback: no
                    seen[f"wizard {step_id} dialog"] = html.unescape(app.export_screenshot())
                    await pilot.press("n")
                    await on_screen(pilot, f"phase-{phase_id}")
                # the pane shows the step
                assert app.screen.query_one("#output", OutputLog).plain_lines
                for kind, text in screen_texts(app).items():
                    seen[f"wizard {step_id} {kind}"] = text

        # 3. A rollback (collects the error logs for the incident report first).
        remote = Remote(config.target)
        engine = Engine.resume(config, journal_path, remote=remote)
        engine.subscribe(events.append)
        try:
            await engine.rollback(reason="secret corpus test")
        finally:
            await engine.aclose()
            await remote.close()
        assert engine.run.results["incident.collect_logs"].attempts >= 1

        # 4. Headless: check (text and --json) and one monitoring round.
        seen["check --json"] = run_cli(target.config_path, "check", "--phase", "verify", "--json")
        seen["check"] = run_cli(target.config_path, "check", "--phase", "verify")
        seen["check pre --json"] = run_cli(target.config_path, "check", "--phase", "pre", "--json")
        seen["monitor --once"] = run_cli(target.config_path, "monitor", "--once")

    # 5. The journal, the events listeners saw, and both exports.
    seen["journal"] = journal_path.read_text()
    seen["engine events"] = json.dumps(events)
    for path in export_journal(journal_path, tmp_path / "exports"):
        seen[f"export {path.suffix}"] = path.read_text()
    assert {"export .md", "export .json"} <= seen.keys()
    # Every step attempt's complete output (the side files beside the journal), read back.
    side_files = sorted(outputs_dir(journal_path).glob("*.log.gz"))
    for side_file in side_files:
        seen[f"output file {side_file.name}"] = "\n".join(read_full_output(side_file))
    error_log_files = [f"output file {f.name}" for f in side_files if "error_logs" in f.name]
    assert error_log_files  # the leaked log lines did reach a side file
    leaks = {where: found(text) for where, text in seen.items() if found(text)}
    assert leaks == {}, json.dumps(leaks, indent=1)
    # Every place did see the leaked settings, redacted (not merely nothing at all).
    shown_redacted = [
        "journal",
        "engine events",
        "export .md",
        "export .json",
        "check --json",
        "check",
        "monitor --once",
        *(f"wizard {step_id} output pane" for _, step_id in PROBES),
        "wizard phase3.error_logs detail pane",
        "wizard phase3.error_logs screenshot",
        *error_log_files,
    ]
    assert [where for where in shown_redacted if MASK not in seen[where]] == []
