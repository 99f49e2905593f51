"""What every benchmark shares: interleaved rounds, medians, the results table and its JSON.

Figures are ratios against a baseline measured in the same run, on the same machine, with the
rounds interleaved (baseline, candidate, baseline, ...) so that load from elsewhere hits both.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    """One line of benchmarks/results.json."""

    name: str
    baseline: str
    median_s: float
    baseline_median_s: float
    ratio: float
    goal: str
    met: bool
    unit: str = "s"
    runs: int = 0
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("median_s", "baseline_median_s", "ratio"):
            data[key] = round(data[key], 4)
        return data


RSS_GROWTH_GOAL_MIB = 2.0


def rss_flat_row(
    name: str,
    baseline: str,
    after: float,
    before: float,
    *,
    notes: str,
    extra: dict[str, Any] | None = None,
) -> Row:
    """RSS `after` against `before` (MiB): flat means it grew by at most RSS_GROWTH_GOAL_MIB."""
    return Row(
        name,
        baseline,
        after,
        before,
        after / before,
        f"flat: growth <= {RSS_GROWTH_GOAL_MIB:g} MiB",
        after - before <= RSS_GROWTH_GOAL_MIB,
        unit="MiB",
        runs=1,
        notes=notes,
        extra={"growth_mib": round(after - before, 3), **(extra or {})},
    )


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def ratio_row(
    name: str,
    baseline: str,
    candidate: list[float],
    base: list[float],
    *,
    goal: str,
    max_ratio: float,
    notes: str = "",
) -> Row:
    """Goal met when median(candidate) / median(baseline) <= max_ratio."""
    median, base_median = statistics.median(candidate), statistics.median(base)
    ratio = median / base_median if base_median else math.inf
    return Row(
        name,
        baseline,
        median,
        base_median,
        ratio,
        goal,
        ratio <= max_ratio,
        runs=len(candidate),
        notes=notes,
    )


async def interleaved(
    rounds: int,
    baseline: Callable[[], Awaitable[float]],
    candidate: Callable[[], Awaitable[float]],
) -> tuple[list[float], list[float]]:
    """Run baseline and candidate alternately, `rounds` times each; returns (candidate, base)."""
    base: list[float] = []
    cand: list[float] = []
    for _ in range(rounds):
        base.append(await baseline())
        cand.append(await candidate())
    return cand, base


def table(rows: list[Row]) -> str:
    lines = [
        "| measure | baseline | now | baseline figure | ratio | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        unit = row.unit
        now = f"{row.median_s:.3f} {unit}" if unit != "s" else _seconds(row.median_s)
        if "p95_s" in row.extra:
            now += f", p95 {_seconds(row.extra['p95_s'])}"
        base = (
            f"{row.baseline_median_s:.3f} {unit}"
            if unit != "s"
            else _seconds(row.baseline_median_s)
        )
        lines.append(
            f"| {row.name} | {row.baseline} | {now} | {base} | {row.ratio:.2f} | {row.goal} | "
            f"{'yes' if row.met else 'NO'} |"
        )
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
