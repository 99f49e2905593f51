"""The playbook as data: phases and steps loaded from TOML, expanded against a config."""

from __future__ import annotations

import copy
import functools
import hashlib
import tomllib
from enum import StrEnum
from importlib import resources
from pathlib import Path
from string import Formatter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from warungin_tui.config import Config, ConfigError
from warungin_tui.templating import render_plain


class StepKind(StrEnum):
    SSH = "ssh"
    HTTP = "http"
    MANUAL = "manual"
    SIGNOFF = "signoff"
    INPUT = "input"
    WAIT = "wait"
    NOTIFY = "notify"
    DECISION = "decision"


AUTOMATED_KINDS = {StepKind.SSH, StepKind.HTTP, StepKind.WAIT, StepKind.NOTIFY}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(_Strict):
    """What a step's result must look like to pass. Strings may hold `{name}` templates."""

    exit_code: int | None = 0
    stdout_regex: str | None = None
    stdout_equals: str | None = None
    parser: str | None = None
    """Name of a parser in steps/parsers.py that turns output into a value and a verdict."""
    status_min: int | None = None
    status_max: int | None = None
    json_equals: dict[str, str] = Field(default_factory=dict)
    body_contains: str | None = None
    latency_max_s: str | None = None
    """Fail when slower than this (a number or a `{threshold}` template)."""
    latency_warn_ms: str | None = None
    """Warn (inconclusive) when slower than this."""
    until_value: str | None = None
    """Wait steps: poll until the parsed value equals this."""


class StepSpec(_Strict):
    id: str
    title: str
    seed_ref: str
    kind: StepKind
    group: str = ""
    command: str | None = None
    method: str = "GET"
    url: str | None = None
    json_body: dict[str, Any] | None = None
    via_ssh: bool | str = False
    """HTTP probes: go through an SSH port forward (True, or a `{config flag}` template)."""
    expect: Expect = Field(default_factory=Expect)
    timeout: str = "{command_timeout_seconds}"
    interval: str = "{poll_interval_seconds}"
    destructive: bool = False
    retry_safe: bool = False
    """Whether an interrupted attempt whose outcome the host cannot tell may simply run again
    (read-only probes); a step that changes the host is confirmed first."""
    read_only: bool = False
    """A probe that only looks: it changes nothing on the host nor elsewhere (no message sent).
    Only read-only probes may run beside each other (rules.may_run_together)."""
    captures: list[str] = Field(default_factory=list)
    """Names under which the parsed value(s) are kept for later templates."""
    json_captures: dict[str, str] = Field(default_factory=dict)
    """HTTP steps: capture name -> dotted field of the JSON answer (which must hold it)."""
    role: str | None = None
    prompt: str | None = None
    choices: list[str] = Field(default_factory=list)
    url_to_open: str | None = None
    look_for: str | None = None
    measured_by: str | None = None
    """Another step whose measured value is shown beside this manual check."""
    message: str | None = None
    subject: str | None = None
    services: str | None = None
    """Compose checks: the services to judge (space-separated; a template)."""
    for_each: str | None = None
    """`start_order`: repeat this step once per start group (`{group}`, `{group_index}`)."""
    start_group: list[str] = Field(default_factory=list)
    """An expanded `start_order` step: the services of its group (the value of `{group}`)."""
    start_group_index: int | None = None
    """An expanded `start_order` step: its group's place in the start order, from 1."""
    on_fail: str = ""
    """What to do when this step fails, in the playbook's words (shown beside the evidence)."""

    @model_validator(mode="after")
    def _kind_fields(self) -> StepSpec:
        needs = {
            StepKind.SSH: self.command,
            StepKind.WAIT: self.command,
            StepKind.HTTP: self.url,
            StepKind.NOTIFY: self.message,
        }
        if self.kind in needs and not needs[self.kind]:
            raise ValueError(f"step {self.id}: a {self.kind} step needs its template")
        if self.kind == StepKind.SIGNOFF and not self.role:
            raise ValueError(f"step {self.id}: a signoff step needs a role")
        if self.read_only and (self.destructive or not self.retry_safe or not self.automated):
            raise ValueError(
                f"step {self.id}: a read_only step is an automated probe, retry-safe and "
                "not destructive"
            )
        return self

    def template_names(self) -> set[str]:
        """The `{names}` its command and URL use (captures of earlier steps among them)."""
        template = " ".join(t for t in (self.command, self.url) if t)
        return {name for _, name, _, _ in Formatter().parse(template) if name}

    @property
    def automated(self) -> bool:
        return self.kind in AUTOMATED_KINDS


