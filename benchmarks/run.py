"""Every speed figure of issue 14 in one command; prints the table, writes benchmarks/results.json.

    python benchmarks/run.py            # the full run (a few minutes; needs openssh-server)
    python benchmarks/run.py --quick    # a smoke run: 1 round, small sizes
    python benchmarks/run.py --only help,resume --out /tmp/results.json

Figures are ratios against a baseline measured in the same run (medians of interleaved rounds);
SSH figures are measured directly and through benchmarks/latency_proxy.py (40 ms RTT). Timings
depend on the machine's load: compare ratios, and rerun when other work shared the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import Row, table  # noqa: E402

MEASURES = ["check", "build", "rss", "monitor", "first_frame", "help", "resume", "readiness"]
DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


async def ssh_rows(only: set[str], quick: bool, rounds: int, rtt_ms: float, tmp: Path) -> list[Row]:
    from benchmarks.ssh_measures import build_rows, check_rows
    from benchmarks.target import ProxyProcess, link_for
    from warungin_tui.sandbox.target import RehearsalTarget

    rows: list[Row] = []
    lines = 20_000 if quick else 200_000
    async with RehearsalTarget(transport="openssh", root=tmp / "target") as target:
        async with ProxyProcess(target.port, rtt_ms) as proxy:
            links = [
                link_for(target, target.port, 0, tmp / "direct"),
                link_for(target, proxy.port, rtt_ms, tmp / "rtt"),
            ]
            for link in links:
                if "check" in only:
                    rows += await check_rows(link, rounds)
                if "build" in only:
                    rows += await build_rows(link, rounds, lines, tmp / f"build-{link.port}")
    return rows


async def main(args: argparse.Namespace) -> list[Row]:
    from benchmarks import local_measures

    only = set(args.only.split(",")) if args.only else set(MEASURES)
    unknown = only - set(MEASURES)
    if unknown:
        raise SystemExit(f"unknown measure(s): {', '.join(sorted(unknown))}; one of {MEASURES}")
    rounds = 1 if args.quick else args.rounds
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="warungin-bench-") as folder:
        tmp = Path(folder)
        if only & {"check", "build"}:
            rows += await ssh_rows(only, args.quick, rounds, args.rtt_ms, tmp)
        if "rss" in only:
            keys, compare, warm_up = (400, 0, 400) if args.quick else (10_000, 420, 6_000)
            rows += await local_measures.rss_rows(
                keys, tmp / "rss", compare=compare, warm_up=warm_up
            )
        if "monitor" in only:
            from benchmarks.bench_monitor import monitor_rss_rows

            rows += await monitor_rss_rows(tmp / "monitor", 6.0 if args.quick else 24.0)
        if "first_frame" in only:
            rows += await local_measures.first_frame_rows(rounds, tmp / "frames")
        if "help" in only:
            rows += await local_measures.help_rows(rounds)
        if "resume" in only:
            events = 1_000 if args.quick else 10_000
            rows += await local_measures.resume_rows(rounds, tmp / "resume", events)
        if "readiness" in only:
            rows += await local_measures.readiness_rows(rounds, tmp / "ready")
    return rows


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="warungin-tui speed figures (issue 14)")
    parser.add_argument("--quick", action="store_true", help="1 round, small sizes (smoke run)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--rtt-ms", type=float, default=40.0, help="the proxy's added RTT")
    parser.add_argument("--only", help=f"comma-separated subset of: {','.join(MEASURES)}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    results = asyncio.run(main(arguments))
    print(table(results))
    load = os.getloadavg()
    print(
        f"\n{platform.node()}: {os.cpu_count()} cores, load average {load[0]:.2f} "
        f"{load[1]:.2f} {load[2]:.2f} at the end (other work on the machine skews timings)"
    )
    arguments.out.write_text(json.dumps([row.as_json() for row in results], indent=2) + "\n")
    print(f"wrote {arguments.out}")
