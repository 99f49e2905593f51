"""What each kind of config value may be: pure checks that return a reason, or None when fine.

Every value reaches a remote shell quoted, but quoting is not enough: a branch `--upload-pack=...`
is one word and still an option to git. So each value is also checked for what it is.
"""

from __future__ import annotations

import ipaddress
import re

MAX_HOST_LENGTH = 253
MAX_PATH_LENGTH = 4096
MAX_TEXT_LENGTH = 500

COMPOSE_SERVICE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
VERSION_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
# POSIX portable user names (plus the `$` of machine accounts), as useradd accepts them.
LOGIN_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,31}\$?")
# An unquoted PostgreSQL identifier (NAMEDATALEN 64 leaves 63 bytes).
POSTGRES_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")
HOST_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
# `git check-ref-format`: these never appear in a ref name.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def control_characters(value: str) -> str | None:
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029" for c in value):
        return "must not contain control characters (newlines, tabs, NUL)"
    return None


def text_problem(value: str) -> str | None:
    """Free text (names, contacts, notices): one line, printable."""
    if len(value) > MAX_TEXT_LENGTH:
        return f"must be at most {MAX_TEXT_LENGTH} characters"
    return control_characters(value)


def compose_service_problem(value: str) -> str | None:
    if not COMPOSE_SERVICE.fullmatch(value):
        return (
            f"{value!r} is not a Compose service name "
            "(letters, digits, `_`, `.`, `-`; starting with a letter or digit)"
        )
    return None


def branch_problem(name: str) -> str | None:
    """`git check-ref-format --branch` rules, and never an option (no leading `-`)."""
    why = _ref_problem(name)
    if why:
        return f"{name!r} is not a git branch name: {why}"
    return None


def _ref_problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if name.startswith("-"):
        return "it starts with `-`"
    if name == "HEAD":
        return "`HEAD` names no branch"
    if _REF_FORBIDDEN.search(name):
        return "it holds a space, a control character or one of ~ ^ : ? * [ \\"
    if ".." in name or "@{" in name:
        return "it holds `..` or `@{`"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "a `/` starts, ends or doubles it"
    if name.endswith("."):
        return "it ends with `.`"
    for part in name.split("/"):
        if part.startswith("."):
            return "a part starts with `.`"
        if part.endswith(".lock"):
            return "a part ends with `.lock`"
    return None


def version_problem(value: str) -> str | None:
    if not VERSION_TOKEN.fullmatch(value):
        return (
            "must be a plain version like 1.2.0 or v1.2.0-rc1 "
            "(letters, digits, `.`, `_`, `+`, `-`; at most 64)"
        )
    return None


def remote_path_problem(value: str) -> str | None:
    """A folder on the server: absolute, one line, no `..` (the shell there expands nothing)."""
    if not value.startswith("/"):
        return 'must be an absolute path on the server (starts with /); "~" is not expanded there'
    if len(value) > MAX_PATH_LENGTH:
        return f"must be at most {MAX_PATH_LENGTH} characters"
    if problem := control_characters(value):
        return problem
    if ".." in value.split("/"):
        return "must not contain `..` (name the folder itself)"
    return None


def local_path_problem(value: str) -> str | None:
    if len(value) > MAX_PATH_LENGTH:
        return f"must be at most {MAX_PATH_LENGTH} characters"
    return control_characters(value)


def ca_bundle_problem(value: str) -> str | None:
    """A CA file on this machine: an absolute path (`~/...` allowed), not a folder name."""
    problem = local_path_problem(value)
    if problem:
        return problem
    if not value.startswith(("/", "~/")):
        return "must be an absolute path to a PEM file (/... or ~/...)"
    if value.endswith("/"):
        return "must name a file, not a folder"
    return None


def host_problem(value: str) -> str | None:
    """A host name, an IPv4 address or an IPv6 literal, as ssh would connect to it."""
    if len(value) > MAX_HOST_LENGTH:
        return f"must be a host name or address (at most {MAX_HOST_LENGTH} characters)"
    if any(c.isspace() for c in value) or control_characters(value):
        return "must not contain spaces or control characters"
    if not value:
        return "must not be empty"
    try:
        ipaddress.ip_address(value)  # IPv6 bare, as ssh takes it: `::1`, not `[::1]`
        return None
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if all(HOST_LABEL.fullmatch(label) for label in labels) and not value.startswith("-"):
        return None
    return (
        f"{value!r} is not a host name or IP address "
        "(letters, digits, `-` and `.`; write international names in punycode)"
    )


def login_name_problem(value: str) -> str | None:
    if not value:
        return "must not be empty"
    if not LOGIN_NAME.fullmatch(value) or value.startswith("-"):
        return (
            f"{value!r} is not a login name (letters, digits, `_`, `.`, `-`; at most 32; "
            "not starting with `-`)"
        )
    return None


def postgres_identifier_problem(value: str) -> str | None:
    if not POSTGRES_IDENTIFIER.fullmatch(value):
        return (
            f"{value!r} is not a PostgreSQL name "
            "(letters, digits, `_`, `$`; starting with a letter or `_`; at most 63)"
        )
    return None


def file_glob_problem(value: str) -> str | None:
    if not value:
        return "must not be empty"
    if "/" in value:
        return "must be a file-name pattern without `/` (the folder is backups_dir)"
    if len(value) > 255:
        return "must be at most 255 characters"
    return control_characters(value)