class PhaseSpec(_Strict):
    id: str
    title: str
    seed_ref: str
    summary: str = ""
    procedure: bool = False
    """Procedures (rollback, incident) run on demand, outside the linear gate order."""
    probes_together: bool = False
    """`a` runs the phase's automated steps at the same time and reports each, even when one
    fails (the gate still closes on any failure). Only for read-only probes none of which
    uses another's capture; other phases run in order and stop at the first failure."""
    steps: list[StepSpec]

    @model_validator(mode="after")
    def _probes_independent(self) -> PhaseSpec:
        if not self.probes_together:
            return self
        automated = [s for s in self.steps if s.automated]
        captured = {name for s in automated for name in s.captures}
        for step in automated:
            if not step.read_only:
                raise ValueError(
                    f"phase {self.id}: probes_together, but {step.id} is not read_only"
                )
            if step.template_names() & captured:
                raise ValueError(
                    f"phase {self.id}: probes_together, but {step.id} uses another probe's capture"
                )
        return self


class Playbook(_Strict):
    name: str
    version: str
    phases: list[PhaseSpec]

    @model_validator(mode="after")
    def _unique_ids(self) -> Playbook:
        seen: set[str] = set()
        for phase in self.phases:
            for step in phase.steps:
                if step.id in seen:
                    raise ValueError(f"step id {step.id} appears twice")
                seen.add(step.id)
        return self

    @property
    def linear_phases(self) -> list[PhaseSpec]:
        return [p for p in self.phases if not p.procedure]

    def phase(self, phase_id: str) -> PhaseSpec:
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        raise KeyError(phase_id)

    def step(self, step_id: str) -> StepSpec:
        for phase in self.phases:
            for step in phase.steps:
                if step.id == step_id:
                    return step
        raise KeyError(step_id)

    def phase_of(self, step_id: str) -> PhaseSpec:
        for phase in self.phases:
            if any(step.id == step_id for step in phase.steps):
                return phase
        raise KeyError(step_id)

    def all_steps(self) -> list[StepSpec]:
        return [step for phase in self.phases for step in phase.steps]

    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


DEFAULT_PLAYBOOK = "playbook.toml"


def load_playbook_data(path: Path | None = None) -> dict[str, Any]:
    if path is None:  # parsed once a process (the CLI, start and resume each build one)
        return copy.deepcopy(_default_playbook_data())
    return _parse_playbook(Path(path).read_text("utf-8"), str(path))


@functools.cache
def _default_playbook_data() -> dict[str, Any]:
    text = resources.files("warungin_tui").joinpath(DEFAULT_PLAYBOOK).read_text("utf-8")
    return _parse_playbook(text, DEFAULT_PLAYBOOK)


def _parse_playbook(text: str, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"playbook {name}: not valid TOML: {exc}"]) from None


def build_playbook(config: Config, data: dict[str, Any] | None = None) -> Playbook:
    """Expand `for_each` steps against the config; the result's ids are stable for one config."""
    raw = data if data is not None else load_playbook_data()
    phases = []
    for phase in raw.get("phases", []):
        steps: list[dict[str, Any]] = []
        block: list[dict[str, Any]] = []
        for step in [*phase.get("steps", []), None]:
            if step is not None and step.get("for_each") == "start_order":
                block.append(step)
                continue
            # Consecutive per-group steps interleave: start group 1, wait for it, start group 2...
            steps.extend(_expand_start_order(block, config))
            block = []
            if step is not None:
                steps.append(dict(step))  # titles are filled below: never in the caller's data
        phases.append({**phase, "steps": steps})
    from warungin_tui.values import config_values, group_values

    values = config_values(config)
    for phase in phases:
        for step in phase["steps"]:
            # One pass over the playbook's own template: a value is never formatted again.
            group = group_values(step.get("start_group") or [], step.get("start_group_index"))
            step["title"] = _fill_title(step["title"], {**values, **group})
    try:
        return Playbook.model_validate({**raw, "phases": phases})
    except ValidationError as exc:
        lines = [f"playbook: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(lines) from None


def _fill_title(title: str, values: dict[str, Any]) -> str:
    """Titles name config values ("version {release_version}"); unknown names stay visible."""
    try:
        return render_plain(title, values)
    except (KeyError, ValueError, IndexError):
        return title


def _expand_start_order(block: list[dict[str, Any]], config: Config) -> list[dict[str, Any]]:
    """Copies of each step per start group; the group travels as data, filled in at render time."""
    expanded = []
    for index, group in enumerate(config.services.start_order, start=1):
        for step in block:
            expanded.append(
                {
                    **step,
                    "id": f"{step['id']}.{index}",
                    "for_each": None,
                    "start_group": list(group),
                    "start_group_index": index,
                }
            )
    return expanded
