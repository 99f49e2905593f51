"""Command palette (ctrl+p): jump to any phase or step, or export, roll back, get help."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class RunCommands(Provider):
    """Phases and steps of the run's playbook, searchable by title, seed reference or id."""

    def _entries(self, *, with_steps: bool) -> list[tuple[str, str, str, Callable[[], Any]]]:
        """(shown name, text searched, help, command)."""
        app: Any = self.app
        engine = getattr(app, "engine", None)
        if engine is None:
            return []
        run = engine.run
        entries: list[tuple[str, str, str, Callable[[], Any]]] = []
        for phase in run.playbook.phases:
            name = f"Go to {phase.title}"
            help_text = f"{phase.seed_ref} · {run.phase_status(phase.id)}"
            entries.append(
                (name, f"{name} {phase.id}", help_text, partial(app.open_phase, phase.id))
            )
        if with_steps:
            for phase in run.playbook.phases:
                for step in phase.steps:
                    name = f"Step: {step.title}"
                    help_text = f"{phase.title} · {step.seed_ref} · {run.status(step.id)}"
                    searched = f"{name} {step.seed_ref} {step.id}"
                    command = partial(app.open_phase, phase.id, step.id)
                    entries.append((name, searched, help_text, command))
        entries += [
            ("Overview", "Overview", "All phases at a glance", app.show_overview),
            ("Export the deployment log now", "Export log", "Markdown + JSON", app.action_export),
            ("Roll back", "Roll back rollback", "Asks to confirm first", app.action_rollback),
            ("Keys (help)", "Keys help", "Every key of the wizard", app.action_help),
        ]
        return entries

    async def discover(self) -> Hits:
        for name, _, help_text, command in self._entries(with_steps=False):
            yield DiscoveryHit(name, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, searched, help_text, command in self._entries(with_steps=True):
            score = matcher.match(searched)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, help=help_text)
