"""Template values that come from the config alone (commands, messages, titles)."""

from __future__ import annotations

from typing import Any

from warungin_tui.backup_layout import BackupLayout
from warungin_tui.config import Config
from warungin_tui.hostlock import LOCK_DIR_NAME, host_lock_dir


def _fmt(value: float) -> str:
    return format(value, "g")


def config_values(config: Config) -> dict[str, Any]:
    """Template values that come from the config alone."""
    target = config.target
    layout = BackupLayout.of(config)
    values: dict[str, Any] = {
        "project_dir": target.project_dir,
        "backup_dir": target.effective_backup_dir,
        "host_lock_dir": host_lock_dir(target.project_dir),
        "host_lock_name": LOCK_DIR_NAME,  # the same, relative to the project (tar --exclude)
        "target": target.label,
        "host": target.host,
        "user": target.user,
        "db_backups_dir": config.db_backups_dir,
        "db_backups_glob": config.database.backups_glob,
        "backup_excluded": layout.excluded,
        "backup_excludes": [f"--exclude=./{rel}" for rel in layout.excluded],
        "restore_keep": layout.kept,
        "db_service": config.database.service,
        "db_user": config.database.user,
        "db_name": config.database.name,
        "branch": config.release.branch,
        "release_version": config.release.version,
        "api": config.endpoints.api,
        "frontend": config.endpoints.frontend,
        "api_via_ssh": str(config.endpoints.api_via_ssh).lower(),
        "expected_services": " ".join(config.services.expected),
        "expected_count": str(len(config.services.expected)),
    }
    values.update(config.contacts.model_dump())
    for key, number in config.thresholds.model_dump().items():
        values[key] = _fmt(number)
    return values


def group_values(group: list[str], index: int | None) -> dict[str, Any]:
    """`{group}` (a list: one shell word per service), `{group_index}`, `{group_names}`."""
    if index is None:
        return {}
    return {"group": list(group), "group_index": str(index), "group_names": " ".join(group)}
