"""Text the real tools print, reproduced: docker info, compose ps tables, psql tables, BuildKit
progress and each service's start-up log lines.

Kept apart from the shim's logic so the layouts can be read (and tested) on their own. Standard
library only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

DOCKER_VERSION = "27.4.1"
COMPOSE_VERSION = "2.32.1"
HOST_MEMORY_MIB = 7782.0  # what `docker stats` reports as every container's limit
PG_VERSION = (
    "PostgreSQL 15.10 on x86_64-pc-linux-musl, compiled by gcc (Alpine 14.2.0) 14.2.0, 64-bit"
)


def human_duration(seconds: float) -> str:
    """Docker's units.HumanDuration, as used in "Up 5 minutes" and "3 days ago"."""
    secs = int(seconds)
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return f"{secs} seconds"
    minutes = secs // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def ellipsis(text: str, width: int) -> str:
    """Docker's truncation: at most `width` characters, the last one an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


def table(header: list[str], rows: list[list[str]]) -> str:
    """Docker's tabwriter layout (min width 20, padding 3); the last column is not padded."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(max(20, widths[i] + 3)) for i, cell in enumerate(row[:-1])]
        lines.append("".join(cells) + row[-1])
    return "\n".join(lines) + "\n"


def compose_time(epoch: float) -> str:
    """CreatedAt as compose prints it: 2025-12-31 14:30:00 +0000 UTC."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def psql_table(
    column: str,
    values: list[str],
    *,
    numeric: bool,
    tuples_only: bool = False,
    unaligned: bool = False,
) -> str:
    """One-column result in psql's default aligned format (border 1), or -A / -t variants.

    The header is centred and followed by a space; cells are right-aligned for numbers and
    left-aligned (without trailing spaces in the last column) for text; a footer and a blank
    line close the table, as psql prints them."""
    if unaligned:
        body = [*values] if tuples_only else [column, *values, _footer(len(values))]
        return "\n".join(body) + "\n"
    width = max([len(column), *(len(v) for v in values)])
    lines = []
    if not tuples_only:
        left = (width - len(column)) // 2
        right = (width - len(column) + 1) // 2
        lines += [" " + " " * left + column + " " * right + " ", "-" * (width + 2)]
    lines += [" " + (v.rjust(width) if numeric else v) for v in values]
    if not tuples_only:
        lines.append(_footer(len(values)))
    return "\n".join(lines) + "\n\n"


def _footer(count: int) -> str:
    return f"({count} row{'' if count == 1 else 's'})"


def docker_info(running: int, stopped: int, images: int) -> str:
    """A realistic subset of `docker info`."""
    return f"""Client: Docker Engine - Community
 Version:    {DOCKER_VERSION}
 Context:    default
 Debug Mode: false
 Plugins:
  buildx: Docker Buildx (Docker Inc.)
    Version:  v0.19.3
    Path:     /usr/libexec/docker/cli-plugins/docker-buildx
  compose: Docker Compose (Docker Inc.)
    Version:  v{COMPOSE_VERSION}
    Path:     /usr/libexec/docker/cli-plugins/docker-compose

Server:
 Containers: {running + stopped}
  Running: {running}
  Paused: 0
  Stopped: {stopped}
 Images: {images}
 Server Version: {DOCKER_VERSION}
 Storage Driver: overlay2
  Backing Filesystem: extfs
  Supports d_type: true
  Using metacopy: false
  Native Overlay Diff: true
  userxattr: false
 Logging Driver: json-file
 Cgroup Driver: systemd
 Cgroup Version: 2
 Plugins:
  Volume: local
  Network: bridge host ipvlan macvlan null overlay
  Log: awslogs fluentd gcplogs gelf journald json-file local splunk syslog
 Swarm: inactive
 Runtimes: io.containerd.runc.v2 runc
 Default Runtime: runc
 Init Binary: docker-init
 containerd version: 88bf19b2105c8b17560993bee28a01ddc2f97182
 runc version: v1.2.2-0-g7cb3632
 init version: de40ad0
 Security Options:
  apparmor
  seccomp
   Profile: builtin
  cgroupns
 Kernel Version: 6.8.0-51-generic
 Operating System: Ubuntu 24.04.1 LTS
 OSType: linux
 Architecture: x86_64
 CPUs: 4
 Total Memory: 7.751GiB
 Name: warungin-prod
 ID: 6f2c1f0e-8d3a-4c1b-9a57-3c2e4b7d9a10
 Docker Root Dir: /var/lib/docker
 Debug Mode: false
 Experimental: false
 Insecure Registries:
  127.0.0.0/8
 Live Restore Enabled: false
