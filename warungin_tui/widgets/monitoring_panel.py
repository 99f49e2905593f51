"""The monitoring panel's text: schedule (done / missed / next), uptime so far, per-service
state, the last sample of each probe and the alerts, all read from the folded run."""

from __future__ import annotations

from rich.text import Text

from warungin_tui.engine.run import Run
from warungin_tui.monitoring.schedule import PROBE_TITLES
from warungin_tui.monitoring.summary import clock_text, monitoring_summary

SPARKLINE_SAMPLES = 48
"""Latency points the sparkline shows (the latest ones)."""


def latency_points(run: Run) -> list[float]:
    samples = run.monitoring.samples[-SPARKLINE_SAMPLES:]
    return [s.health_ms for s in samples if s.health_ms is not None] or [0.0]


def monitoring_text(run: Run, now_s: float | None, default_limit_ms: float) -> Text:
    state = run.monitoring
    text = Text("Post-deployment monitoring", style="bold")
    schedule = state.schedule
    if state.started is None or schedule is None:
        text.append(
            "\nNo monitor has run yet: start `warungin-tui monitor` (it survives closing the "
            "terminal under tmux, nohup or systemd; docs/monitoring.md).",
            style="dim",
        )
        return text
    figures = monitoring_summary(run, default_limit_ms)
    missed = sum(int(g.get("missed", 0)) for g in state.gaps)
    following = schedule.round_after(state.handled_through_s)
    text.append(f"  {figures.period_hours:g} h period", style="dim")
    if now_s is not None:
        text.append(f" · now {clock_text(max(0.0, now_s))}", style="dim")
    text.append(f"\nSchedule: {len(state.samples)} rounds done · {missed} missed")
    if following is not None:
        text.append(f" · next {clock_text(following.due_s)} ({', '.join(following.probes)})")
    elif state.completed_at:
        text.append(" · period complete: sign off", style="bold green")
    uptime = figures.uptime_percent
    style = "green" if uptime is not None and uptime >= 99.9 else "bold red"
    text.append("\nUptime so far: ")
    text.append("n/a" if uptime is None else f"{uptime:.2f}%", style=style)
    text.append(f" over {figures.coverage_hours:.1f} h")
    if figures.downtime:
        down = ", ".join(f"{clock_text(a)}-{clock_text(b)}" for a, b in figures.downtime)
        text.append(f" · down {down}", style="red")
    if figures.gaps:
        text.append(f" · monitor gaps {figures.gap_hours:.1f} h", style="yellow")
    services = state.last.get("services", {}).get("states") or {}
    if services:
        text.append("\nServices: ")
        for index, (name, value) in enumerate(sorted(services.items())):
            bad = not value.startswith("running") or "unhealthy" in value
            text.append((", " if index else "") + f"{name} {value}", style="red" if bad else "")
    for probe, result in state.last.items():
        mark, style = ("✓", "green") if result.get("ok") else ("✗", "bold red")
        text.append(f"\n{mark} ", style=style)
        text.append(f"{PROBE_TITLES.get(probe, probe)}: {result.get('detail', '')}")
        text.append(f" ({clock_text(float(result['due_s']))})", style="dim")
    waiting = [e for e in state.alerts if e.acknowledged is None]
    if waiting:
        text.append(f"\nAlerts ({len(waiting)} to acknowledge: A):", style="bold")
    for episode in state.alerts:
        when = f"{clock_text(episode.first_s)}-{clock_text(episode.last_s)}"
        if episode.acknowledged is None:
            style = "bold red" if episode.severity == "critical" else "bold yellow"
            text.append(f"\n! {episode.severity.upper()} {episode.text} ({when})", style=style)
        else:
            note = episode.acknowledged.get("note", "")
            text.append(f"\n  {episode.text} ({when}) acknowledged: {note}", style="dim")
    return text
