"""The Textual app: theme, global keys and the store; views are Screens."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from functools import partial

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import HelpPanel, Input

from distil_tui.core.store import Store
from distil_tui.ui.screens import BrowseScreen, DataScreen, HistoryScreen, ImportScreen, ReviewScreen


class DistilApp(App[None]):
    """distil-tui.

    ``cursor_blink=False`` keeps screenshots deterministic; the app shows no
    clock, so nothing else on screen changes by itself.
    """

    CSS_PATH = "app.tcss"
    TITLE = "distil-tui"

    BINDINGS = [
        # Every key of the screen on show, with what it does (Textual's keys
        # panel); ? is typed as text in a text box, F1 works everywhere.
        Binding("f1", "toggle_help", "Help", id="app.help", show=False,
                tooltip="Show or hide the keys of this screen"),
        Binding("question_mark", "toggle_help", "Help", id="app.help_question_mark", show=False,
                tooltip="Show or hide the keys of this screen"),
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
        Binding("i", "open('import')", "Import", id="app.import", show=False,
                tooltip="Import a CSV or JSON Lines file: preview, progress, summary"),
        Binding("d", "open('data')", "Data", id="app.data",
                tooltip="Customers as a table of chosen attributes: sort, segments, export"),
    ]

    VIEWS: dict[str, type[Screen]] = {
        "review": ReviewScreen, "history": HistoryScreen, "import": ImportScreen, "data": DataScreen,
    }

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

    def keep_long_lived(self) -> None:
        """Put what the app holds now out of the cyclic garbage collector's
        sight (``gc.freeze``).  At a million customers the app holds the
        search vocabulary and pages of rows for as long as it runs; every
        full collection walked them all, stalling a frame for 100-330 ms
        (benchmarks/ui_1m.py, benchmarks/data_panel.py).  Called once the
        first search has loaded the vocabulary, and when the Data panel
        opens; a cycle that is garbage at that moment is never freed, a
        small price.

        What is left for full collections is what the screens made since
        (Textual's caches, strips, styles: about 125k objects at a million
        customers), and garbage.  A full collection after every second
        middle one rather than every tenth walks less garbage each time: in
        ui_1m.py, 47 full collections of at most 35 ms instead of 14 of up
        to 81 ms, and the longest frame gap over four runs 52-69 ms instead
        of 54-97 ms over seven.  Fewer still is worse: every hundredth, 2
        collections of 170-220 ms."""
        gc.freeze()
        gen0, gen1, _gen2 = gc.get_threshold()
        gc.set_threshold(gen0, gen1, 2)

    def action_open(self, view: str) -> None:
        """Show a view over the browse screen: the views replace one another,
        so that escape always goes back to browsing."""
        screen = self.VIEWS[view](self.store)
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def action_toggle_help(self) -> None:
        if self.screen.query(HelpPanel):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p) offers the views and keys of the app
        besides Textual's own commands."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Review merge candidates", "The candidates waiting for a decision (r)",
                            lambda: self.action_open("review"))
        yield SystemCommand("Merge history", "Every merge, split and undo, newest first (h)",
                            lambda: self.action_open("history"))
        yield SystemCommand("Import a file", "A CSV or JSON Lines file: preview, progress, summary (i)",
                            lambda: self.action_open("import"))
        yield SystemCommand("Data panel", "Customers as a table: columns, sort, segments, export (d)",
                            lambda: self.action_open("data"))
        yield SystemCommand("Switch theme", "Between the dark and the light theme (ctrl+t)",
                            self.action_toggle_theme)
        if isinstance(screen, BrowseScreen):
            yield SystemCommand("Search", "Go to the search box (/)", screen.action_focus_search)
            yield SystemCommand("Copy Tracking ID", "Copy the Tracking ID of the customer on show (y)",
                                screen.action_copy_tracking_id)
        # And whatever the screen on show can do now (approve, reject, undo...).
        for active in screen.active_bindings.values():
            binding = active.binding
            if not active.enabled or not binding.id or binding.id.startswith("app.") or not binding.description:
                continue
            help_text = f"{active.tooltip or binding.tooltip} ({binding.key_display or binding.key})".lstrip()
            yield SystemCommand(binding.description, help_text,
                                partial(self.run_action, binding.action, active.node))

    def action_toggle_theme(self) -> None:
        self.theme = self.light_theme if self.theme == self.dark_theme else self.dark_theme
