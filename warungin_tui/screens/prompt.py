"""Text and choice prompts: enter accepts, escape cancels (None)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

CANCEL = Binding(
    "escape", "cancel", "Cancel", tooltip="Close without answering", id="warungin.prompt.cancel"
)


Answer = TypeVar("Answer")

ANSWER_WAIT_S = 1.0
"""How long keys typed after enter wait for the answer at most (it takes a few ms)."""


class AnswerPrompt(ModalScreen[Answer | None], Generic[Answer]):
    """A dialog that closes with an answer, or None on escape.

    `on_answer`, when set, is called with the answer in the same handler that closes the
    dialog (a `push_screen` callback runs later, after keys already queued). Keys typed after
    enter, before the dialog is gone, are held (the app hands them here: `submitted`) and then
    handed on to the screen below once the answer is in, as a fast typist means them
    ("Putri⏎ " signs and passes the next check); they were lost in the dialog's field."""

    BINDINGS = [CANCEL]

    on_answer: Callable[[Answer], None] | None = None

    def __init__(self, name: str) -> None:
        super().__init__(name=name)  # a name, not an id: prompts chain
        self.submitted = False
        """Enter was pressed in a field and the answer is being taken: keys wait."""
        self._answered = False
        self._typed_ahead: list[events.Key] = []

    def answer(self, value: Answer) -> None:
        if self._answered:
            return
        self._answered = True
        self.dismiss(value)
        if self.on_answer is not None:
            self.on_answer(value)
        self._hand_on()

    def refuse(self, message: str, field: Input | None = None) -> None:
        """The answer cannot be taken (say why): typing goes on in the dialog."""
        error = self.query_one("#prompt-error", Static)
        error.update(message)
        error.display = True
        if field is not None:
            field.focus()
        self.submitted = False
        self._hand_on()  # back to the field: the dialog is still on top

    def take_key(self, key: events.Key, focused: object) -> bool:
        """Called by the app for every key while this dialog is on top, before it is handled:
        True when the key is held (it came after enter in a field, while the answer is being
        taken). The app sees keys before the field's enter has run, so enter itself marks it."""
        if self.submitted:
            self._typed_ahead.append(key)
            return True
        if key.key == "enter" and isinstance(focused, PromptInput):
            self.submitted = True
            self.set_timer(ANSWER_WAIT_S, self._stuck)
        return False

    def _stuck(self) -> None:
        """No answer and no refusal came: never keep keys for ever."""
        if self.submitted and not self._answered:
            self.submitted = False
            self._hand_on()

    def _hand_on(self) -> None:
        keys, self._typed_ahead = self._typed_ahead, []
        for key in keys:
            self.app.post_message(events.Key(key.key, key.character))

    def action_cancel(self) -> None:
        self.dismiss(None)


def open_prompt(
    app: App[Any], prompt: AnswerPrompt[Answer], then: Callable[[Answer], None]
) -> None:
    """Show `prompt`; `then` gets the answer as the dialog closes (nothing on escape), before
    any key typed meanwhile is handled: a dialog `then` opens gets those keys."""
    prompt.on_answer = then
    app.push_screen(prompt)


class PromptInput(Input):
    """A dialog's field (enter in it submits the dialog's answer: see AnswerPrompt)."""


class TextPrompt(AnswerPrompt[str]):
    """One line of text: a name, a note, a reason or a value."""

    def __init__(
        self,
        title: str,
        message: str = "",
        *,
        value: str = "",
        placeholder: str = "",
        required: bool = True,
    ) -> None:
        super().__init__("prompt")
        self.title_text = title
        self.message = message
        self.value = value
        self.placeholder = placeholder
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            if self.message:
                yield Static(self.message, classes="dialog-body", markup=False)
            yield PromptInput(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static("", id="prompt-error", classes="dialog-error")
            yield Static("enter = accept    escape = cancel", classes="dialog-keys")
        yield Footer(compact=True, show_command_palette=False)

    @on(Input.Submitted)
    def accept(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if self.required and not text:
            self.refuse("An answer is needed (escape cancels).")
            return
        self.answer(text)


class ChoicePrompt(AnswerPrompt[str]):
    """Pick one of a few fixed answers with up/down and enter."""

    def __init__(self, title: str, choices: list[str], message: str = "") -> None:
        super().__init__("choice")
        self.title_text = title
        self.message = message
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            if self.message:
                yield Static(self.message, classes="dialog-body", markup=False)
            yield OptionList(
                *[Option(choice, id=f"choice-{i}") for i, choice in enumerate(self.choices)],
                id="choice-list",
            )
            yield Static("enter = choose    escape = cancel", classes="dialog-keys")
        yield Footer(compact=True, show_command_palette=False)

    @on(OptionList.OptionSelected)
    def choose(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.answer(self.choices[event.option_index])


class FormPrompt(AnswerPrompt[list[str]]):
    """A few labelled lines answered together (tab moves, enter accepts all): one record that
    belongs together, e.g. who authorizes a decision and when it takes effect."""

    def __init__(self, title: str, fields: list[tuple[str, str, bool]], message: str = "") -> None:
        """`fields`: (label, offered value, required) per line."""
        super().__init__("form")
        self.title_text = title
        self.message = message
        self.fields = fields

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            if self.message:
                yield Static(self.message, classes="dialog-body", markup=False)
            for index, (label, value, _) in enumerate(self.fields):
                yield Static(label, classes="dialog-body", markup=False)
                yield PromptInput(value, id=f"form-{index}")
            yield Static("", id="prompt-error", classes="dialog-error")
            yield Static(
                "enter = accept    tab = next line    escape = cancel", classes="dialog-keys"
            )
        yield Footer(compact=True, show_command_palette=False)

    @on(Input.Submitted)
    def accept(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(PromptInput))
        answers = [field.value.strip() for field in inputs]
        for field, answer, (label, _, required) in zip(inputs, answers, self.fields, strict=True):
            if required and not answer:
                self.refuse(f"{label}: an answer is needed (escape cancels).", field)
                return
        self.answer(answers)
