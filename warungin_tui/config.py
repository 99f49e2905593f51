"""The operator's config: one TOML file, validated by pydantic, errors told in TOML words."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from warungin_tui import config_rules as rules

# Re-exported: the rest of the package imports them from here.
from warungin_tui.config_source import ENV_CONFIG as ENV_CONFIG
from warungin_tui.config_source import MAX_CONFIG_BYTES as MAX_CONFIG_BYTES
from warungin_tui.config_source import MAX_CONFIG_NESTING as MAX_CONFIG_NESTING
from warungin_tui.config_source import ConfigError as ConfigError
from warungin_tui.config_source import read_config_data
from warungin_tui.config_source import resolve_config_path as resolve_config_path
from warungin_tui.config_source import user_config_path as user_config_path

SEED_SERVICES = [
    "postgres",
    "redis",
    "backend",
    "frontend",
    "nginx",
    "loki",
    "promtail",
    "cloudflared",
]
SEED_START_ORDER = [
    ["postgres", "redis"],
    ["backend", "frontend"],
    ["nginx", "loki", "promtail", "cloudflared"],
]
# A key whose name looks like one of these never belongs in a file on disk.
SECRET_KEY_PATTERN = re.compile(r"pass(word|wd|phrase)?$|secret|token|api_?key|private_?key", re.I)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _checked(rule: Callable[[str], str | None]) -> AfterValidator:
    """A pydantic validator from a config_rules check (its reason becomes the message)."""

    def check(value: str) -> str:
        problem = rule(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


Port = Annotated[int, Field(ge=1, le=65535)]
# TOML has inf and nan; neither is a time limit, and JSON (the journal) cannot hold them.
PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Text = Annotated[str, _checked(rules.text_problem)]
LocalPath = Annotated[str, _checked(rules.local_path_problem)]
RemotePath = Annotated[str, _checked(rules.remote_path_problem)]
ServiceName = Annotated[str, _checked(rules.compose_service_problem)]


class TargetConfig(_Section):
    host: Annotated[str, _checked(rules.host_problem)]
    """Host name or address of the Warungin server."""
    port: Port = 22
    user: Annotated[str, _checked(rules.login_name_problem)]
    """Login user; need not be root."""
    project_dir: RemotePath
    """Folder of the Warungin checkout on the server (holds docker-compose.yml)."""
    known_hosts: LocalPath = "~/.ssh/known_hosts"
    identity_file: LocalPath | None = None
    """Private key file; the SSH agent is used when absent."""
    backup_dir: RemotePath | None = None
    """Where release backups are written; defaults to project_dir (earlier backups excluded)."""

    @property
    def effective_backup_dir(self) -> str:
        return self.backup_dir or self.project_dir

    @property
    def label(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


class ReleaseConfig(_Section):
    version: Annotated[str, _checked(rules.version_problem)]
    branch: Annotated[str, _checked(rules.branch_problem)] = "main"


class EndpointsConfig(_Section):
    api: str = "http://localhost:8000"
    """Backend base URL as seen from the server."""
    frontend: str
    """Frontend URL as a user's browser opens it."""
    api_via_ssh: bool = True
    """Probe the API through an SSH port forward (it is usually bound to the server's localhost)."""
    ca_bundle: Annotated[str, _checked(rules.ca_bundle_problem)] | None = None
    """A PEM file of private CA certificates trusted besides the system's CA store (an absolute
    path on this machine, `~` allowed)."""

    @field_validator("api", "frontend")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value) or rules.control_characters(value):
            raise ValueError("must be an http:// or https:// URL")
        if any(c.isspace() for c in value) or len(value) > rules.MAX_PATH_LENGTH:
            raise ValueError("must be an http:// or https:// URL without spaces")
        authority = value.split("://", 1)[1].split("/", 1)[0]
        if "@" in authority:
            userinfo = authority.rsplit("@", 1)[0]
            if ":" in userinfo:
                raise ValueError("must not hold a password (user:password@): secrets stay out")
            raise ValueError("must not hold a user name (user@): write the plain URL")
        return value.rstrip("/")


class ServicesConfig(_Section):
    expected: list[ServiceName] = Field(default_factory=lambda: list(SEED_SERVICES))
    start_order: list[list[ServiceName]] = Field(
        default_factory=lambda: [g[:] for g in SEED_START_ORDER]
    )

    @field_validator("start_order")
    @classmethod
    def _groups_not_empty(cls, value: list[list[str]]) -> list[list[str]]:
        if not value or any(not group for group in value):
            raise ValueError("must be a list of non-empty lists of service names")
        return value

    @model_validator(mode="after")
    def _every_expected_service_starts(self) -> ServicesConfig:
        started = [name for group in self.start_order for name in group]
        missing = [name for name in self.expected if name not in started]
        if missing:
            raise ValueError(f"start_order never starts {', '.join(missing)}")
        return self


