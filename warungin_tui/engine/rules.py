"""The rulebook: may this action happen now? Allowed (None) or a `Refusal` with a human sentence.

One answer for everybody: the engine raises it, the UI shows it (footer keys through
`check_action`, the "why not" toast), so the two cannot drift. Pure: no Textual, no I/O.
The run's lifecycle (`lifecycle.py`) comes first: a finished or abandoned run accepts no change,
a rolled-back run only its incident report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from warungin_tui.engine.actions import Action as Action
from warungin_tui.engine.actions import Refusal as Refusal
from warungin_tui.engine.checklists import monitoring_hours, monitoring_period_hours
from warungin_tui.engine.lifecycle import RunState, run_state
from warungin_tui.engine.run import Run
from warungin_tui.errors import GateClosed, RunClosed, StepBusy
from warungin_tui.outcome import BAD, GATE_OK, StepStatus
from warungin_tui.playbook import StepKind, StepSpec

DECISIONS = ("GO-LIVE APPROVED", "HOLD FOR REVIEW")
APPROVED = DECISIONS[0]
OPEN_AFTER_ROLLBACK = frozenset({"incident"})
"""Phases a rolled-back run still accepts answers in: the incident report."""


# -- the lifecycle ---------------------------------------------------------------------------------
def lifecycle_refusal(run: Run, phase_id: str | None = None) -> Refusal | None:
    """A run that is no longer in progress accepts nothing (a rolled-back one: its incident
    report); `phase_id` None asks about the run as a whole."""
    state = run_state(run)
    if state == RunState.FINISHED:
        return Refusal(
            "The run is finished (F): its record is sealed and nothing can change it. "
            "Export the log (e) or quit (q); a new deployment is a new run.",
            RunClosed,
        )
    if state == RunState.ABANDONED:
        reason = (run.abandoned or {}).get("reason", "")
        return Refusal(
            f"The run was abandoned ({reason}): nothing can change it. A new deployment is a "
            "new run.",
            RunClosed,
        )
    if state == RunState.ROLLED_BACK and phase_id not in OPEN_AFTER_ROLLBACK:
        return Refusal(
            "The deployment was rolled back: its phases are closed. Write the incident report; "
            "a new deployment is a new run (N on the overview).",
            RunClosed,
        )
    return None


# -- the busy rule: which steps may run at the same time ---------------------------------------
def may_run_together(running: Iterable[StepSpec], spec: StepSpec) -> bool:
    """Whether `spec` may start while `running` run: only read-only probes run beside each
    other (over the one connection they cannot disturb one another); a step that changes the
    host, or sends a message, always runs alone."""
    return spec.read_only and all(other.read_only for other in running)


def busy_with(running: Sequence[StepSpec], spec: StepSpec | None = None) -> str | None:
    """What keeps `spec` from starting now, as the rulebook's busy sentence names it (the
    running steps' titles), or None when it may start. `spec` None: anything that is not a
    probe (a phase run, a rollback, finishing the run) waits for every running step."""
    blocking = [s for s in running if spec is None or not may_run_together([s], spec)]
    if not blocking:
        return None
    if len(blocking) == 1:
        return blocking[0].title
    return f"{blocking[0].title} (and {len(blocking) - 1} more probes)"


def runs_together(run: Run, phase_id: str) -> bool:
    """Whether `a` on this phase runs its open automated steps at the same time and reports
    each (True), or in order, stopping at the first that does not pass (False)."""
    phase = run.playbook.phase(phase_id)
    open_steps = open_automated_steps(run, phase_id)
    return phase.probes_together and all(s.read_only for s in open_steps)


# -- steps -------------------------------------------------------------------------------------
def step_refusal(
    run: Run,
    step_id: str,
    action: Action,
    *,
    busy: str | None = None,
    enforce_gates: bool = True,
) -> Refusal | None:
    """May `action` be done on this step now? `busy`: the title of what is running that this
    step may not run beside (`busy_with`), if any."""
    spec = run.playbook.step(step_id)
    phase_id = run.playbook.phase_of(step_id).id
    status = run.status(step_id)
    return (
        lifecycle_refusal(run, phase_id)
        or _running_refusal(spec, status, action, busy)
        # confirming a message was sent records a fact: no gate stands in its way
        or (
            _gate_refusal(run, spec, phase_id)
            if enforce_gates and action != Action.CONFIRM_SENT
            else None
        )
        or _kind_refusal(spec, action)
        or _status_refusal(spec, status, action)
    )


def _running_refusal(
    spec: StepSpec, status: StepStatus, action: Action, busy: str | None
) -> Refusal | None:
    if status == StepStatus.RUNNING:
        return Refusal(f"{spec.title} is running: wait for it to finish.", StepBusy)
    if busy and action in (Action.RUN_STEP, Action.RETRY):
        return Refusal(f"{busy} is running: wait for it to finish.", StepBusy)
    return None


def _gate_refusal(run: Run, spec: StepSpec, phase_id: str) -> Refusal | None:
    if spec.kind == StepKind.DECISION:
        return None  # HOLD FOR REVIEW may be recorded at any time; approval has its own rule
    blocking = run.blocking_phase(phase_id)
    if blocking is not None:
        return Refusal(
            f"Gate closed: {run.playbook.phase(blocking).title} is not complete (pass or "
            "override its steps, or override its gate with O there).",
            GateClosed,
        )
    if phase_id == "rollback" and not run.rollback_available:
        return Refusal("No backup from Step 1.1 yet: there is nothing to roll back to.", GateClosed)
    return None


def _kind_refusal(spec: StepSpec, action: Action) -> Refusal | None:
    """Whether the action fits this kind of step at all."""
    kind, title = spec.kind, spec.title
    if kind == StepKind.DECISION and action not in (Action.DECIDE,):
        return Refusal("The go-live decision is recorded on its screen: enter there decides.")
    if action in (Action.RUN_STEP, Action.RETRY) and not spec.automated:
        if kind == StepKind.MANUAL:
            return Refusal("A person checks this one: space = passed, x = failed.")
        return Refusal(f"{title} is a {kind} step: a person answers it (enter).")
    if action == Action.TICK and kind != StepKind.MANUAL:
        if spec.automated:
            return Refusal(f"{title} is automated: enter runs it (a runs the whole phase).")
        return Refusal(f"{title} is a {kind} step: enter answers it.")
    if action == Action.FAIL and kind != StepKind.MANUAL:
        if spec.automated:
            return Refusal(
                "Automated steps fail by themselves; a failed one can be overridden (o)."
            )
        return Refusal(f"A {kind} step cannot be failed: skip it (s) or override the gate (O).")
    if action == Action.SIGN and kind != StepKind.SIGNOFF:
        return Refusal(f"{title} is not a sign-off.")
    if action == Action.INPUT and kind != StepKind.INPUT:
        return Refusal(f"{title} does not take a typed value.")
    if action == Action.CONFIRM_SENT and kind != StepKind.NOTIFY:
        return Refusal(f"{title} is not a notification step.")
    return None


def _status_refusal(spec: StepSpec, status: StepStatus, action: Action) -> Refusal | None:
    title = spec.title
    if action == Action.RUN_STEP and status in GATE_OK:
        return Refusal(f"{title} already {status}: r runs it again.")
    if action == Action.RETRY and status == StepStatus.PENDING:
        return Refusal(f"{title} has not run yet: enter runs it.")
    if action == Action.SKIP and status in GATE_OK:
        return Refusal(f"{title} is already {status}.")
    if action == Action.OVERRIDE_STEP and status not in BAD:
        return Refusal(f"o overrides a failed or interrupted step; {title} is {status}.")
    return None


RECOVERY_ACTIONS = (Action.RETRY, Action.OVERRIDE_STEP, Action.ROLLBACK)
"""What may follow a failed or interrupted step, best first: retry (reconnecting), go on with a
reason (for an interrupted step: mark it done once checked on the host), roll back."""


def rollback_offer_refusal(run: Run, step_id: str) -> Refusal | None:
    """May the wizard offer "roll back now?" for this step's outcome? Only when the step really
    failed in a deployment phase after the backup exists: an interrupted step's outcome on the
    host is unknown (reconnect and ask first), and a procedure's failure is its own response."""
    spec = run.playbook.step(step_id)
    status = run.status(step_id)
    if status == StepStatus.INTERRUPTED:
        return Refusal(
            f"{spec.title} was interrupted, not failed: reconnect and ask the host first (r)."
        )
    if status != StepStatus.FAILED:
        return Refusal(f"{spec.title} did not fail.")
    if run.playbook.phase_of(step_id).procedure:
        return Refusal(f"{spec.title} is part of a procedure, not of the deployment.")
    return run_refusal(run, Action.ROLLBACK)


