"""Textual's footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """Textual's ``Footer`` rebuilds every key widget each time a screen
    calls ``refresh_bindings``: a few dozen widgets mounted and styled, tens
    of ms.  Screens call it whenever something they show changes (the next
    candidate, a page of history loaded), and most of those times no key
    came or went and none was enabled or disabled: then nothing is rebuilt."""

    _shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            shown = keys_shown(screen)
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)


def keys_shown(screen: Screen) -> tuple:
    """What a footer shows of the screen's keys: each key, its action and
    description, and whether it is enabled."""
    return tuple(
        (binding.key, binding.action, binding.description, enabled, tooltip)
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show
    )
