"""Command line: parse arguments, load and validate config, pick a subcommand.

Exit codes: 0 success, 1 a check or run failed, 2 bad usage, bad config or unreachable host.

`--help` and `--version` must answer at once: pydantic, asyncio, asyncssh, httpx and Textual are
imported inside the subcommands that need them, never at module level (a test checks).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from warungin_tui import __version__, startup

if TYPE_CHECKING:
    from warungin_tui.config import Config

EXIT_FAILED = 1
EXIT_USAGE = 2
CHECK_PHASES = {"pre": "pre", "verify": "phase3"}


_teardown_skippable = False
"""Set by a command that leaves nothing open (`check`): see `run`."""


def run() -> None:
    """The console script and `python -m warungin_tui.cli`: `main`, then the exit.

    The garbage collector is off while the process starts (startup.py). After `check` the
    process ends without the interpreter's teardown: freeing the ~1,500 modules asyncssh, httpx
    and pydantic load took ~100 ms after the answer was printed, which the shell waited for.
    `check` has closed its connection and writes no file; the output streams are flushed
    first. Tests that call `main` in-process keep the normal exit."""
    startup.begin()
    try:
        main()
    except SystemExit as exc:
        if not _teardown_skippable:
            raise
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else EXIT_FAILED
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def fail(lines: list[str] | str, code: int = EXIT_USAGE) -> NoReturn:
    for line in [lines] if isinstance(lines, str) else lines:
        click.echo(f"warungin-tui: {line}", err=True)
    sys.exit(code)


def load_or_exit(config_path: str | None) -> tuple[Config, Path]:
    from warungin_tui.config import ConfigError, load_config, resolve_config_path

    try:
        path = resolve_config_path(config_path)
        return load_config(path), path
    except ConfigError as exc:
        fail(exc.lines)


config_option = click.option(
    "--config",
    "config_path",
    metavar="FILE",
    help="Config file (default: $WARUNGIN_TUI_CONFIG, ./warungin.toml, the user config folder).",
)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="warungin-tui")
@config_option
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Run the Warungin POS production deployment playbook from a terminal.

    Without a subcommand, opens the wizard on the configured target.
    """
    if ctx.invoked_subcommand not in (None, "check"):
        startup.end()  # the wizard turns the collector on at its first frame; check ends soon
    if ctx.invoked_subcommand is None:
        sys.exit(open_wizard(config_path))


def open_wizard(config_path: str | None) -> int:
    """The wizard: its config checked in a child process while the screens are imported
    (config_beside.py); a bad config exits 2 with every problem before any screen."""
    from warungin_tui.config_beside import DeferredConfig
    from warungin_tui.config_source import ConfigError, resolve_config_path

    try:
        path = resolve_config_path(config_path)
        config = DeferredConfig(path)
        from warungin_tui.app import run_wizard  # Textual and the screens, while the child works

        config.start_info()  # the child's answer
    except ConfigError as exc:
        fail(exc.lines)
    return run_wizard(config, path)


@main.command()
@click.argument("config_file", type=click.Path(dir_okay=False, path_type=Path))
def validate(config_file: Path) -> None:
    """Check a config file and report every problem in TOML words."""
    from warungin_tui.config import ConfigError, load_config

    try:
        config = load_config(config_file)
    except ConfigError as exc:
        fail(exc.lines)
    click.echo(f"{config_file}: ok ({config.target.label}, release {config.release.version})")
    from warungin_tui.notices import contact_warnings
    from warungin_tui.playbook import build_playbook

    for warning in contact_warnings(config, build_playbook(config)):
        click.echo(f"{config_file}: warning: {warning}")

    from warungin_tui.backup_layout import BackupLayout

    for line in BackupLayout.of(config).explain():
        click.echo(f"  {line}")