def recovery_actions(run: Run, step_id: str, *, busy: str | None = None) -> list[Action]:
    """The actions of RECOVERY_ACTIONS the rulebook allows now on a failed or interrupted step
    (none for any other status), in that order; rollback only where it would be offered."""
    if run.status(step_id) not in BAD:
        return []
    allowed = [
        action
        for action in RECOVERY_ACTIONS[:2]
        if step_refusal(run, step_id, action, busy=busy) is None
    ]
    if (
        rollback_offer_refusal(run, step_id) is None
        and run_refusal(run, Action.ROLLBACK, busy=busy) is None
    ):
        allowed.append(Action.ROLLBACK)
    return allowed


# -- phases --------------------------------------------------------------------------------------
def phase_refusal(
    run: Run,
    phase_id: str,
    action: Action,
    *,
    busy: str | None = None,
    enforce_gates: bool = True,
) -> Refusal | None:
    """Run the phase's automated steps, override its gate, or go on to the next phase."""
    phase = run.playbook.phase(phase_id)
    closed = lifecycle_refusal(run, phase_id)
    if closed is not None and action != Action.NEXT_PHASE:
        return closed
    if action == Action.RUN_PHASE:
        if busy:
            return Refusal(f"{busy} is running: wait for it to finish.", StepBusy)
        blocking = run.blocking_phase(phase_id) if enforce_gates else None
        if blocking is not None:
            return Refusal(
                f"Gate closed: {run.playbook.phase(blocking).title} is not complete (pass or "
                "override its steps, or override its gate with O there).",
                GateClosed,
            )
        if enforce_gates and phase_id == "rollback" and not run.rollback_available:
            return Refusal(
                "No backup from Step 1.1 yet: there is nothing to roll back to.", GateClosed
            )
        if not open_automated_steps(run, phase_id):
            return Refusal(f"No automated step of {phase.title} is left to run.")
    elif action == Action.OVERRIDE_GATE:
        if run.gate_holds(phase_id):
            return Refusal(f"The gate of {phase.title} already holds: nothing to override.")
    elif action == Action.NEXT_PHASE:
        return _next_phase_refusal(run, phase_id)
    return None


