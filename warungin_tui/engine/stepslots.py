"""The steps executing now, admitted one by one by the rulebook's busy rule.

Read-only probes may hold slots together (a Phase 3 `a` runs them at once over the one
connection); any other step holds the engine alone. Admission never waits: a refused step
raises StepBusy at once, as the one-step lock did before. No Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from warungin_tui.engine.rules import busy_with
from warungin_tui.errors import StepBusy
from warungin_tui.playbook import StepSpec


class StepSlots:
    def __init__(self) -> None:
        self._running: dict[str, StepSpec] = {}

    @property
    def running(self) -> list[StepSpec]:
        """The steps holding a slot, in the order they started."""
        return list(self._running.values())

    def busy(self, spec: StepSpec | None = None) -> str | None:
        """The rulebook's busy sentence for `spec` (None: for anything but a probe)."""
        return busy_with(self.running, spec)

    @contextmanager
    def hold(self, spec: StepSpec) -> Iterator[None]:
        """Hold a slot for `spec` while the block runs; StepBusy when the rule says no.

        Checking and taking happen with no await in between, so two tasks cannot both pass
        the check before either holds its slot."""
        blocking = self.busy(spec)
        if blocking is not None or spec.id in self._running:
            raise StepBusy(f"{blocking or spec.title} is running: wait for it to finish.")
        self._running[spec.id] = spec
        try:
            yield
        finally:
            del self._running[spec.id]
