"""Rollback: verify the backup, stop, restore the exact tree, rebuild, start, check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from warungin_tui.engine.events import JournalEvent
from warungin_tui.engine.rules import Action
from warungin_tui.engine.run import Run
from warungin_tui.outcome import GATE_OK, Outcome
from warungin_tui.playbook import StepSpec
from warungin_tui.steps.parsers import restore_preview_text

ROLLBACK_HOST_STATE = {
    "rollback.verify_archive": "unchanged: nothing was stopped or deleted, the new release still "
    "runs as before",
    "rollback.preview": "unchanged: nothing was stopped or deleted, the new release still runs "
    "as before",
    "rollback.stop": "services may be partly stopped; the project tree is untouched (new release)",
    "rollback.restore": "services are DOWN; if the restore got past its checks, the project tree "
    "may be partly replaced: the verified copy is in the .warungin-restore.* folder of the "
    "project (the restore can be retried; the archive, backup_dir, the dumps and the kept paths "
    "were not touched)",
    "rollback.build": "services are DOWN; the pre-deployment tree and commit are restored, the "
    "images are not rebuilt",
    "rollback.start": "the previous version is restored and built, but the stack did not start",
}
"""What a failed rollback step leaves behind on the host, for the operator's next move."""


class RollbackProcedure:
    """Mixed into Engine; runs the `rollback` procedure phase step by step."""

    if TYPE_CHECKING:
        run: Run

        def record(self, event: JournalEvent) -> dict[str, Any]: ...

        def check_run_action(self, action: Action) -> None: ...

        async def run_step(self, step_id: str, *, confirmed: bool = False) -> Outcome: ...

        async def ensure_host_lock(self, spec: StepSpec) -> None: ...

        async def release_host_lock(self, reason: str) -> None: ...

    async def rollback(
        self, *, reason: str, confirm: Callable[[StepSpec], Awaitable[bool]] | None = None
    ) -> bool:
        """Run the rollback procedure; stop at the first failed step and say where the host is.

        `confirm` is asked before each destructive step; None means the caller already had the
        whole rollback confirmed. The error logs are collected first: `compose down` loses them.
        """
        self.check_run_action(Action.ROLLBACK)
        await self.ensure_host_lock(self.run.playbook.step("rollback.verify_archive"))
        self.record({"type": "rollback_started", "reason": reason, "by": self.run.operator})
        if self.run.status("incident.collect_logs") not in GATE_OK:
            await self.run_step("incident.collect_logs")
        commands: list[str] = []
        # A fresh attempt re-runs every rollback step, even those that passed in an earlier attempt.
        for spec in self.run.playbook.phase("rollback").steps:
            if spec.destructive and confirm is not None and not await confirm(spec):
                self._rollback_finished(
                    False, f"stopped before {spec.title}: not confirmed", spec.id, commands
                )
                return False
            outcome = await self.run_step(spec.id, confirmed=True)
            if outcome.command:
                commands.append(outcome.command)
            if outcome.status not in GATE_OK:
                self._rollback_finished(
                    False, f"{spec.title} failed: {outcome.detail}", spec.id, commands
                )
                return False
        self._rollback_finished(True, "previous version running", None, commands)
        await self.release_host_lock("rollback completed")
        return True

    def restore_preview(self) -> str:
        """What the restore will replace or remove, as the preview step of this attempt found it
        (shown in the destructive confirmations); empty when it has not run in this attempt."""
        result = self.run.results.get("rollback.preview")
        started = self.run.rollbacks[-1].get("started_at") if self.run.rollbacks else None
        if (
            result is None
            or result.status not in GATE_OK
            or not isinstance(result.value, dict)
            or (started and (result.finished_at or "") < started)
        ):
            return ""
        return "The restore: " + restore_preview_text(result.value)

    def _rollback_finished(
        self, ok: bool, detail: str, stopped_at: str | None, commands: list[str]
    ) -> None:
        host_state = ROLLBACK_HOST_STATE.get(stopped_at or "", "")
        if stopped_at and not host_state:
            host_state = "previous version restored and started, but this check failed"
        if host_state:
            detail = f"{detail}. Host state: {host_state}"
        self.record(
            {
                "type": "rollback_finished",
                "ok": ok,
                "detail": detail,  # step titles and outcomes the engine already redacted
                "stopped_at": stopped_at,
                "commands": commands,
            }
        )
