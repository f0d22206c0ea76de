"""The Textual app: theme, global keys and the store; views are Screens."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from distil_tui.core.store import Store
from distil_tui.ui.screens import BrowseScreen


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
    ]

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

    def action_toggle_theme(self) -> None:
        self.theme = self.light_theme if self.theme == self.dark_theme else self.dark_theme
