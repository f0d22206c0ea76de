"""Two customers (or two records) side by side, field by field."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from rich.console import RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from distil_tui.core.review import FieldComparison
from distil_tui.ui.text import literal
from distil_tui.ui.widgets.drawn import DrawnOnce

# How each agreement is marked between the two values.
MARKS = {"agree": "=", "close": "≈", "disagree": "≠", "": ""}
# The model's last level is "else": both present, none of the levels above.
_LEVEL_WORDS = {"else": "different"}


class ComparisonTable(DrawnOnce):
    """Rows of :class:`FieldComparison`: the field, the two values with a mark
    between them (= agree, ≈ close, ≠ disagree), the comparison level and its
    weight.  Values are shown literally and cut with an ellipsis; a long level
    name wraps in its own column.

    Colours come from component classes, so they follow the theme.
    """

    DEFAULT_CSS = """
    ComparisonTable {
        height: auto;
        & > .comparison--header { color: $text-muted; text-style: bold; }
        & > .comparison--label { color: $text-muted; }
        & > .comparison--agree { color: $text-success; text-style: bold; }
        & > .comparison--close { color: $text-warning; text-style: bold; }
        & > .comparison--disagree { color: $text-error; text-style: bold; }
        & > .comparison--for { color: $text-success; }
        & > .comparison--against { color: $text-error; }
    }
    """

    COMPONENT_CLASSES = {
        "comparison--header",
        "comparison--label",
        "comparison--agree",
        "comparison--close",
        "comparison--disagree",
        "comparison--for",
        "comparison--against",
    }

    def __init__(
        self, *, headings: tuple[str, str] = ("A", "B"), id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.headings = headings
        self.fields: tuple[FieldComparison, ...] = ()

    def show(self, fields: Sequence[FieldComparison]) -> None:
        self.fields = tuple(fields)
        self.refresh(layout=True)

    def content_key(self) -> Hashable:
        return (self.headings, self.fields)

    def render(self) -> RenderableType:
        style = self.get_component_rich_style
        table = Table(
            box=None, expand=True, padding=(0, 1), collapse_padding=True, pad_edge=False, show_edge=False,
            header_style=style("comparison--header"),
        )
        table.add_column("field", max_width=16, no_wrap=True, overflow="ellipsis")
        table.add_column(self.headings[0], ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column("", width=1, no_wrap=True)
        table.add_column(self.headings[1], ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column("level", max_width=12, overflow="fold")
        table.add_column("weight", justify="right", no_wrap=True, min_width=6)
        label = style("comparison--label")
        for field in self.fields:
            mark_style = style(f"comparison--{field.agreement}") if field.agreement else Style()
            # Custom attribute names come from the data: literal, and set apart.
            name = literal(field.name)
            name.stylize(label + Style(italic=True) if field.custom else label)
            table.add_row(
                name,
                literal(field.value_a, placeholder="—"),
                Text(MARKS[field.agreement], style=mark_style),
                literal(field.value_b, placeholder="—"),
                Text(_LEVEL_WORDS.get(field.level or "", field.level or ""), style=label),
                self._weight(field.weight),
            )
        return table

    def _weight(self, weight: float | None) -> Text:
        if weight is None:
            return Text("")
        component = "comparison--for" if weight >= 0 else "comparison--against"
        return Text(f"{weight:+.1f}", style=self.get_component_rich_style(component))
