"""Text and choice prompts: enter accepts, escape cancels (None)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

CANCEL = Binding(
    "escape", "cancel", "Cancel", tooltip="Close without answering", id="warungin.prompt.cancel"
)


class TextPrompt(ModalScreen[str | None]):
    """One line of text: a name, a note, a reason or a value."""

    BINDINGS = [CANCEL]

    def __init__(
        self,
        title: str,
        message: str = "",
        *,
        value: str = "",
        placeholder: str = "",
        required: bool = True,
    ) -> None:
        super().__init__(name="prompt")  # a name, not an id: prompts chain
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
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static("", id="prompt-error", classes="dialog-error")
            yield Static("enter = accept    escape = cancel", classes="dialog-keys")
        yield Footer(compact=True, show_command_palette=False)

    @on(Input.Submitted)
    def accept(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if self.required and not text:
            error = self.query_one("#prompt-error", Static)
            error.update("An answer is needed (escape cancels).")
            error.display = True
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoicePrompt(ModalScreen[str | None]):
    """Pick one of a few fixed answers with up/down and enter."""

    BINDINGS = [CANCEL]

    def __init__(self, title: str, choices: list[str], message: str = "") -> None:
        super().__init__(name="choice")
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
        self.dismiss(self.choices[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class FormPrompt(ModalScreen[list[str] | None]):
    """A few labelled lines answered together (tab moves, enter accepts all): one record that
    belongs together, e.g. who authorizes a decision and when it takes effect."""

    BINDINGS = [CANCEL]

    def __init__(self, title: str, fields: list[tuple[str, str, bool]], message: str = "") -> None:
        """`fields`: (label, offered value, required) per line."""
        super().__init__(name="form")
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
                yield Input(value, id=f"form-{index}")
            yield Static("", id="prompt-error", classes="dialog-error")
            yield Static(
                "enter = accept    tab = next line    escape = cancel", classes="dialog-keys"
            )
        yield Footer(compact=True, show_command_palette=False)

    @on(Input.Submitted)
    def accept(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        answers = [field.value.strip() for field in inputs]
        for field, answer, (label, _, required) in zip(inputs, answers, self.fields, strict=True):
            if required and not answer:
                error = self.query_one("#prompt-error", Static)
                error.update(f"{label}: an answer is needed (escape cancels).")
                error.display = True
                field.focus()
                return
        self.dismiss(answers)

    def action_cancel(self) -> None:
        self.dismiss(None)
