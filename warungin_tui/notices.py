"""Notifications: prepare the message (never with a blank where a contact belongs), and send it
through the optional `[notify] command`, run locally with the message on stdin, never by a shell.

A prepared message is not a sent one: the record says `prepared, not confirmed sent` until the
command sent it or the operator confirms that they did.
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warungin_tui.config import Config
from warungin_tui.playbook import Playbook, StepKind, StepSpec
from warungin_tui.redact import LineRedactor, redact_text
from warungin_tui.templating import render_plain

CONTACT_KEYS = frozenset(
    {"notify_to", "tech_lead", "tech_lead_email", "tech_lead_phone", "ops_lead", "security_lead"}
)
OUTPUT_LINES_KEPT = 20
"""Lines of the send command's output kept in the journal (redacted)."""
LINE_CHARS_KEPT = 300


def placeholder_for(key: str) -> str:
    return f"(no [contacts] {key} configured)"


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def missing_contacts(spec: StepSpec, values: Mapping[str, Any]) -> list[str]:
    """Contact keys the message names whose configured value is blank."""
    used = template_fields(spec.message or "") | template_fields(spec.subject or "")
    return sorted(k for k in used & CONTACT_KEYS if not str(values.get(k, "")).strip())


def contact_warnings(config: Config, playbook: Playbook) -> list[str]:
    """One line per blank contact a notification needs (for `validate` and the notify step)."""
    values = config.contacts.model_dump()
    needed: dict[str, list[str]] = {}
    for spec in playbook.all_steps():
        if spec.kind == StepKind.NOTIFY:
            for key in missing_contacts(spec, values):
                needed.setdefault(key, []).append(spec.title)
    return [
        f"[contacts] {key} is empty: {', '.join(titles)} would say {placeholder_for(key)}"
        for key, titles in sorted(needed.items())
    ]


def prepare_notice(spec: StepSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Subject, body and recipients; a blank contact is named as missing, never left blank."""
    missing = missing_contacts(spec, values)
    filled = {**values, **{key: placeholder_for(key) for key in missing}}
    body = render_plain(spec.message or "", filled)
    to = next(
        (line.removeprefix("TO:").strip() for line in body.splitlines() if line.startswith("TO:")),
        str(filled.get("notify_to", "")),
    )
    return {
        # The title was filled when the playbook was built: never format it a second time.
        "subject": render_plain(spec.subject, filled) if spec.subject else spec.title,
        "body": body,
        "to": to,
        "missing_contacts": missing,
    }


@dataclass(frozen=True)
class SendResult:
    ok: bool
    exit_code: int | None
    output: list[str]
    detail: str

    def record(self, command: list[str]) -> dict[str, Any]:
        return {
            "how": "command",
            "command": command_text(command),
            "ok": self.ok,
            "exit_code": self.exit_code,
            "output": self.output,
            "detail": self.detail,
        }


def command_text(command: list[str]) -> str:
    import shlex

    return redact_text(shlex.join(command))


async def send_notice(command: list[str], message: str, timeout: float) -> SendResult:
    """Run `command` (an argv list, no shell) on this machine with the message on stdin."""
    name = command_text(command[:1])
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return SendResult(False, None, [], f"cannot run {name}: {exc.strerror or exc}")
    try:
        async with asyncio.timeout(timeout):
            out, _ = await process.communicate(message.encode("utf-8"))
    except TimeoutError:
        process.kill()
        await process.wait()
        return SendResult(False, None, [], f"{name} did not finish within {timeout:g} s")
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    lines = out.decode("utf-8", "replace").splitlines()
    kept = LineRedactor().lines([line[:LINE_CHARS_KEPT] for line in lines[-OUTPUT_LINES_KEPT:]])
    code = process.returncode
    if code == 0:
        return SendResult(True, 0, kept, f"sent by {command_text(command)} (exit code 0)")
    last = f": {kept[-1]}" if kept else ""
    return SendResult(False, code, kept, f"sending by {name} failed with exit code {code}{last}")


def notice_state(value: Any, confirmed: Mapping[str, Any] | None, *, when: str = "") -> str:
    """`sent by <command>`, `confirmed sent by <operator> at <time>` or
    `prepared, not confirmed sent`: what the record may claim about a message."""
    sent = value.get("sent") if isinstance(value, dict) else None
    if isinstance(sent, dict) and sent.get("ok"):
        return f"sent by {sent.get('command')}" + (f" at {when}" if when else "")
    if confirmed:
        return f"confirmed sent by {confirmed.get('by') or 'unknown'} at {confirmed.get('at')}"
    return "prepared, not confirmed sent"
