"""Reusable widgets; each carries its own DEFAULT_CSS."""

from distil_tui.ui.widgets.comparison import ComparisonTable
from distil_tui.ui.widgets.profile import ProfileView
from distil_tui.ui.widgets.results import ResultsTable
from distil_tui.ui.widgets.search_box import SearchBox

__all__ = ["ComparisonTable", "ProfileView", "ResultsTable", "SearchBox"]