PostgresName = Annotated[str, _checked(rules.postgres_identifier_problem)]


class DatabaseConfig(_Section):
    service: ServiceName = "postgres"
    user: PostgresName = "warungin"
    name: PostgresName = "warungin"
    backups_dir: RemotePath | None = None
    """Folder of the database dumps; defaults to <project_dir>/backups/db."""
    backups_glob: Annotated[str, _checked(rules.file_glob_problem)] = "*.sql.gz"


class OperatorConfig(_Section):
    name: Text = ""


class ContactsConfig(_Section):
    tech_lead: Text = ""
    tech_lead_email: Text = ""
    tech_lead_phone: Text = ""
    ops_lead: Text = ""
    security_lead: Text = ""
    database_admin: Text = ""
    on_call_rotation: Text = ""
    notify_to: Text = "All Staff"


class NotifyConfig(_Section):
    command: list[str] | None = None
    """Sends a notification: run on this machine (argv, no shell) with the message on stdin,
    e.g. ["mail", "-s", "Deployment", "ops@example.com"]. Unset: the operator sends it."""
    timeout_seconds: PositiveSeconds = 60.0

    @field_validator("command")
    @classmethod
    def _argv(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not part.strip() for part in value)):
            raise ValueError(
                'must be a list of non-empty strings, e.g. ["mail", "-s", "Deployment", '
                '"ops@example.com"] (run without a shell)'
            )
        # The config is journaled with the run: a webhook key or token in an argument would be
        # stored there. What the redactor would hide is refused here (one definition of secret).
        from warungin_tui.redact import redact_text

        if value is not None and any(redact_text(part) != part for part in value):
            raise ValueError(
                "holds a secret (a token, password or webhook key): keep it out of the config, "
                "e.g. in a file the command reads (curl --config FILE) or a wrapper script"
            )
        return value


class ThresholdsConfig(_Section):
    frontend_load_seconds: PositiveSeconds = 3.0
    api_latency_ms: PositiveSeconds = 1000.0
    error_log_tail_lines: Annotated[int, Field(ge=1, le=100_000)] = 100
    backup_max_age_hours: PositiveSeconds = 24.0
    command_timeout_seconds: PositiveSeconds = 120.0
    build_timeout_seconds: PositiveSeconds = 1800.0
    service_ready_timeout_seconds: PositiveSeconds = 120.0
    poll_interval_seconds: PositiveSeconds = 2.0
    session_drain_timeout_seconds: PositiveSeconds = 900.0
    maintenance_minutes: Annotated[int, Field(ge=1)] = 30
    unhealthy_grace_polls: Annotated[int, Field(ge=1, le=10_000)] = 3
    """Wait steps: a failing Docker health check fails the wait only after it was seen on this
    many polls in a row and for `unhealthy_grace_seconds` (both: Docker health can recover
    after a failing start, and early polls come fast). `exited`/`dead` fail at once."""
    unhealthy_grace_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 30.0
    """See `unhealthy_grace_polls`; 0 with 1 poll fails on the first unhealthy answer."""


FinitePositive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class MonitoringConfig(_Section):
    """The 24-hour monitoring schedule (the seed's defaults) and its alert thresholds."""

    period_hours: FinitePositive = 24.0
    """Length of the monitoring period before the sign-off."""
    active_error_logs_minutes: FinitePositive = 15.0
    """Hour 1-2: error logs this often."""
    active_checks_minutes: FinitePositive = 30.0
    """Hour 1-2: service health, CPU/memory and database connections this often."""
    user_activity_minutes: FinitePositive = 30.0
    """Hour 3-4: user activity and response times (with health and logs) this often."""
    standard_minutes: FinitePositive = 60.0
    """Hour 5 to the end: every check this often."""
    cpu_alert_percent: FinitePositive = 90.0
    """A container over this CPU % raises an alert."""
    memory_alert_percent: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 90.0
    """A container over this memory % raises an alert."""
    latency_limit_ms: FinitePositive | None = None
    """API latency limit for the sign-off's performance; defaults to [thresholds] api_latency_ms."""


class ArchiveConfig(_Section):
    dir: LocalPath | None = None
    """Where deployment logs are exported; defaults to the user data folder."""
    journal_dir: LocalPath | None = None
    """Where run journals live; defaults to the user state folder."""