"""


def service_startup_lines(service: str, when: float) -> list[str]:
    """What a state-only service logs when it starts (the HTTP services log for themselves)."""
    moment = datetime.fromtimestamp(when, UTC)
    iso = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    pg = moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC [1]"
    rd = moment.strftime("%d %b %Y %H:%M:%S.%f")[:-3]
    loki = "(version=2.9.4, branch=HEAD, revision=f599ebc535)"
    return {
        "postgres": [
            f"{pg} LOG:  starting {PG_VERSION}",
            f'{pg} LOG:  listening on IPv4 address "0.0.0.0", port 5432',
            f'{pg} LOG:  listening on Unix socket "/var/run/postgresql/.s.PGSQL.5432"',
            f"{pg} LOG:  database system is ready to accept connections",
        ],
        "redis": [
            f"1:C {rd} * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
            f"1:C {rd} * Redis version=7.4.1, bits=64, commit=00000000, modified=0, pid=1",
            f"1:M {rd} * Server initialized",
            f"1:M {rd} * Ready to accept connections tcp",
        ],
        "loki": [
            f'level=info ts={iso} caller=main.go:108 msg="Starting Loki" version="{loki}"',
            f'level=info ts={iso} caller=loki.go:505 msg="Loki started"',
        ],
        "promtail": [
            f'level=info ts={iso} caller=main.go:174 msg="Starting Promtail" version="{loki}"',
            f'level=info ts={iso} caller=server.go:351 msg="server listening on addresses"',
        ],
        "cloudflared": [
            f"{iso} INF Starting tunnel tunnelID=3f1c2a9e-5b7d-4e21-9c4f-8a6b0d2e7f13",
            f"{iso} INF Registered tunnel connection connIndex=0 location=sin01 protocol=quic",
            f"{iso} INF Registered tunnel connection connIndex=1 location=sin02 protocol=quic",
        ],
    }.get(service, [])


def build_steps(service: str, version: str, image: str, *, fail: bool, first: int) -> list[str]:
    """BuildKit plain progress for one service, numbered from `first`; `image` is the id it
    writes; `fail` ends in the error of the last RUN step (`npm run build` for the frontend)."""
    base = "python:3.12-slim" if service == "backend" else "node:20-alpine"
    n = first
    lines = [
        f"#{n} [{service} internal] load build definition from Dockerfile",
        f"#{n} transferring dockerfile: 612B done",
        f"#{n} DONE 0.0s",
        "",
        f"#{n + 1} [{service} internal] load metadata for docker.io/library/{base}",
        f"#{n + 1} DONE 0.9s",
        "",
        f"#{n + 2} [{service} internal] load build context",
        f"#{n + 2} transferring context: 48.21kB 0.1s done",
        f"#{n + 2} DONE 0.1s",
        "",
        f"#{n + 3} [{service} 1/5] FROM docker.io/library/{base}",
        f"#{n + 3} CACHED",
        "",
    ]
    if service == "backend":
        run = ["pip install --no-cache-dir -r requirements.txt", "python -m compileall -q app"]
        output = [f"Successfully installed warungin-backend-{version}"]
    else:
        run = ["npm ci", "npm run build"]
        output = [
            f"> warungin-frontend@{version} build",
            "> vite build",
            "vite v5.4.11 building for production...",
        ]
    lines += [f"#{n + 4} [{service} 2/5] RUN {run[0]}", f"#{n + 4} DONE 2.3s", ""]
    lines += [f"#{n + 5} [{service} 3/5] RUN {run[1]}"]
    lines += [f"#{n + 5} 0.{412 + i} {text}" for i, text in enumerate(output)]
    if fail:
        msg = f'process "/bin/sh -c {run[1]}" did not complete successfully: exit code: 1'
        return [
            *lines,
            f'#{n + 5} 2.881 src/pages/Shift.tsx (42:17): "useShiftCache" is not exported by '
            '"src/hooks/useShift.ts"',
            f"#{n + 5} ERROR: {msg}",
            "------",
            f" > [{service} 3/5] RUN {run[1]}:",
            '2.881 src/pages/Shift.tsx (42:17): "useShiftCache" is not exported',
            "------",
            f"failed to solve: {msg}",
        ]
    return [
        *lines,
        f"#{n + 5} DONE 3.1s",
        "",
        f"#{n + 6} [{service}] exporting to image",
        f"#{n + 6} exporting layers 0.4s done",
        f"#{n + 6} writing image {image} done",
        f"#{n + 6} naming to docker.io/library/warungin-{service} done",
        f"#{n + 6} DONE 0.4s",
        "",
    ]


# -- log timestamps, for `logs --since/--until` --------------------------------------------------
_LINE_TIMES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?Z"), "%Y-%m-%dT%H:%M:%S"),
    (re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)? UTC"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})"), "%Y/%m/%d %H:%M:%S"),
    (re.compile(r"\[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2}) \+0000\]"), "%d/%b/%Y:%H:%M:%S"),
    (re.compile(r"^1:[CM] (\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2})"), "%d %b %Y %H:%M:%S"),
]
_FRACTION = re.compile(r"[T ]\d{2}:\d{2}:\d{2}(\.\d+)")


def line_time(line: str) -> float | None:
    """The epoch a log line is stamped with (any of the services' formats), or None."""
    for pattern, fmt in _LINE_TIMES:
        found = pattern.search(line)
        if found:
            moment = datetime.strptime(found.group(1), fmt).replace(tzinfo=UTC).timestamp()
            fraction = _FRACTION.search(line)
            return moment + (float(fraction.group(1)) if fraction else 0.0)
    return None


def parse_since(value: str, now: float) -> float:
    """docker's --since/--until: a Unix time, an RFC 3339 time or a duration ago (10m, 1h30m)."""
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    duration = re.fullmatch(r"((\d+)h)?((\d+)m)?((\d+(\.\d+)?)s)?", value)
    if duration and value:
        hours, minutes, seconds = duration.group(2, 4, 6)
        return now - (int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f'invalid value "{value}" for flag --since/--until') from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
