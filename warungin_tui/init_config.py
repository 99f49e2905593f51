"""`warungin-tui init`: write the commented sample config where the operator will edit it.

The sample ships inside the package (`warungin_tui/sample_config.toml`, package data) so that
`pip install` users have it; the repository's top-level `sample_config.toml` is the copy people
read and edit in the source tree, and a test keeps the two byte-for-byte equal. A copy rather
than a symlink: setuptools puts only files under the package into the wheel, and a symlink
breaks on checkouts without symlinks (Windows) and in some sdist builds.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from warungin_tui.files import create_private

SAMPLE_NAME = "sample_config.toml"
DEFAULT_PATH = Path("warungin.toml")
"""Where `init` writes without a PATH: the config the wizard finds in the current folder."""
NEXT_STEP = (
    "set [target] host, user and project_dir, [release] version and [endpoints], then run "
    "`warungin-tui validate {path}`"
)


def sample_config_text() -> str:
    """The commented sample config as installed with the package."""
    return resources.files("warungin_tui").joinpath(SAMPLE_NAME).read_text(encoding="utf-8")


def write_sample_config(path: Path) -> None:
    """Create `path` (mode 0600 from the start) with the sample; never replaces a file.

    Raises FileExistsError when something is there already, OSError for other failures.
    """
    create_private(path, sample_config_text().encode("utf-8"))
