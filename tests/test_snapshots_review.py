"""Screenshots of the review and history screens, compared with accepted SVGs
in ``tests/__snapshots__/``.  After a deliberate change, regenerate with
``pytest tests/test_snapshots_review.py --snapshot-update`` and look at them.

The store is seeded from fixed files with a frozen clock (see conftest)."""

from __future__ import annotations

from distil_tui.core.merges import approve, list_candidates
from tests.test_snapshots import typing


def test_review_comparison_small_terminal(snap_compare, make_review_app) -> None:
    """At 80x24: a look-alike pair with markup in a name, long values cut,
    agreeing, close and disagreeing fields marked, weights and probability."""
    assert snap_compare(make_review_app(), terminal_size=(80, 24), run_before=typing("tab", "r", "n", "n", "n"))


def test_review_comparison(snap_compare, make_review_app) -> None:
    """At 100x30: the second candidate (close first names and addresses)."""
    assert snap_compare(make_review_app(), terminal_size=(100, 30), run_before=typing("tab", "r", "n"))


def test_review_after_approving(snap_compare, make_review_app) -> None:
    """At 80x24: an identifier-held pair after the first was approved: the
    status line says what happened and how to take it back."""
    assert snap_compare(make_review_app(), terminal_size=(80, 24), run_before=typing("tab", "r", "n", "n", "n", "a"))


def test_history_with_detail(snap_compare, make_review_app, review_store) -> None:
    """At 100x30: a reviewer's merge on top of a split and an automatic
    merge; its detail with the evidence field by field."""
    approve(review_store, list_candidates(review_store)[0].candidate_id)
    assert snap_compare(make_review_app(), terminal_size=(100, 30), run_before=typing("tab", "h"))


def test_history_small_terminal(snap_compare, make_review_app) -> None:
    """At 80x24: the split's detail: which way the records went, and why."""
    assert snap_compare(make_review_app(), terminal_size=(80, 24), run_before=typing("tab", "h"))


def test_undo_confirmation(snap_compare, make_review_app) -> None:
    """At 80x24: u on the automatic merge asks first."""
    assert snap_compare(make_review_app(), terminal_size=(80, 24), run_before=typing("tab", "h", "down", "u"))
