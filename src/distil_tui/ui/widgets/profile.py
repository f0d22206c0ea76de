"""The Customer Profile pane.

Sections follow Distil's profile: core data, attributes, identifiers (each
with the record it came from), source records, recent events, merges, retired
Tracking IDs, and the Tracking ID itself at the bottom, always in view.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from distil_tui.core.models import CustomerProfile, EventView, MergeView
from distil_tui.ui.text import join, literal, moment
from distil_tui.ui.widgets.drawn import RichBody

_NO_PROFILE_TITLE = "Customer profile"


def _grid(*ratios: int | None, key_width: int | None = None, label: bool = True) -> Table:
    """A borderless table: the first column a dim label (when ``label``), the
    rest values.  ``ratios[i]`` shares the leftover width; ``None`` sizes to
    content."""
    table = Table.grid(padding=(0, 2), expand=True)
    for index, ratio in enumerate(ratios):
        table.add_column(
            style="dim" if label and index == 0 else "",
            ratio=ratio,
            max_width=key_width if index == 0 else None,
            no_wrap=True,
            overflow="ellipsis",
        )
    return table


def _label(name: str) -> Text:
    return literal(name, style="dim")


class ProfileSection(Widget):
    """A heading and a body; an empty section is one line: "Merges  none"."""

    DEFAULT_CSS = """
    ProfileSection {
        height: auto;
        margin-bottom: 1;
        & > .section--heading {
            color: $text-accent;
            text-style: bold;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        & > .section--body {
            padding-left: 1;
        }
    }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title

    def compose(self) -> ComposeResult:
        yield Static(Text(self.title), classes="section--heading")
        yield RichBody(classes="section--body")

    def show(self, body: RenderableType | None, *, note: str = "") -> None:
        """Show ``body`` under the heading, or just the heading and ``note``
        (e.g. "none") when there is nothing to show."""
        heading = Text(self.title)
        if note:
            heading.append(f"  {note}", style="dim not bold")
        self.query_one(".section--heading", Static).update(heading)
        body_widget = self.query_one(".section--body", RichBody)
        body_widget.display = body is not None
        if body is not None:
            body_widget.update(body)


class ProfileView(Vertical):
    """Shows one :class:`CustomerProfile`, or a message when there is none.

    The scrolling body takes focus so that a person can read a long profile
    with the arrow, page, home and end keys; the Tracking ID stays docked at
    the bottom, always in view.
    """

    DEFAULT_CSS = """
    ProfileView {
        border: round $foreground 20%;
        border-title-color: $text;
        border-title-style: bold;
        &:focus-within {
            border: round $border;
        }
        & > #profile-body {
            padding: 0 1;
            scrollbar-size-vertical: 1;
            &:focus {
                background-tint: $foreground 5%;
            }
        }
        & > #profile-message {
            padding: 0 1;
            color: $text-muted;
            display: none;
        }
        & > #profile-tracking-id {
            dock: bottom;
            height: 1;
            padding: 0 1;
            background: $boost;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        &.-message {
            & > #profile-message { display: block; }
            & > #profile-body, & > #profile-tracking-id { display: none; }
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.profile: CustomerProfile | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="profile-body"):
            yield ProfileSection("Core data", id="section-core")
            yield ProfileSection("Attributes", id="section-attributes")
            yield ProfileSection("Identifiers", id="section-identifiers")
            yield ProfileSection("Sources", id="section-sources")
            yield ProfileSection("Event timeline", id="section-events")
            yield ProfileSection("Merges", id="section-merges")
            yield ProfileSection("Retired Tracking IDs", id="section-retired")
        yield Static(id="profile-message")
        yield Static(id="profile-tracking-id")

    def on_mount(self) -> None:
        self.border_title = _NO_PROFILE_TITLE
        self.show_message(Text(""))

    @property
    def body(self) -> VerticalScroll:
        return self.query_one("#profile-body", VerticalScroll)

    def show_message(self, message: Text) -> None:
        """Replace the profile with a message ("No customer matches ...")."""
        self.profile = None
        self.border_title = _NO_PROFILE_TITLE
        self.query_one("#profile-message", Static).update(message)
        self.add_class("-message")

    def show_profile(self, profile: CustomerProfile) -> None:
        same_customer = self.profile is not None and self.profile.tracking_id == profile.tracking_id
        self.profile = profile
        self.border_title = literal(profile.display_name)
        self.remove_class("-message")

        self._section("core").show(_core_data(profile))
        attributes = _attributes(profile)
        self._section("attributes").show(attributes, note="" if attributes else "none")
        self._show_rows("identifiers", _identifiers(profile), len(profile.identifiers))
        self._show_rows("sources", _sources(profile), len(profile.sources))
        events_note = ""
        if profile.event_count > len(profile.recent_events):
            first = profile.events_offset + 1
            last = profile.events_offset + len(profile.recent_events)
            keys = [k for k, show in (("] older", last < profile.event_count), ("[ newer", first > 1)) if show]
            events_note = f"{first}–{last} of {profile.event_count}" + (f" · {', '.join(keys)}" if keys else "")
        self._show_rows("events", _events(profile.recent_events), len(profile.recent_events), events_note)
        self._show_rows("merges", _merges(profile.merges), len(profile.merges))
        retired = profile.retired_tracking_ids
        self._show_rows("retired", _retired(retired), len(retired))

        self.query_one("#profile-tracking-id", Static).update(
            join(Text("Tracking ID", style="bold"), literal(profile.tracking_id, style="bold"), separator="  ")
        )
        if not same_customer:
            self.body.scroll_home(animate=False)

    def _section(self, name: str) -> ProfileSection:
        return self.query_one(f"#section-{name}", ProfileSection)

    def _show_rows(self, name: str, body: Table, count: int, note: str = "") -> None:
        self._section(name).show(body if count else None, note=note if count else "none")


def _core_data(profile: CustomerProfile) -> Table:
    table = _grid(None, 1)
    table.add_row(_label("first seen"), moment(profile.first_seen, placeholder="unknown"))
    table.add_row(_label("last seen"), moment(profile.last_seen, placeholder="unknown"))
    if profile.resolved_from:
        table.add_row(
            _label("resolved from"),
            join(literal(profile.resolved_from), Text("(retired)", style="dim")),
        )
    return table


def _attributes(profile: CustomerProfile) -> Table | None:
    if not profile.attributes and not profile.custom_attributes:
        return None
    table = _grid(None, 1, key_width=24)
    for name, value in profile.attributes:
        table.add_row(_label(name), literal(value))
    for name, value in profile.custom_attributes:
        # Custom attribute names come from the data: literal, and set apart.
        table.add_row(literal(name, style="dim italic"), literal(value))
    return table


def _identifiers(profile: CustomerProfile) -> Table:
    table = _grid(None, 1, 1, key_width=18)
    for identifier in profile.identifiers:
        table.add_row(
            _label(identifier.kind),
            literal(identifier.value),
            join(Text("from", style="dim"), literal(identifier.source), literal(identifier.source_key)),
        )
    return table


def _sources(profile: CustomerProfile) -> Table:
    table = _grid(None, 2, None, 3, key_width=14)
    for record in profile.sources:
        # The file name is what tells records apart; the folder only takes room.
        location = f"{PurePath(record.file).name}:{record.line}" if record.file else f"line {record.line}"
        table.add_row(
            literal(record.source, style="dim"),
            literal(record.source_key),
            literal(record.kind, style="dim"),
            literal(location),
        )
        if record.joined_by:
            # Why this record is part of the customer, in the widest column.
            table.add_row(Text(""), Text(""), Text("joined by", style="dim"), literal(record.joined_by))
    return table


def _events(events: Iterable[EventView]) -> Table:
    table = _grid(None, None, None, 1, key_width=16)
    for ev in events:
        properties = join(
            *(join(literal(key), literal(value), separator="=") for key, value in ev.properties),
            separator=", ",
        )
        table.add_row(
            moment(ev.occurred_at), literal(ev.event_type), literal(ev.source, style="dim"), properties
        )
    return table


def _merges(merges: Iterable[MergeView]) -> Table:
    table = _grid(None, 1, key_width=16)
    for merge in merges:
        if merge.action == "undo":
            undid = "split" if merge.undid_split else "merge"
            what = join(Text(f"undid the {undid} of"), literal(merge.retired_tracking_id))
        else:
            verb, to = ("records moved from", "to") if merge.action == "split" else ("merged", "into")
            what = join(
                Text(verb),
                literal(merge.moved[0]),
                Text(to),
                literal(merge.moved[1]),
                Text("(undone)", style="dim") if merge.undone else "",
            )
        table.add_row(moment(merge.created_at), what)
        why = join(
            Text("why", style="dim"), literal(merge.why), Text("· by", style="dim"), literal(merge.decided_by)
        )
        table.add_row(Text(""), why)
    return table


def _retired(tracking_ids: Iterable[str]) -> Table:
    table = _grid(1, label=False)
    for tracking_id in tracking_ids:
        table.add_row(literal(tracking_id))
    return table