@main.command()
@click.argument(
    "path", required=False, type=click.Path(dir_okay=False, path_type=Path), metavar="[PATH]"
)
def init(path: Path | None) -> None:
    """Write the commented sample config to PATH (default ./warungin.toml); never overwrites."""
    from warungin_tui.init_config import DEFAULT_PATH, NEXT_STEP, write_sample_config

    target = path or DEFAULT_PATH
    try:
        write_sample_config(target)
    except FileExistsError:
        fail(f"{target} exists already: nothing written (edit it, or choose another PATH)")
    except OSError as exc:
        fail(f"{target}: cannot write it: {exc.strerror or exc}")
    click.echo(f"Wrote {target} (mode 0600): {NEXT_STEP.format(path=target)}.")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of steps.")
@config_option
def plan(as_json: bool, config_path: str | None) -> None:
    """Print every step as it will run on this target, commands filled in; connects to nothing."""
    config, _ = load_or_exit(config_path)
    from warungin_tui.config import ConfigError
    from warungin_tui.plan import plan_steps, plan_text

    try:
        rows = plan_steps(config)
    except ConfigError as exc:
        fail(exc.lines)
    click.echo(json.dumps(rows, indent=2) if as_json else plan_text(rows, config))


@main.command()
@click.option(
    "--phase",
    type=click.Choice(sorted(CHECK_PHASES)),
    default="pre",
    show_default=True,
    help="pre: infrastructure checks; verify: Phase 3 probes.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@config_option
def check(phase: str, as_json: bool, config_path: str | None) -> None:
    """Run the automated probes of one phase without a UI (exit 0 all pass, 1 any fails)."""
    import asyncio

    config, _ = load_or_exit(config_path)
    from warungin_tui.headless import run_check

    rows, error = asyncio.run(run_check(config, CHECK_PHASES[phase]))
    global _teardown_skippable
    _teardown_skippable = True
    if error:
        fail(error)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(_table(rows))
    sys.exit(0 if all(r["status"] in ("passed", "warning") for r in rows) else EXIT_FAILED)


def _scenario_list() -> str:
    """`demo --help`'s list of scenarios, one line each, from the sandbox's own table."""
    from warungin_tui.sandbox.scenarios import SCENARIOS

    width = max(len(name) for name in SCENARIOS)
    lines = [f"{name:<{width}}  {what}" for name, what in SCENARIOS.items()]
    return "Scenarios:\n\n\b\n" + "\n".join(lines)


def _table(rows: list[dict[str, Any]]) -> str:
    width = max((len(r["id"]) for r in rows), default=10)
    lines = [f"{'STATUS':<8} {'STEP':<{width}} {'TIME':>7}  DETAIL"]
    for row in rows:
        lines.append(
            f"{row['status'].upper():<8} {row['id']:<{width}} {row['duration_s']:>6.2f}s  "
            f"{row['detail']}"
        )
    passed = sum(r["status"] in ("passed", "warning") for r in rows)
    lines.append(f"{passed}/{len(rows)} passed")
    return "\n".join(lines)


@main.command()
@click.option("--reason", required=True, help="Why the lock is broken (recorded).")
@config_option
def unlock(reason: str, config_path: str | None) -> None:
    """Remove the host lock a run left behind; the reason is recorded."""
    import asyncio

    if not reason.strip():
        fail("--reason must say why the lock is broken")
    config, _ = load_or_exit(config_path)
    from warungin_tui.headless import run_unlock

    code, lines = asyncio.run(run_unlock(config, reason.strip()))
    if code:
        fail(lines, code)
    for line in lines:
        click.echo(line)


@main.command("verify-log")
@click.argument("journal", type=click.Path(dir_okay=False, path_type=Path))
def verify_log(journal: Path) -> None:
    """Check a run journal's sha256 chain; name the first broken line."""
    from warungin_tui.journal import TORN_LAST_LINE, verify_journal

    result = verify_journal(journal)
    # Not tampering: resume ignores such a line the same way, so the chain before it stands.
    torn = f"; {TORN_LAST_LINE}: not part of the run" if result.torn_tail else ""
    if result.ok:
        last = f"; sha256 of line {result.lines} {result.last_hash}" if result.last_hash else ""
        click.echo(f"{journal}: ok, {result.lines} lines, chain intact{torn}{last}")
        return
    where = f"line {result.first_bad_line}: " if result.first_bad_line else ""
    fail(f"{journal}: {where}{result.reason}{torn}", EXIT_FAILED)


@main.command()
@click.argument("run", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the exported files (default: the config's [archive] dir).",
)
@config_option
def export(run: Path, out_dir: Path | None, config_path: str | None) -> None:
    """Write the Markdown and JSON deployment log of a run journal, without the UI."""
    from warungin_tui.report.export import export_journal

    try:
        paths = export_journal(run, out_dir)
    except Exception as exc:  # noqa: BLE001 - one line, no traceback
        fail(f"{run}: {getattr(exc, 'title', 'export failed')}: {exc}")
    for path in paths:
        click.echo(str(path))


@main.command(epilog=_scenario_list())
@click.option("--scenario", default="healthy", show_default=True, help="Rehearsal scenario.")
@click.option("--serve", is_flag=True, help="Only start the target; print its config path.")
@click.option(
    "--openssh", is_flag=True, help="Serve over a real OpenSSH sshd (needs openssh-server)."
)
def demo(scenario: str, serve: bool, openssh: bool) -> None:
    """Start the built-in rehearsal target on loopback and open the wizard on it.

    The scenarios (--scenario NAME) are listed below, one line each."""
    from warungin_tui.sandbox.scenarios import SCENARIOS

    if scenario not in SCENARIOS:
        fail(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    from warungin_tui.demo import run_demo

    sys.exit(run_demo(scenario, serve=serve, transport="openssh" if openssh else "asyncssh"))


@main.command()
@click.option("--once", is_flag=True, help="Run the checks once, print them and exit (no journal).")
@click.option("--run", "run_ref", metavar="RUN", help="Run journal (path or run id) to attach to.")
@click.option(
    "--for",
    "for_text",
    metavar="DURATION",
    help="Stop after this long (24h, 90m); default: sign-off.",
)
@click.option("--speed", type=float, default=1.0, hidden=True, help="Rehearsal: clock speed.")
@click.option("--origin", type=float, default=None, hidden=True, help="Rehearsal: clock origin.")
@click.option(
    "--day-file",
    type=click.Path(dir_okay=False, path_type=Path),
    hidden=True,
    help="Rehearsal: run on the stepped clock in this file (the rehearsal host's day.json).",
)
@click.option("--pace", type=float, default=0.0, hidden=True, help="Rehearsal: seconds per round.")
@config_option
def monitor(
    once: bool,
    run_ref: str | None,
    for_text: str | None,
    speed: float,
    origin: float | None,
    day_file: Path | None,
    pace: float,
    config_path: str | None,
) -> None:
    """Post-deployment monitoring on the seed's 24-hour schedule, journaled in the run.

    Attaches to the latest unfinished run for the target (or --run); every sample and gap goes
    into the run's journal. Survives a closed terminal under nohup, tmux or systemd
    (docs/monitoring.md).
    """
    import asyncio

    config, _ = load_or_exit(config_path)
    if once:
        from warungin_tui.headless import run_monitor

        sys.exit(asyncio.run(run_monitor(config, once=True, interval=0.0)))
    from warungin_tui.monitoring.headless import monitor_headless, parse_duration
    from warungin_tui.monitoring.monitor import MonitorOptions

    try:
        for_s = parse_duration(for_text) if for_text else None
    except ValueError as exc:
        fail(f"--for: {exc}")
    if not speed > 0 or speed != speed or speed == float("inf"):
        fail("--speed: must be a finite number greater than 0")
    options = MonitorOptions(
        speed=speed, origin=origin, for_s=for_s, day_file=day_file, pace_s=max(0.0, pace)
    )
    sys.exit(asyncio.run(monitor_headless(config, run_ref, options)))


if __name__ == "__main__":
    run()
