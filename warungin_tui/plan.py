"""The playbook as it will run on one target, rendered without connecting (`warungin-tui plan`).

What an operator attaches to the change-approval request: every step in order with its command
filled in from the config; values that earlier steps record appear as `{backup_file}`.
"""

from __future__ import annotations

import re
from typing import Any

from warungin_tui.config import Config
from warungin_tui.playbook import AUTOMATED_KINDS, StepKind, StepSpec, build_playbook
from warungin_tui.templating import render_command, render_plain
from warungin_tui.values import config_values, group_values

# Shell-safe (shlex.quote leaves it bare), so it can be turned back into `{name}` afterwards.
_TOKEN = "__warungin_plan_{}__"
_TOKEN_PATTERN = re.compile(r"__warungin_plan_(\w+?)__")


class _Placeholders(dict[str, Any]):
    """Config values; any other name renders as a placeholder token."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return _TOKEN.format(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]


def _untokened(text: str) -> str:
    return _TOKEN_PATTERN.sub(lambda m: "{" + m.group(1) + "}", text)


def plan_steps(config: Config) -> list[dict[str, Any]]:
    """Every step of the playbook in order, rendered for this config."""
    playbook = build_playbook(config)
    known = config_values(config)
    rows = []
    for phase in playbook.phases:
        for spec in phase.steps:
            values = _Placeholders(known)
            if spec.start_group:
                values.update(group_values(spec.start_group, spec.start_group_index))
            rows.append(_row(phase.id, phase.procedure, spec, values))
    return rows


def _row(phase_id: str, procedure: bool, spec: StepSpec, values: _Placeholders) -> dict[str, Any]:
    command = url = None
    if spec.kind in (StepKind.SSH, StepKind.WAIT) and spec.command:
        command = _untokened(render_command(spec.command, values))
    if spec.kind == StepKind.HTTP and spec.url:
        url = _untokened(render_plain(spec.url, values))
    timeout = None
    if spec.kind in AUTOMATED_KINDS:
        timeout = float(_untokened(render_plain(spec.timeout, values)))
    return {
        "id": spec.id,
        "phase": phase_id,
        "procedure": procedure,
        "title": spec.title,
        "kind": str(spec.kind),
        "command": command,
        "method": spec.method if url else None,
        "url": url,
        "destructive": spec.destructive,
        "retry_safe": spec.retry_safe,
        "timeout_s": timeout,
    }


def plan_text(rows: list[dict[str, Any]], config: Config) -> str:
    """The plan for reading: one block per step, commands indented under their step."""
    lines = [f"Plan for {config.target.label}, release {config.release.version}"]
    phase = None
    for row in rows:
        if row["phase"] != phase:
            phase = row["phase"]
            note = " (on demand)" if row["procedure"] else ""
            lines += ["", f"== {phase}{note}"]
        flags = [row["kind"]]
        if row["destructive"]:
            flags.append("DESTRUCTIVE")
        if row["timeout_s"] is not None:
            flags.append(f"timeout {row['timeout_s']:g} s")
            if not row["retry_safe"]:
                flags.append("not retry-safe")
        lines.append(f"{row['id']}  [{', '.join(flags)}]  {row['title']}")
        if row["command"]:
            lines += [
                f"    {'$' if n == 0 else ' '} {text}"
                for n, text in enumerate(row["command"].splitlines())
            ]
        if row["url"]:
            lines.append(f"    {row['method']} {row['url']}")
    return "\n".join(lines)
