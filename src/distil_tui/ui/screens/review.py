"""Review: the pending merge candidates, one at a time, most likely first.

The two customers of a candidate are shown side by side, field by field, with
what the model made of each field; a reviewer approves (one customer), rejects
(never the same), moves on, or takes the last decision back.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState, get_current_worker

from distil_tui.core.merges import MergeError, approve, pending_queue, reject
from distil_tui.core.review import CandidateComparison, ReviewSide, compare_candidate, unapprove, unreject
from distil_tui.core.store import Store
from distil_tui.ui.text import join, literal, probability_text
from distil_tui.ui.widgets import ComparisonTable
from distil_tui.ui.widgets.footer import Footer

# Why a link was held, in a reviewer's words.
REASONS = {
    "probability_band": "likely, but not enough to merge automatically",
    "both_identified": "both hold emails or phones, none in common",
    "conflicting_names": "first names that cannot be one person's",
    "ambiguous": "the record could belong to either of two customers",
    "never_merge": "a reviewer kept these two apart before",
    "identifier_limit": "too many identifiers of one kind",
    "generic_value": "a value held by several customers kept apart",
    "cluster_size": "the customer would grow too large automatically",
}


@dataclass(frozen=True)
class Decision:
    """A decision this screen made, kept so that ``z`` can take it back."""

    kind: str  # "approve" or "reject"
    candidate_id: int
    merge_id: int | None = None  # what approve merged, if anything


class ReviewScreen(Screen[None]):
    """One pending merge candidate at a time.

    The queue, the comparison and every decision are core calls in thread
    workers that post a message; the handlers below change the widgets.
    """

    AUTO_FOCUS = "#review-body"

    BINDINGS = [
        Binding("a", "approve", "Approve", id="review.approve",
                tooltip="These two are one person: merge them into one customer"),
        Binding("x", "reject", "Reject", id="review.reject",
                tooltip="Not the same person: keep these two apart for good"),
        Binding("n", "move(1)", "Next", id="review.next", tooltip="The next candidate in the queue"),
        Binding("p", "move(-1)", "Previous", id="review.previous", tooltip="The previous candidate in the queue"),
        Binding("z", "take_back", "Undo", id="review.undo",
                tooltip="Take back the last approve or reject: the candidate waits for review again"),
        Binding("escape", "back", "Back", id="review.back", tooltip="Back to the customers"),
    ]

    class QueueLoaded(Message):
        """The pending queue; ``focus`` is the candidate to show, if still there."""

        def __init__(self, queue: tuple[int, ...], focus: tuple[int, ...] = ()) -> None:
            super().__init__()
            self.queue = queue
            self.focus = focus

    class ComparisonLoaded(Message):
        def __init__(self, candidate_id: int, comparison: CandidateComparison | None) -> None:
            super().__init__()
            self.candidate_id = candidate_id
            self.comparison = comparison

    class Decided(Message):
        """A decision (or the taking back of one) landed, or failed with ``error``."""

        def __init__(
            self, decision: Decision, *, undoing: bool, error: str | None,
            queue: tuple[int, ...], focus: tuple[int, ...],
        ) -> None:
            super().__init__()
            self.decision = decision
            self.undoing = undoing
            self.error = error
            self.queue = queue
            self.focus = focus

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self._queue: tuple[int, ...] = ()  # candidate ids, in queue order
        self._index = 0
        self._loaded = False
        self._busy = False  # a decision is on its way: keys wait for it
        self._shown: int | None = None  # the candidate whose comparison is on show
        self._decisions: list[Decision] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="review"):
            yield Static(id="review-summary")
            with VerticalScroll(id="review-body"):
                yield ComparisonTable(id="review-fields")
            yield Static("Loading the merge candidates…", id="review-message")
            yield Static(id="review-status")
        yield Footer()

    def on_mount(self) -> None:
        pane = self.query_one("#review")
        pane.border_title = "Review merge candidates"
        self._show_state()
        self.load_queue()

    # -- what is on show --------------------------------------------------------

    @property
    def current_id(self) -> int | None:
        """The candidate on show (or on its way)."""
        return self._queue[self._index] if self._queue else None

    def _show_state(self) -> None:
        """Queue position in the frame; the message or the comparison."""
        pane = self.query_one("#review")
        count = len(self._queue)
        if not self._loaded:
            pane.border_subtitle = ""
        elif count:
            pane.border_subtitle = f"{self._index + 1} of {count} to review"
        else:
            pane.border_subtitle = "none to review"
        pane.set_class(not count, "-empty")
        if self._loaded and not count:
            self.query_one("#review-message", Static).update(Text(
                "No merge candidates are waiting for review.\n"
                "Imports hold a link here when a protection or a middling probability\n"
                "keeps them from merging two customers on their own."
            ))
        self.refresh_bindings()

    @on(QueueLoaded)
    def _queue_loaded(self, message: QueueLoaded) -> None:
        self._set_queue(message.queue, message.focus)

    def _set_queue(self, queue: tuple[int, ...], focus: tuple[int, ...]) -> None:
        self._queue = queue
        self._loaded = True
        position = {cid: i for i, cid in enumerate(queue)}
        self._index = next((position[cid] for cid in focus if cid in position),
                           min(self._index, max(len(queue) - 1, 0)))
        self._show_state()
        self._show_current()

    def _show_current(self) -> None:
        candidate_id = self.current_id
        self._shown = None  # until its comparison lands
        if candidate_id is None:
            return
        self.fetch_comparison(candidate_id)

    @on(ComparisonLoaded)
    def _comparison_loaded(self, message: ComparisonLoaded) -> None:
        if message.candidate_id != self.current_id:
            return  # moved on since
        comparison = message.comparison
        self._shown = message.candidate_id if comparison is not None else None
        self.refresh_bindings()
        if comparison is None:
            self.query_one("#review-summary", Static).update(
                Text(f"Merge candidate #{message.candidate_id} is no longer in the store.")
            )
            self.query_one(ComparisonTable).show(())
            return
        self.query_one("#review-summary", Static).update(_summary(comparison))
        self.query_one(ComparisonTable).show(comparison.fields)
        self.query_one("#review-body").scroll_home(animate=False)

    # -- keys -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Greyed out rather than hidden, so the footer does not jump about.
        if action in ("approve", "reject"):
            return True if self._decidable() else None
        if action == "move":
            target = self._index + int(parameters[0])
            return True if self._queue and 0 <= target < len(self._queue) else None
        if action == "take_back":
            return None if self._busy or not self._decisions else True
        return True

    def _decidable(self) -> bool:
        """Only what the reviewer has seen can be decided: not while the next
        comparison is still loading, nor while a decision is on its way."""
        return not self._busy and self.current_id is not None and self.current_id == self._shown

    def action_move(self, step: int) -> None:
        target = self._index + step
        if self._queue and 0 <= target < len(self._queue):
            self._index = target
            self._show_state()
            self._show_current()

    def action_approve(self) -> None:
        self._decide("approve")

    def action_reject(self) -> None:
        self._decide("reject")

    def _decide(self, kind: str) -> None:
        candidate_id = self.current_id
        if candidate_id is None or not self._decidable():
            return
        ids = list(self._queue)
        # Then show the next candidate, or the one before if this was the last.
        focus = tuple(ids[self._index + 1:]) + tuple(reversed(ids[:self._index]))
        self._start(Decision(kind, candidate_id), undoing=False, focus=focus)

    def action_take_back(self) -> None:
        if self._busy or not self._decisions:
            return
        decision = self._decisions[-1]
        # The candidate waits again: show it.
        self._start(decision, undoing=True, focus=(decision.candidate_id,))

    def action_back(self) -> None:
        self.dismiss()

    # -- decisions --------------------------------------------------------------

    def _start(self, decision: Decision, *, undoing: bool, focus: tuple[int, ...]) -> None:
        self._busy = True
        self.refresh_bindings()
        self.run_decision(decision, undoing, focus)

    @work(thread=True, exit_on_error=False, group="decide", description="review decision")
    def run_decision(self, decision: Decision, undoing: bool, focus: tuple[int, ...]) -> None:
        error = None
        try:
            if undoing and decision.kind == "approve":
                unapprove(self.store, decision.candidate_id, decision.merge_id)
            elif undoing:
                unreject(self.store, decision.candidate_id)
            elif decision.kind == "approve":
                decision = Decision("approve", decision.candidate_id, approve(self.store, decision.candidate_id))
            else:
                reject(self.store, decision.candidate_id)
        except MergeError as exc:
            error = str(exc)
        queue = tuple(pending_queue(self.store))
        self.post_message(self.Decided(decision, undoing=undoing, error=error, queue=queue, focus=focus))

    @on(Decided)
    def _decided(self, message: Decided) -> None:
        self._busy = False
        decision = message.decision
        number = f"#{decision.candidate_id}"
        if message.error is not None:
            # A refusal needs reading: a toast, and the status line keeps it.
            self.notify(message.error, title="Not done", severity="error", markup=False, timeout=10)
            status = join(Text("Not done:", style="bold"), literal(message.error))
        elif message.undoing:
            self._decisions.pop()
            taken_back = "approval" if decision.kind == "approve" else "rejection"
            status = Text(f"Took back the {taken_back} of {number}: it waits for review again.")
        else:
            self._decisions.append(decision)
            if decision.kind == "approve":
                status = Text(f"Approved {number}: " + (
                    f"one customer now (merge #{decision.merge_id})." if decision.merge_id is not None
                    else "they were one customer already."
                ))
            else:
                status = Text(f"Rejected {number}: they will never be merged automatically.")
        if self._decisions and message.error is None:
            last = self._decisions[-1]
            what = "approval" if last.kind == "approve" else "rejection"
            status.append(f"  z takes back the {what} of #{last.candidate_id}", style="dim")
        self.query_one("#review-status", Static).update(status)
        self._set_queue(message.queue, message.focus)

    # -- loading ----------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue", description="merge candidates")
    def load_queue(self, focus: tuple[int, ...] = ()) -> None:
        queue = tuple(pending_queue(self.store))
        if not get_current_worker().is_cancelled:
            self.post_message(self.QueueLoaded(queue, focus))

    @work(thread=True, exclusive=True, exit_on_error=False, group="comparison", description="comparison")
    def fetch_comparison(self, candidate_id: int) -> None:
        comparison = compare_candidate(self.store, candidate_id)
        if not get_current_worker().is_cancelled:
            self.post_message(self.ComparisonLoaded(candidate_id, comparison))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        if event.worker.group == "decide":
            self._busy = False
            self.refresh_bindings()
        what = {"queue": "Loading the merge candidates", "comparison": "Loading the candidate",
                "decide": "The decision"}.get(event.worker.group or "", "Review")
        self.notify(f"{what} failed: {event.worker.error}", severity="error", markup=False, timeout=8)


def _summary(comparison: CandidateComparison) -> Text:
    """Why the link was held, on what, and the two customers."""
    reason = comparison.reason.replace("_", " ")
    explained = REASONS.get(comparison.reason)
    if comparison.probability is not None:
        evidence = Text(probability_text(comparison.probability).capitalize())
    else:
        evidence = join(Text("Linked by"), *(
            join(literal(kind, style="dim"), literal(value)) for kind, value in comparison.held_on
        ))
    lines = [
        join(Text("Held:", style="dim"), Text(reason, style="bold"),
             Text(f"({explained})", style="dim") if explained else ""),
        join(
            evidence,
            Text(f"· candidate #{comparison.candidate_id}", style="dim"),
            Text(f"from import #{comparison.import_run_id}", style="dim") if comparison.import_run_id else "",
        ),
        _side_line("A", comparison.a),
        _side_line("B", comparison.b),
    ]
    if comparison.shared_identifiers and set(comparison.shared_identifiers) != set(comparison.held_on):
        lines.append(join(Text("Both hold", style="dim"), *(
            join(literal(kind, style="dim"), literal(value), separator=" ")
            for kind, value in comparison.shared_identifiers
        ), separator=" "))
    if comparison.same_customer:
        lines.append(Text("These two records are one customer already: approving merges nothing.", style="bold"))
    elif comparison.status != "pending":
        lines.append(Text(f"This candidate is {comparison.status} already.", style="bold"))
    return Text("\n", no_wrap=True, overflow="ellipsis", end="").join(lines)


def _side_line(label: str, side: ReviewSide) -> Text:
    """The customer's Tracking ID and the record the candidate is about."""
    line = join(
        Text(label, style="bold"),
        literal(side.tracking_id, style="bold"),
        join(literal(side.source, style="dim"), literal(side.source_key)),
        separator=" ",
    )
    if side.record_count > 1:
        line.append(f" · 1 of {side.record_count} records from ", style="dim")
        line.append_text(literal(", ".join(side.sources), style="dim"))
    return line
