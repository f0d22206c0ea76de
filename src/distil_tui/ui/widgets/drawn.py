"""Widgets that show a Rich renderable slow to lay out, drawn once.

A Rich table measures every cell each time it is laid out.  Textual asks a
widget's height on every layout pass (a screen pushed over it, a focus that
moves, a scrollbar that comes and goes) and then draws it: for a profile
section or a comparison that was a dozen table renders, tens of ms, on
opening the review queue or the merge history.  Here the lines are made once
for each width, content and style, and answer both questions.
"""

from __future__ import annotations

from collections.abc import Hashable

from rich.console import RenderableType
from textual.geometry import Size
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget


class DrawnOnce(Widget):
    """Base class: :meth:`render` gives the renderable and :meth:`content_key`
    changes whenever it would render differently (the theme and the
    widget's own style are accounted for here)."""

    DEFAULT_CSS = """
    DrawnOnce {
        height: auto;
    }
    """

    _drawn: tuple[Hashable, list[Strip]] | None = None

    def content_key(self) -> Hashable:
        raise NotImplementedError

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = self._lines(width)
        return lines[y] if y < len(lines) else Strip.blank(width, self.visual_style.rich_style)

    def _lines(self, width: int) -> list[Strip]:
        style = self.visual_style
        key = (width, self.content_key(), style, self.app.theme)
        if self._drawn is None or self._drawn[0] != key:
            lines = Visual.to_strips(self, visualize(self, self.render()), width, None, style) if width else []
            self._drawn = (key, lines)
        return self._drawn[1]


class RichBody(DrawnOnce):
    """A Rich renderable, like a ``Static`` that is only ever updated whole."""

    def __init__(self, renderable: RenderableType = "", *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._renderable = renderable
        self._version = 0

    def update(self, renderable: RenderableType) -> None:
        self._renderable = renderable
        self._version += 1
        self.refresh(layout=True)

    def content_key(self) -> Hashable:
        return self._version

    def render(self) -> RenderableType:
        return self._renderable
