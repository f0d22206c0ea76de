"""The search box at the top of the browse screen."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class SearchBox(Input):
    """An Input whose keys read as search keys in the footer.

    Printable keys always type (Input handles them before any binding), so
    ``q`` and ``/`` type themselves here while they are shortcuts elsewhere.
    """

    DEFAULT_CSS = """
    SearchBox, SearchBox.-textual-compact {
        padding: 0 1;
        background: $boost;
        &:focus {
            background: $boost;
            background-tint: $foreground 5%;
        }
    }
    """

    BINDINGS = [
        # Input binds enter to "submit" without showing it; show what it does here.
        Binding(
            "enter", "submit", "Open", id="search.open", tooltip="Open the highlighted customer's profile"
        ),
        # Input inherits a down binding that scrolls nothing; moving on to
        # what follows (the results) is what a person expects, as with tab.
        Binding("down", "leave", "Results", id="search.leave", tooltip="Move to the results"),
    ]

    def action_leave(self) -> None:
        self.screen.focus_next()
