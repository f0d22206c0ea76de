"""core/review.py: candidates compared field by field, decisions taken back,
the merge history a page at a time."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from distil_tui.core.exports import record_grouping
from distil_tui.core.merges import MergeError, approve, list_candidates, list_merges, reject, undo
from distil_tui.core.review import (
    FieldComparison,
    compare_candidate,
    history_page,
    unapprove,
    unreject,
)
from distil_tui.core.schema import T_NEVER


def never_merges(store) -> list[tuple[int, int, str]]:
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(
            select(T_NEVER.c.record_a_id, T_NEVER.c.record_b_id, T_NEVER.c.reason))]


def pending_ids(store) -> list[int]:
    return [c.candidate_id for c in list_candidates(store)]


def together(store, a: str, b: str) -> bool:
    """Are the customers of these two current Tracking IDs one now?"""
    from distil_tui.core.profiles import get_profile

    return get_profile(store, a).tracking_id == get_profile(store, b).tracking_id


# -- comparing -------------------------------------------------------------------


def test_a_probabilistic_candidate_compares_every_field_with_its_weight(review_store) -> None:
    first = list_candidates(review_store)[0]
    comparison = compare_candidate(review_store, first.candidate_id)
    assert comparison.a.tracking_id == first.a.tracking_id and comparison.b.tracking_id == first.b.tracking_id
    assert (comparison.a.source, comparison.a.source_key) == (first.a.source, first.a.source_key)
    fields = {f.name: f for f in comparison.fields}
    assert list(fields)[:2] == ["first_name", "last_name"]
    assert fields["first_name"].value_a == "Reece" and fields["first_name"].agreement == "agree"
    email = fields["email_address"]
    assert email.level == "else" and email.weight < 0 and email.agreement == "disagree"
    assert fields["address"].value_a == "88 Craigie Street" and fields["address"].weight > 0
    assert "mobile_phone_no" not in fields  # neither has one, and nothing compared it
    assert comparison.probability > 0.99 and comparison.held_on == ()


def test_an_identifier_held_candidate_says_what_linked_it(review_store) -> None:
    smiths = next(c for c in list_candidates(review_store) if c.a.last_name == "Smith")
    comparison = compare_candidate(review_store, smiths.candidate_id)
    assert comparison.probability is None
    assert comparison.held_on == (("email_address", "smiths@x.org"),)
    assert ("email_address", "smiths@x.org") in comparison.shared_identifiers
    fields = {f.name: f for f in comparison.fields}
    # No evidence per field: agreement is read from the values themselves.
    assert fields["first_name"].agreement == "disagree" and fields["first_name"].weight is None
    assert fields["last_name"].agreement == "agree"
    assert compare_candidate(review_store, 9999) is None


def test_a_merge_s_evidence_as_compared_fields(review_store) -> None:
    from distil_tui.core.review import compared_fields

    merge_id = approve(review_store, list_candidates(review_store)[0].candidate_id)
    (merge,) = [m for m in list_merges(review_store) if m.merge_id == merge_id]
    fields = compared_fields(merge.evidence)
    assert [f.name for f in fields][:3] == ["first_name", "last_name", "date_of_birth"]
    assert fields[0].value_a == "reece" and fields[0].level == "exact" and fields[0].weight > 0
    assert compared_fields((("email_address", "smiths@x.org"),)) == ()


def test_agreement_marks() -> None:
    assert FieldComparison("town", "York", "york").agreement == "agree"
    assert FieldComparison("town", "York", None).agreement == ""
    assert FieldComparison("first_name", "Jon", "John", level="close", weight=3.0).agreement == "close"
    assert FieldComparison("first_name", "Jon", "Jon", level="else", weight=-3.0).agreement == "disagree"


# -- taking decisions back -------------------------------------------------------


def test_unreject_puts_the_candidate_back_and_drops_its_never_merge(review_store) -> None:
    before = never_merges(review_store)
    first = pending_ids(review_store)[0]
    reject(review_store, first)
    assert first not in pending_ids(review_store)
    assert len(never_merges(review_store)) == len(before) + 1

    unreject(review_store, first)
    assert pending_ids(review_store)[0] == first
    assert never_merges(review_store) == before
    with pytest.raises(MergeError, match="is pending, not rejected"):
        unreject(review_store, first)


def test_unreject_leaves_a_never_merge_written_for_another_reason(review_store) -> None:
    cand = list_candidates(review_store)[0]
    merge_id = approve(review_store, cand.candidate_id)
    undo(review_store, merge_id)  # writes its own never-merge between the two
    kept = never_merges(review_store)
    # Reviewed again and rejected: the pair already has a never-merge.
    with review_store.write() as conn:
        from distil_tui.core.schema import T_CANDIDATE

        conn.execute(T_CANDIDATE.update().where(T_CANDIDATE.c.id == cand.candidate_id).values(status="pending"))
    reject(review_store, cand.candidate_id)
    unreject(review_store, cand.candidate_id)
    assert never_merges(review_store) == kept


def test_unapprove_separates_and_the_candidate_waits_again(review_store) -> None:
    cand = list_candidates(review_store)[0]
    before = record_grouping(review_store)
    merge_id = approve(review_store, cand.candidate_id)
    assert together(review_store, cand.a.tracking_id, cand.b.tracking_id)

    unapprove(review_store, cand.candidate_id, merge_id)
    assert record_grouping(review_store) == before
    assert pending_ids(review_store)[0] == cand.candidate_id
    assert never_merges(review_store) == []  # the undo's never-merge is gone too
    assert list_merges(review_store)[0].action == "undo"  # the history keeps it
    with pytest.raises(MergeError, match="is pending, not approved"):
        unapprove(review_store, cand.candidate_id, None)


def test_unapprove_is_refused_while_a_later_merge_stands(review_store) -> None:
    # The Patels' mailbox row joins Ravi, then Priya joins them both.
    patels = {c.reason: c.candidate_id for c in list_candidates(review_store) if c.a.last_name == "Patel"}
    first = patels["ambiguous"]
    merge_id = approve(review_store, first)
    approve(review_store, patels["conflicting_names"])
    with pytest.raises(MergeError, match="later changes"):
        unapprove(review_store, first, merge_id)
    assert first not in pending_ids(review_store)  # nothing changed


# -- the history -----------------------------------------------------------------


def test_history_pages_newest_first(review_store) -> None:
    page = history_page(review_store)
    ids = [e.merge.merge_id for e in page.entries]
    assert ids == sorted(ids, reverse=True) and page.total == len(ids) == 2
    assert [e.merge.action for e in page.entries] == ["split", "merge"]
    assert page.entries[0].import_source == "shop" and page.entries[0].import_file.endswith("shop-late.csv")
    assert not page.newer and not page.older

    first = history_page(review_store, limit=1)
    assert [e.merge.merge_id for e in first.entries] == ids[:1] and first.older and not first.newer
    second = history_page(review_store, before=ids[0], limit=1)
    assert [e.merge.merge_id for e in second.entries] == ids[1:] and second.newer and not second.older
    back = history_page(review_store, after=ids[1], limit=1)
    assert back.entries == first.entries


def test_history_filters_by_every_word(review_store) -> None:
    split = history_page(review_store, "split").entries
    assert [e.merge.action for e in split] == ["split"]
    assert history_page(review_store, "PATELS@x.org ambiguous").entries == split  # evidence, case folded
    assert [e.merge.action for e in history_page(review_store, "crm.csv").entries] == ["merge"]
    merge_id = history_page(review_store, "crm").entries[0].merge.merge_id
    assert [e.merge.merge_id for e in history_page(review_store, f"#{merge_id}").entries] == [merge_id]
    assert history_page(review_store, "100%_").total == 0  # LIKE wildcards are text


def test_an_undo_shows_which_way_the_records_went_back(review_store) -> None:
    split = history_page(review_store, "split").entries[0]
    assert split.can_undo and split.moved == split.merge.moved
    undo(review_store, split.merge.merge_id)
    newest, *_ = history_page(review_store).entries
    assert newest.merge.action == "undo" and newest.undid == split.merge.merge_id
    assert newest.moved == (split.moved[1], split.moved[0]) and not newest.can_undo
    undone = history_page(review_store, f"#{split.merge.merge_id}").entries[0]
    assert undone.undone_by == newest.merge.merge_id and not undone.can_undo
