"""Where release archives and database dumps live relative to the project, and what follows.

One answer for the backup (what tar leaves out), the restore (what it never deletes), the
`validate` explanation and the rehearsal layouts: a folder inside the project is excluded from
the archive and kept as it is by the rollback.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from warungin_tui.config import Config
from warungin_tui.hostlock import LOCK_DIR_NAME

LOCK_NAME = LOCK_DIR_NAME
"""The host lock folder inside the project: never archived, never removed by the restore."""
ARCHIVE_PREFIX = "backup-pre-deployment-"
ARCHIVE_GLOB = "backup-*.tar.gz"
"""Archives in the project folder itself (the default layout): excluded and kept by name."""
TEMP_PREFIX = ".backup-pre-deployment."
"""An archive being written (a temporary name until it is tested, then renamed)."""


def inside(path: str, folder: str) -> str | None:
    """`path` relative to `folder` when it lies strictly inside it ("" when equal), else None."""
    path, folder = posixpath.normpath(path), posixpath.normpath(folder)
    if path == folder:
        return ""
    prefix = folder.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else None


@dataclass(frozen=True)
class BackupLayout:
    project_dir: str
    backup_dir: str
    dumps_dir: str
    configured_keep: tuple[str, ...]

    @classmethod
    def of(cls, config: Config) -> BackupLayout:
        return cls(
            config.target.project_dir,
            config.target.effective_backup_dir,
            config.db_backups_dir,
            tuple(config.rollback.keep),
        )

    @property
    def backup_dir_in_project(self) -> str | None:
        """backup_dir relative to the project; "" means the project folder itself."""
        return inside(self.backup_dir, self.project_dir)

    @property
    def dumps_in_project(self) -> str | None:
        rel = inside(self.dumps_dir, self.project_dir)
        return rel or None

    @property
    def excluded(self) -> list[str]:
        """Project-relative folders tar leaves out (besides archives matched by name)."""
        found = [LOCK_NAME]
        for rel in (self.backup_dir_in_project, self.dumps_in_project):
            if rel and rel not in found:
                found.append(rel)
        return found

    @property
    def kept(self) -> list[str]:
        """Project-relative paths the restore leaves exactly as they are."""
        found = list(self.excluded)
        for rel in self.configured_keep:
            rel = posixpath.normpath(rel)
            if rel not in found:
                found.append(rel)
        return found

    def explain(self) -> list[str]:
        """What `validate` tells the operator, one line each."""
        archive = posixpath.join(self.backup_dir, f"{ARCHIVE_PREFIX}<date>-<time>-<random>.tar.gz")
        where = self.backup_dir_in_project
        if where == "":
            archives_note = (
                f"in the project folder; earlier {ARCHIVE_GLOB} files there are left out of "
                "the archive and kept by the rollback"
            )
        elif where is not None:
            archives_note = (
                f"inside the project ({where}/): left out of the archive, kept by the rollback"
            )
        else:
            archives_note = "outside the project"
        dumps = self.dumps_in_project
        dumps_note = (
            f"inside the project ({dumps}/): left out of the archive, kept by the rollback"
            if dumps
            else "outside the project: the rollback never touches them"
        )
        return [
            f"release archives: {archive} ({archives_note})",
            f"database dumps: {self.dumps_dir} ({dumps_note})",
            "the rollback replaces the project tree from the archive and keeps as they are: "
            + ", ".join(self.kept),
        ]
