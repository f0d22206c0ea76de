"""One Screen per view."""

from distil_tui.ui.screens.browse import BrowseScreen
from distil_tui.ui.screens.confirm import ConfirmScreen
from distil_tui.ui.screens.data import DataScreen
from distil_tui.ui.screens.history import HistoryScreen
from distil_tui.ui.screens.importing import ImportScreen
from distil_tui.ui.screens.review import ReviewScreen

__all__ = ["BrowseScreen", "ConfirmScreen", "DataScreen", "HistoryScreen", "ImportScreen", "ReviewScreen"]
