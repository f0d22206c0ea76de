"""One Screen per view."""

from distil_tui.ui.screens.browse import BrowseScreen

__all__ = ["BrowseScreen"]
