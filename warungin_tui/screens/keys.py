"""The keyboard contract (DESIGN.md "Keyboard contract"): every binding once, in one place.

Each binding has a description (footer), a tooltip and a stable id, so keys can be remapped
with `App.set_keymap`. The help screen is built from these lists, so it cannot miss a key.
"""

from __future__ import annotations

from textual.binding import Binding

from warungin_tui.engine.actions import Action

# Step actions: bound on every run screen; a screen says per action whether it applies now.
# `enter` has one binding per kind of row, so the footer says what it does there ("Sign",
# "Answer", "Run"): a screen hides the ones that do not fit the selected row, and the first
# shown one is the one that acts. Only "Run" has an explaining twin (it says why for all three).
ENTER_BINDINGS: list[Binding] = [
    Binding(
        "enter",
        "sign_step",
        "Sign",
        tooltip="Sign off the selected row (asks the name; a name given before is offered)",
        id="warungin.sign",
    ),
    Binding(
        "enter",
        "answer_step",
        "Answer",
        tooltip="Answer the selected question (asks the value)",
        id="warungin.answer",
    ),
]
STEP_BINDINGS: list[Binding] = [
    Binding("enter", "run_step", "Run", tooltip="Run or open the selected step", id="warungin.run"),
    Binding(
        "space",
        "tick",
        "Pass",
        tooltip="Pass the selected check (a sign-off or a question asks its answer); never a note",
        id="warungin.tick",
    ),
    Binding(
        "m",
        "tick_with_note",
        "Pass+note",
        tooltip="Pass the selected check with a note on what you saw (kept in the log)",
        id="warungin.tick_note",
    ),
    Binding(
        "x",
        "fail",
        "Fail",
        tooltip="Mark the selected manual check as failed (asks a note)",
        id="warungin.fail",
    ),
    Binding(
        "s", "skip", "Skip", tooltip="Skip the selected step (asks a reason)", id="warungin.skip"
    ),
    Binding(
        "r",
        "retry",
        "Retry",
        tooltip="Reconnect if needed and run the selected step again",
        id="warungin.retry",
    ),
    Binding(
        "a",
        "run_all",
        "All",
        tooltip="Run every automated step of this phase in order",
        id="warungin.run_all",
    ),
    Binding(
        "o",
        "override_step",
        "Override",
        tooltip="Go on despite the selected failed step (asks a reason)",
        id="warungin.override_step",
    ),
    Binding(
        "O",
        "override_gate",
        "Gate",
        tooltip="Open the gate to the next phase although steps are open (asks a reason)",
        id="warungin.override_gate",
    ),
    Binding(
        "n",
        "next_phase",
        "Next",
        tooltip="Go to the next phase when this phase's gate holds; its automated steps start "
        "(destructive ones still ask)",
        id="warungin.next",
    ),
    Binding(
        "escape",
        "overview",
        "Back",
        tooltip="Back to the overview of all phases",
        id="warungin.overview",
    ),
]
MOVE_BINDINGS: list[Binding] = [
    Binding(
        "j", "cursor_down", "Down", show=False, tooltip="Move to the next row", id="warungin.down"
    ),
    Binding(
        "k", "cursor_up", "Up", show=False, tooltip="Move to the previous row", id="warungin.up"
    ),
]
NOTICE_BINDINGS: list[Binding] = [
    Binding(
        "w",
        "save_message",
        "Save msg",
        tooltip="Save the filled-in message to a file (mode 0600)",
        id="warungin.save_message",
    ),
    Binding(
        "c",
        "copy_message",
        "Copy msg",
        tooltip="Copy the filled-in message to the clipboard (OSC 52)",
        id="warungin.copy_message",
    ),
    Binding(
        "t",
        "confirm_sent",
        "Sent ✓",
        tooltip="Confirm you sent the message (recorded with your name and the time)",
        id="warungin.confirm_sent",
    ),
]
OUTPUT_BINDINGS: list[Binding] = [
    Binding(
        "v",
        "view_output",
        "Output",
        show=False,  # the output pane's title says it; the footer keeps room for quit at 80
        tooltip="Show the selected step's output full-screen, searchable (v or escape closes)",
        id="warungin.view_output",
    ),
]
APP_BINDINGS: list[Binding] = [
    Binding(
        "R",
        "rollback",
        "Rollback",
        tooltip="Start the rollback procedure (asks to confirm)",
        id="warungin.rollback",
    ),
    Binding(
        "e",
        "export",
        "Export",
        show=False,
        tooltip="Write the Markdown and JSON deployment log now",
        id="warungin.export",
    ),
    Binding(
        "question_mark,f1",
        "help",
        "Help",
        key_display="?",
        tooltip="List every key",
        id="warungin.help",
    ),
    Binding(
        "q",
        "request_quit",
        "Quit",
        tooltip="Quit after confirming; the run stays resumable",
        id="warungin.quit",
    ),
    Binding(
        "ctrl+p",
        "command_palette",
        "Palette",
        show=False,
        tooltip="Jump to any phase or step",
        id="warungin.palette",
    ),
]


RECOVERY_KEY_ACTIONS: dict[Action, str] = {
    Action.RETRY: "retry",
    Action.OVERRIDE_STEP: "override_step",
    Action.ROLLBACK: "rollback",
}
"""The binding (by action name) that asks for each recovery action of the rulebook."""


def key_of(action_name: str) -> str:
    """The key shown for a binding's action, from this one keyboard contract."""
    for binding in [*STEP_BINDINGS, *NOTICE_BINDINGS, *OUTPUT_BINDINGS, *APP_BINDINGS]:
        if binding.action == action_name:
            return binding.key_display or binding.key
    raise KeyError(action_name)


def explain_bindings(bindings: list[Binding], action: str = "explain") -> list[Binding]:
    """Hidden twins that run when the real action does not apply, to say why (never silence)."""
    return [
        Binding(
            b.key,
            f"{action}('{b.action}')",
            b.description,
            show=False,
            tooltip=f"Explains why '{b.description}' does not apply now",
            id=f"{b.id}.why",
        )
        for b in bindings
    ]


# What the help screen lists: (keys as shown, what they do). Moves come first.
HELP_ROWS: list[tuple[str, str]] = [
    ("up / down, j / k", "Move between steps (or phases on the overview)"),
    ("tab / shift+tab", "Move focus from the step list to the output (to scroll it) and back"),
    ("pageup / pagedown", "Scroll a page"),
    *[(b.key, b.tooltip) for b in ENTER_BINDINGS],
    *[(b.key, b.tooltip) for b in STEP_BINDINGS],
    *[(b.key, b.tooltip) for b in NOTICE_BINDINGS],
    *[(b.key, b.tooltip) for b in OUTPUT_BINDINGS],
    ("F", "Go-live screen: finish the run after the decision (sealed, no longer resumable)"),
    ("N", "Overview: start a new run once this one ended (finished, rolled back, abandoned)"),
    ("X", "Overview: abandon a run that changed nothing on the host (asks why; sealed)"),
    ("A", "Monitoring screen: acknowledge the oldest open alert with a note"),
    ("R", APP_BINDINGS[0].tooltip),
    ("e", APP_BINDINGS[1].tooltip),
    ("? / F1", "This help"),
    ("ctrl+p", "Command palette: jump to any phase or step"),
    ("q", APP_BINDINGS[3].tooltip),
    ("ctrl+q", "Quit at once (running steps are stopped and recorded as interrupted)"),
    ("Prompts", "enter accepts, escape cancels; confirmations: y yes, n or escape no"),
]