def open_automated_steps(run: Run, phase_id: str) -> list[StepSpec]:
    """The phase's automated steps that have not passed (what `a` would run)."""
    phase = run.playbook.phase(phase_id)
    return [s for s in phase.steps if s.automated and run.status(s.id) not in GATE_OK]


def next_phase_id(run: Run, phase_id: str) -> str | None:
    linear = [p.id for p in run.playbook.linear_phases]
    if phase_id not in linear:
        return None
    index = linear.index(phase_id)
    return linear[index + 1] if index + 1 < len(linear) else None


def _next_phase_refusal(run: Run, phase_id: str) -> Refusal | None:
    phase = run.playbook.phase(phase_id)
    if phase.procedure:
        return Refusal(f"{phase.title} is a procedure, not a phase in order: escape goes back.")
    if next_phase_id(run, phase_id) is None:
        return Refusal(f"{phase.title} is the last phase: export the log (e) when done.")
    if run.gate_holds(phase_id):
        return None
    open_steps = [s.title for s in phase.steps if run.status(s.id) not in GATE_OK]
    shown = "; ".join(open_steps[:2]) + ("; ..." if len(open_steps) > 2 else "")
    return Refusal(
        f"Gate closed: {len(open_steps)} step(s) of {phase.title} still open ({shown}). "
        "Finish them, or override the gate with a reason (O).",
        GateClosed,
    )


# -- the run as a whole ----------------------------------------------------------------------------
def host_changed_by(run: Run) -> StepSpec | None:
    """The first destructive step that started (whatever its outcome), or None."""
    for spec in run.playbook.all_steps():
        if spec.destructive and run.status(spec.id) != StepStatus.PENDING:
            return spec
    return None


