"""A question that must be answered before something that cannot be taken back."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from distil_tui.ui.widgets.footer import Footer


class ConfirmScreen(ModalScreen[bool]):
    """Asks ``question``, explained by ``body``; dismisses with ``True`` to go
    ahead.  Focus starts on Cancel, so that a stray enter changes nothing;
    ``y`` (or the confirm button) goes ahead, ``n`` or escape does not."""

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
        & > #confirm {
            width: 72;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            padding: 0 1;
            border: round $warning;
            border-title-color: $text;
            border-title-style: bold;
            background: $surface;
            & > #confirm-body {
                height: auto;
                margin: 1 0;
            }
            & > #confirm-buttons {
                height: auto;
                align-horizontal: right;
                & > Button { margin-left: 2; }
            }
        }
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Go ahead"),
        Binding("n", "answer(False)", "No", id="confirm.no", tooltip="Leave things as they are"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel", tooltip="Leave things as they are"),
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]

    AUTO_FOCUS = "#confirm-cancel"

    def __init__(self, question: str, body: Text, *, confirm: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.body = body
        self.confirm_label = confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(self.body, id="confirm-body")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="confirm-cancel", compact=True)
                yield Button(self.confirm_label, id="confirm-ok", variant="warning", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#confirm").border_title = self.question

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-ok")
