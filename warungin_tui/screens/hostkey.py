"""Host key decisions: an unknown key is shown and asked about; a changed key is refused."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static


def _host(error: Any) -> str:
    return error.host if error.port == 22 else f"[{error.host}]:{error.port}"


class HostKeyScreen(ModalScreen[bool]):
    """Trust on first use, with the fingerprint in front of the operator: y accepts, n refuses."""

    BINDINGS = [
        Binding(
            "y",
            "answer(True)",
            "Accept",
            tooltip="Trust this key and remember it",
            id="warungin.hostkey.accept",
        ),
        Binding(
            "n", "answer(False)", "Refuse", tooltip="Do not connect", id="warungin.hostkey.refuse"
        ),
        Binding(
            "escape",
            "answer(False)",
            "Refuse",
            tooltip="Do not connect",
            id="warungin.hostkey.cancel",
        ),
    ]

    def __init__(self, error: Any) -> None:
        super().__init__(id="host-key")
        self.error = error

    def compose(self) -> ComposeResult:
        error = self.error
        body = Text()
        body.append(f"{_host(error)} is not in {error.known_hosts}.\n\n")
        body.append("Key type     ", style="bold")
        body.append(f"{error.key_type}\n")
        body.append("Fingerprint  ", style="bold")
        body.append(f"{error.fingerprint}\n\n", style="bold yellow")
        body.append(
            "Compare it with the fingerprint the server's admin gave you (on the server: "
            "ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub). Accepting adds it to "
            "known_hosts; later connections are checked against it."
        )
        with Vertical(classes="dialog"):
            yield Static("Unknown host key", classes="dialog-title")
            yield Static(body, classes="dialog-body")
            yield Static("y = accept and remember    n or escape = refuse", classes="dialog-keys")
        yield Footer(compact=True, show_command_palette=False)

    def action_answer(self, accept: bool) -> None:
        self.dismiss(accept)


class HostKeyChangedScreen(Screen[None]):
    """A changed key may be an impostor: explain, refuse, and show how to fix it if expected."""

    BINDINGS = [
        Binding(
            "escape",
            "back",
            "Back",
            tooltip="Back to the start screen",
            id="warungin.hostkey_changed.back",
        ),
        Binding(
            "q", "app.quit", "Quit", tooltip="Quit the wizard", id="warungin.hostkey_changed.quit"
        ),
    ]

    def __init__(self, error: Any) -> None:
        super().__init__(id="host-key-changed")
        self.error = error

    def compose(self) -> ComposeResult:
        error = self.error
        body = Text()
        body.append("REFUSED: the host key of the target has changed\n\n", style="bold red")
        body.append(f"{_host(error)} offered a {error.key_type} key\n")
        body.append(f"{error.fingerprint}\n", style="bold yellow")
        body.append(f"which does not match the key recorded in {error.known_hosts}.\n\n")
        body.append(
            "Someone may be intercepting the connection, or the server was reinstalled. "
            "The wizard will not connect and nothing was run.\n\n"
            "If (and only if) the server's admin confirms the new fingerprint, remove the old "
            "entry and start again:\n"
        )
        body.append(f"  ssh-keygen -R '{_host(error)}' -f {error.known_hosts}\n", style="bold")
        with VerticalScroll(id="changed-body"):
            yield Static(body)
        yield Footer(compact=True, show_command_palette=False)

    def action_back(self) -> None:
        self.dismiss(None)
