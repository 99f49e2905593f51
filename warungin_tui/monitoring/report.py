"""The monitoring figures for exports: the sign-off fields filled from the samples, gaps and
alerts, and a compact table of hourly aggregates. Plain data first (the JSON export), then
Markdown made from that data, so both say the same thing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from warungin_tui.monitoring.summary import clock_text, monitoring_summary
from warungin_tui.report.format import esc, table

if TYPE_CHECKING:
    from warungin_tui.engine.run import Run


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} ms"


def monitoring_report(run: Run, default_limit_ms: float) -> dict[str, Any]:
    """JSON-able figures; `sampled` False when no monitor ever ran on this run."""
    if run.monitoring.started is None:
        return {"sampled": False}
    figures = monitoring_summary(run, default_limit_ms)
    uptime = figures.uptime_percent
    down = ", ".join(f"{clock_text(a)} to {clock_text(b)}" for a, b in figures.downtime)
    coverage = f"{figures.coverage_hours:.1f} of {figures.period_hours:g} hours"
    p = figures.latency_ms
    fields = {
        "Monitoring Coverage": coverage
        + ("" if figures.complete else " (INCOMPLETE: less than the monitoring period)"),
        "Uptime": "n/a (no health samples)"
        if uptime is None
        else f"{uptime:.2f}% from the health samples" + (f"; down {down}" if down else ""),
        "Critical Issues": f"{figures.critical_alerts} critical alerts (should be 0); "
        f"{figures.warning_alerts} warnings; {figures.unacknowledged} not acknowledged",
        "Performance": f"{figures.performance} (API latency p50 {_ms(p['p50'])}, "
        f"p95 {_ms(p['p95'])}, p99 {_ms(p['p99'])}; limit {figures.latency_limit_ms:g} ms)",
        "Monitoring Gaps": f"{figures.gap_hours:.1f} hours in {len(figures.gaps)} gaps"
        if figures.gaps
        else "none",
    }
    return {
        "sampled": True,
        "complete": figures.complete,
        "fields": fields,
        "uptime_percent": uptime,
        "coverage_hours": figures.coverage_hours,
        "period_hours": figures.period_hours,
        "downtime": [{"from_s": a, "to_s": b} for a, b in figures.downtime],
        "latency_ms": p,
        "latency_limit_ms": figures.latency_limit_ms,
        "gaps": figures.gaps,
        "alerts": [
            {
                "id": e.id,
                "severity": e.severity,
                "text": e.text,
                "from": clock_text(e.first_s),
                "to": clock_text(e.last_s),
                "samples": e.samples,
                "acknowledged": e.acknowledged,
            }
            for e in run.monitoring.alerts
        ],
        "hourly": [h.__dict__ for h in figures.hourly],
        "samples": figures.samples,
    }


def monitoring_markdown(data: dict[str, Any]) -> str:
    """The sampled monitoring as Markdown: fields, alerts, gaps and the hourly table."""
    if not data.get("sampled"):
        return esc("No monitoring samples: `warungin-tui monitor` has not run on this deployment.")
    parts = ["\n".join(f"- **{k}:** {esc(v)}" for k, v in data["fields"].items())]
    if data["alerts"]:
        rows = [
            [a["severity"].upper(), esc(a["text"]), f"{a['from']}-{a['to']}", str(a["samples"])]
            + [esc(a["acknowledged"]["note"]) if a["acknowledged"] else "not acknowledged"]
            for a in data["alerts"]
        ]
        parts += ["#### Alerts", table(["Severity", "Alert", "When", "Samples", "Note"], rows)]
    if data["gaps"]:
        rows = [
            [f"{clock_text(g['from_s'])}-{clock_text(g['to_s'])}", str(g["missed"])]
            + [esc(g["reason"])]
            for g in data["gaps"]
        ]
        parts += ["#### Gaps in monitoring", table(["When", "Rounds", "Why"], rows)]
    hourly = [
        [
            f"{h['hour'] + 1}",
            str(h["samples"]),
            f"{h['health_up']}/{h['health_checked']}" if h["health_checked"] else "-",
            str(h["errors"]),
            str(h["critical"]),
            _ms(h["worst_ms"]),
        ]
        for h in data["hourly"]
    ]
    header = ["Hour", "Samples", "Health up", "Error lines", "Critical", "Slowest"]
    parts += ["#### Hourly aggregates", table(header, hourly)]
    return "\n\n".join(parts)
