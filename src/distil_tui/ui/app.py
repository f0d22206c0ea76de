"""The Textual app: theme, global keys and the store; views are Screens."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Input

from distil_tui.core.store import Store
from distil_tui.ui.screens import BrowseScreen, HistoryScreen, ReviewScreen


class DistilApp(App[None]):
    """distil-tui.

    ``cursor_blink=False`` keeps screenshots deterministic; the app shows no
    clock, so nothing else on screen changes by itself.
    """

    CSS_PATH = "app.tcss"
    TITLE = "distil-tui"

    BINDINGS = [
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="app.quit",
            priority=True,
            tooltip="Quit distil-tui and return to the command prompt",
        ),
        Binding(
            "ctrl+t",
            "toggle_theme",
            "Theme",
            id="app.toggle_theme",
            tooltip="Switch between the dark and the light theme",
        ),
        # Plain letters: a text box types them (its key handler comes first),
        # everywhere else they open the view; the footer greys them out
        # while a text box has the focus.
        Binding(
            "r",
            "open('review')",
            "Review",
            id="app.review",
            tooltip="Review the merge candidates waiting for a decision",
        ),
        Binding(
            "h",
            "open('history')",
            "History",
            id="app.history",
            tooltip="Every merge, split and undo, newest first",
        ),
    ]

    VIEWS: dict[str, type[Screen]] = {"review": ReviewScreen, "history": HistoryScreen}

    def __init__(
        self,
        store: Store,
        *,
        dark_theme: str = "textual-dark",
        light_theme: str = "textual-light",
        light: bool = False,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.store = store
        self.dark_theme = dark_theme
        self.light_theme = light_theme
        self.cursor_blink = cursor_blink
        self.theme = light_theme if light else dark_theme

    def get_default_screen(self) -> Screen:
        return BrowseScreen(self.store, cursor_blink=self.cursor_blink)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            # Not over a dialog, and not the view already on show.
            view = self.VIEWS[str(parameters[0])]
            if isinstance(self.screen, (ModalScreen, view)):
                return False
            # Shown, but greyed out, while a text box would type the letter.
            return None if isinstance(self.focused, Input) else True
        return True

    def action_open(self, view: str) -> None:
        """Show a view over the browse screen: the views replace one another,
        so that escape always goes back to browsing."""
        screen = self.VIEWS[view](self.store)
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def action_toggle_theme(self) -> None:
        self.theme = self.light_theme if self.theme == self.dark_theme else self.dark_theme