class RollbackConfig(_Section):
    keep: list[str] = Field(default_factory=list)
    """Project-relative paths the restore leaves as they are (bind-mounted data, uploads), besides
    backup_dir and the dumps folder when they are inside the project (always kept)."""

    @field_validator("keep")
    @classmethod
    def _relative_paths(cls, value: list[str]) -> list[str]:
        for path in value:
            parts = path.split("/")
            if not path.strip() or path.startswith(("/", "~")) or ".." in parts:
                raise ValueError(
                    f"{path!r}: must be a path inside project_dir, relative to it "
                    "(no leading / or ~, no ..)"
                )
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in path) or path.strip("./") == "":
                raise ValueError(f"{path!r}: must name a file or folder inside project_dir")
        return value


class Config(_Section):
    target: TargetConfig
    release: ReleaseConfig
    endpoints: EndpointsConfig
    services: ServicesConfig = Field(default_factory=ServicesConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    operator: OperatorConfig = Field(default_factory=OperatorConfig)
    contacts: ContactsConfig = Field(default_factory=ContactsConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)
    archive: ArchiveConfig = Field(default_factory=ArchiveConfig)
    rollback: RollbackConfig = Field(default_factory=RollbackConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)

    @property
    def db_backups_dir(self) -> str:
        return self.database.backups_dir or f"{self.target.project_dir.rstrip('/')}/backups/db"


def _find_secret_keys(data: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if SECRET_KEY_PATTERN.search(str(key)):
                found.append((*path, str(key)))
            found.extend(_find_secret_keys(value, (*path, str(key))))
    return found


def _toml_location(loc: tuple[str | int, ...]) -> str:
    parts = [str(p) for p in loc]
    if not parts:
        return "(top level)"
    if len(parts) == 1:
        return f"[{parts[0]}]"
    section, key, *rest = parts
    suffix = "".join(f"[{p}]" for p in rest)
    return f"[{section}] {key}{suffix}"


def _describe_error(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known key (check the spelling; see sample_config.toml)"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be an integer"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _range_message(error)
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    if kind == "finite_number":
        return "must be a finite number (not inf or nan)"
    if kind in ("string_type",):
        return "must be a string"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind in ("list_type",):
        return "must be a list"
    if kind in ("model_type", "dict_type"):
        return "must be a table"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def _range_message(error: ErrorDetails) -> str:
    loc = error["loc"]
    field = _field_info(loc)
    low = high = None
    strict_low = False
    for meta in getattr(field, "metadata", []) if field else []:
        if getattr(meta, "ge", None) is not None:
            low = meta.ge
        if getattr(meta, "gt", None) is not None:
            low, strict_low = meta.gt, True
        if getattr(meta, "le", None) is not None:
            high = meta.le
    is_int = field is not None and field.annotation is int
    noun = "an integer" if is_int else "a number"
    if low is not None and high is not None:
        return f"must be {noun} between {low} and {high}"
    if low is not None:
        return f"must be {noun} {'greater than' if strict_low else 'at least'} {low}"
    return str(error["msg"])


def _field_info(loc: tuple[Any, ...]) -> Any:
    model: Any = Config
    field = None
    for part in loc:
        if not isinstance(part, str) or not hasattr(model, "model_fields"):
            return field
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = field.annotation
    return field


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    """The config, or a ConfigError listing every problem at once (secret keys first), one
    line each with the field's TOML path."""
    secrets = _find_secret_keys(data)
    lines = [
        f"{_toml_location(loc)}: passwords and secrets are refused in the config; "
        "log in with an SSH key (identity_file) or the SSH agent"
        for loc in secrets
    ]
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not str(p).startswith("function-after"))
            if loc in secrets and error["type"] == "extra_forbidden":
                continue  # already told, with the advice that fits a secret
            lines.append(f"{_toml_location(loc)}: {_describe_error(error)}")
    else:
        if not lines:
            return config
    raise ConfigError(lines, path)


def load_config(path: Path) -> Config:
    return parse_config(read_config_data(path), path)


def journal_dir(config: Config) -> Path:
    """Run journals: [archive] journal_dir, else the user state folder."""
    if config.archive.journal_dir:
        return Path(config.archive.journal_dir).expanduser()
    from platformdirs import user_state_path

    return user_state_path("warungin-tui") / "runs"


def archive_dir(config: Config) -> Path:
    """Exported deployment logs: [archive] dir, else the user data folder."""
    if config.archive.dir:
        return Path(config.archive.dir).expanduser()
    from platformdirs import user_data_path

    return user_data_path("warungin-tui") / "deployments"