def run_refusal(run: Run, action: Action, *, busy: str | None = None) -> Refusal | None:
    """Finish, roll back, export, abandon, decide, acknowledge a monitoring alert, or start a new
    run."""
    state = run_state(run)
    if action == Action.EXPORT:
        return None  # the log can always be written, sealed or not
    if action == Action.NEW_RUN:
        if state == RunState.IN_PROGRESS:
            return Refusal(
                "This run is still in progress: a new run starts after it is finished (F), "
                "rolled back (R) or abandoned (X on the overview)."
            )
        return None
    if action == Action.FINISH and state == RunState.FINISHED:
        return Refusal("The run is already finished.", RunClosed)
    if action == Action.ROLLBACK and state == RunState.ROLLED_BACK:
        return Refusal(
            "The deployment is already rolled back: the previous version runs. "
            "A new deployment is a new run (N on the overview).",
            RunClosed,
        )
    closed = lifecycle_refusal(run, "golive" if action == Action.DECIDE else None)
    if closed is not None:
        return closed
    if busy and action in (Action.FINISH, Action.ROLLBACK, Action.ABANDON):
        return Refusal(f"{busy} is running: wait for it to finish.", StepBusy)
    if action == Action.FINISH and run.decision is None:
        return Refusal(
            "Record the go-live decision first (enter on the go-live screen): a run finishes "
            "after it, or ends by a rollback."
        )
    if action == Action.ABANDON and (changed := host_changed_by(run)) is not None:
        return Refusal(
            f"{changed.title} has run on the host: roll back (R) or carry the deployment "
            "through. Abandon ends a run that changed nothing on the host."
        )
    if action == Action.ROLLBACK and not run.rollback_available:
        return Refusal("No backup from Step 1.1 yet: there is nothing to roll back to.", GateClosed)
    return None


def approval_blockers(run: Run) -> list[str]:
    """Why GO-LIVE APPROVED cannot be given now (empty when it can)."""
    blockers = []
    for phase in run.playbook.linear_phases:
        if phase.id == "golive":
            break
        if not run.gate_holds(phase.id):
            blockers.append(f"{phase.title}: {run.phase_status(phase.id)}")
    if run.rollbacks:
        blockers.append("a rollback happened")
    return blockers


def decision_refusal(
    run: Run,
    decision: str,
    authorized_by: str,
    *,
    monitoring_override_reason: str = "",
) -> Refusal | None:
    """The go-live decision: who, which, and approval only on held gates and evidence of
    monitoring (or an explicit override of the missing evidence, with a reason)."""
    closed = run_refusal(run, Action.DECIDE)
    if closed is not None:
        return closed
    if decision not in DECISIONS:
        return Refusal(f"The decision is one of {', '.join(DECISIONS)}.")
    if not authorized_by.strip():
        return Refusal("The decision needs the name of who authorizes it.")
    if decision != APPROVED:
        return None
    blockers = approval_blockers(run)
    if blockers:
        return Refusal("GO-LIVE APPROVED is refused: " + "; ".join(blockers), GateClosed)
    shortfall = monitoring_shortfall(run)
    if shortfall and not monitoring_override_reason.strip():
        return Refusal(f"GO-LIVE APPROVED needs an override with a reason: {shortfall}", GateClosed)
    return None


# -- monitoring evidence -----------------------------------------------------------------------
# The hours covered and the configured period are defined once, in checklists.py (the export's
# "24-hour monitoring passed" reads the same functions); the rule here is what approval needs.
def monitoring_hours_covered(run: Run) -> float:
    """Hours between the first and the last `monitoring_sample` event (0 without two samples)."""
    return monitoring_hours(run)


def monitoring_covered(run: Run) -> bool:
    """Whether "24-hour monitoring passed" may be claimed: samples cover the configured period."""
    return monitoring_hours(run) >= monitoring_period_hours(run)


def monitoring_shortfall(run: Run) -> str:
    """Empty when monitoring samples cover the period, else the sentence saying how short."""
    covered, period = monitoring_hours(run), monitoring_period_hours(run)
    if covered >= period:
        return ""
    return (
        f"monitoring samples cover {covered:.1f} of {period:g} hours, so "
        f'"{period:g}-hour monitoring passed" is not evidenced.'
    )
