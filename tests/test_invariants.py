"""The invariants of docs/ARCHITECTURE.md under random sequences of
operations: imports (in any order, again, into other sources), approvals,
rejections and undos interleaved, as a hypothesis state machine; and the
order of imports, which must not change the grouping.

The people, files and first invariants come from test_properties.py."""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select

from distil_tui.core import tracking
from distil_tui.core.exports import record_grouping
from distil_tui.core.full import resolve_full
from distil_tui.core.importer import import_file
from distil_tui.core.merges import MergeError, approve, list_candidates, list_merges, reject, undo
from distil_tui.core.profiles import get_profile
from distil_tui.core.resolve.settings import ResolutionSettings
from distil_tui.core.schema import T_CUSTOMER, T_MERGE, T_RETIRED
from distil_tui.core.store import Store

from .test_properties import SOURCES, File, Person, Row, Scenario, World, check_invariants, scenarios


def partition(grouping: dict[tuple[str, str], str]) -> set[frozenset[tuple[str, str]]]:
    """Which records are together, whatever the Tracking IDs."""
    groups = defaultdict(set)
    for key, tid in grouping.items():
        groups[tid].add(key)
    return {frozenset(g) for g in groups.values()}


def check_tracking_ids(store: Store) -> None:
    """Every Tracking ID the store ever gave out still names exactly one
    existing customer: its own, or (retired) the one it was merged into;
    and it gave out none other than its counter's."""
    with store.read() as conn:
        current = [r[0] for r in conn.execute(select(T_CUSTOMER.c.tracking_id))]
        retired = [r[0] for r in conn.execute(select(T_RETIRED.c.tracking_id))]
        in_history = {tid for row in conn.execute(
            select(T_MERGE.c.surviving_tracking_id, T_MERGE.c.retired_tracking_id)) for tid in row}
        issued = int(store.meta_get(conn, tracking.COUNTER_KEY, "0"))
    assert len(current) + len(retired) == len(set(current) | set(retired)), "a Tracking ID held twice"
    assert set(current) | set(retired) == {tracking.tracking_id(n) for n in range(1, issued + 1)}
    assert in_history <= set(current) | set(retired), "a Tracking ID in the history resolves to nothing"
    for tid in set(retired):
        # Through the path every caller takes (CLI show, the app's profile),
        # typed as a person would paste it.
        profile = get_profile(store, f" {tid.lower()} ")
        assert profile is not None and profile.tracking_id in current
        assert profile.resolved_from == tid


# -- the order of imports ----------------------------------------------------

# The grouping made by identifiers and protections: no probability reaches
# these thresholds.  Probabilistic links are left out of the property: the
# model's m and u, and how common a name is, are learnt from what the store
# holds at each import, so a pair near a threshold may fall on either side
# in two orders (found by this property: Alice's newsletter row with another
# email and her date of birth scores 0.984 against her row with the date,
# held for review, when her CRM record came first, and at least 0.99,
# linked, when the newsletter came first).  The order failures that were
# not learnt parameters are pinned by the examples below.
IDENTIFIERS_ONLY = ResolutionSettings(auto_merge_probability=2.0, review_probability=2.0)

ORDER_EXAMPLES = settings(max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@ORDER_EXAMPLES
@given(scenario=scenarios(min_files=2, max_files=4), data=st.data())
def test_the_order_of_imports_does_not_change_the_grouping(tmp_path_factory, scenario, data):
    world = World(tmp_path_factory, scenario)
    other = world.other_store()
    try:
        # Each file a source of its own: two files that give one key
        # different values leave the value of the last, which is order.
        order = data.draw(st.permutations(range(len(scenario.files))), label="other order")
        for store, files in ((world.store, range(len(scenario.files))), (other, order)):
            for i in files:
                f = scenario.files[i]
                import_file(store, world.paths[i], source=f"{f.source}-{i}", id_column=SOURCES[f.source][0],
                            resolution=IDENTIFIERS_ONLY)
        event(f"customers: {min(len(set(record_grouping(other).values())), 4)}")
        assert partition(record_grouping(other)) == partition(record_grouping(world.store))
        check_invariants(other, set().union(*(f.keys(f"{f.source}-{i}") for i, f in enumerate(scenario.files))))
        check_tracking_ids(other)
    finally:
        other.close()
        world.close()


def test_the_order_of_imports_does_not_change_the_grouping_of_one_person_under_two_ids(tmp_path_factory):
    """Found by the property above, before it kept customer ids to their
    people (fixed: an import now settles the customers a record was
    ambiguous between, whatever their size).  crm-2 holds Chidi under C2 and (with Alice's identifiers too)
    under C0: two ids of one source, kept apart.  crm-1's C2, Chidi with
    the same phone, is then ambiguous when crm-2 came first: held apart.
    `resolve --full`, and the imports in the other order, link crm-1's C2
    with crm-2's C0 (taken in (source, key) order, crm-1's C2 comes first
    and crm-2's C0 joins it).  The import settles only customers of more
    than one record (importer._splittable), on the grounds that customers
    of one record each link from scratch as the import linked them: here
    they do not."""
    row = Row(person=0, id_person=0, first="yes", last="yes", email="own", phone="own", dob=False,
              postcode=False, typo_at=0)
    chidi = replace(row, person=2, id_person=2)
    scenario = Scenario((Person(0, 0), Person(1, 0), Person(2, 0)), (
        File("crm", (row,)),
        File("crm", (row, chidi)),
        File("crm", (row, replace(chidi, email="alt"), replace(chidi, id_person=0, email="alt"))),
    ))
    groupings = []
    for order in ([0, 1, 2], [2, 1, 0]):
        world = World(tmp_path_factory, scenario)
        try:
            for i in order:
                f = scenario.files[i]
                import_file(world.store, world.paths[i], source=f"{f.source}-{i}", id_column="contact_id",
                            resolution=IDENTIFIERS_ONLY)
            groupings.append(partition(record_grouping(world.store)))
        finally:
            world.close()
    assert groupings[0] == groupings[1]


def test_the_order_of_imports_does_not_change_the_grouping_with_probabilistic_links(tmp_path_factory):
    """Found by the property above, before it left probabilistic links out.
    crm-1 gives key C0 twice, with Alice's email and phone and then with
    Chidi Lndqvist's (one record: later values win, identifiers
    accumulate), and C2 with Chidi Lndqvist's; crm-2 has C2, Chidi
    Lindqvist with his phone only.  crm-1's C0 and C2 are two customer ids
    of one source, kept apart, so crm-2's C2, whose phone both hold, is
    ambiguous: held apart with an "ambiguous" candidate.  So it is when
    crm-1 comes first, with identifiers only in either order, and after
    `resolve --full`.  With crm-0 (Alice alone) first, the model scored
    crm-2's C2 against crm-1's C0 above the automatic threshold, and the
    probabilistic link overrode the hold (fixed: a probabilistic link of a
    record held ambiguous to one of the customers it was ambiguous between
    is held too, Linker.link_scored)."""
    row = Row(person=0, id_person=0, first="yes", last="yes", email="own", phone="own", dob=False,
              postcode=False, typo_at=0)
    scenario = Scenario((Person(0, 0), Person(1, 0), Person(2, 1)), (
        File("crm", (row,)),
        File("crm", (row, replace(row, person=2, id_person=2, last="typo"), replace(row, person=2, last="typo"))),
        File("crm", (row, replace(row, person=2, id_person=2, email="blocked"))),
    ))
    groupings = []
    for order in ([1, 0, 2], [0, 1, 2]):
        world = World(tmp_path_factory, scenario)
        try:
            for i in order:
                world.load(i, rename=f"-{i}")
            groupings.append(partition(record_grouping(world.store)))
        finally:
            world.close()
    assert groupings[0] == groupings[1]


def test_undoing_a_split_does_not_overrule_a_later_rejection(tmp_path_factory):
    """Found by the state machine below.  A newsletter's line 2 is Dmitri,
    then Alice (a split takes it off Dmitri's customer), then Dmitri again
    and held for review with line 3, which the reviewer rejects; then Alice
    once more.  Undoing the split put line 2 back with line 3, against the
    rejection: now it is refused, naming the rejection, and nothing moves."""
    row = Row(person=3, id_person=3, first="yes", last="typo", email="none", phone="own", dob=False,
              postcode=False, typo_at=0)
    alice = Row(person=0, id_person=0, first="yes", last="yes", email="alt", phone="none", dob=False,
                postcode=True, typo_at=1)
    scenario = Scenario(tuple(Person(i, (0, 1, 0, 0)[i]) for i in range(4)), (
        File("news", (alice,)),
        File("news", (row, row, replace(row, first="typo", last="yes", dob=True, postcode=True, typo_at=7))),
    ))
    world = World(tmp_path_factory, scenario)
    try:
        for i in (1, 0, 1):
            world.load(i)
        (cand,) = list_candidates(world.store)
        assert {cand.a.source_key, cand.b.source_key} == {"2", "3"}
        reject(world.store, cand.candidate_id)
        world.load(0)
        (split,) = [m for m in list_merges(world.store) if m.action == "split"]
        before = record_grouping(world.store)
        with pytest.raises(MergeError, match=f"rejected candidate #{cand.candidate_id}"):
            undo(world.store, split.merge_id)
        assert record_grouping(world.store) == before
        assert before[("news", "2")] != before[("news", "3")]
    finally:
        world.close()


# -- random operations -------------------------------------------------------


class _Folders:
    """Fresh folders, as pytest's tmp_path_factory gives them."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=name, dir=self.root))


class Operations(RuleBasedStateMachine):
    """One store, the files of one scenario, and a reviewer: any sequence of
    imports, approvals, rejections and undos keeps the invariants."""

    @initialize(scenario=scenarios(min_files=2, max_files=4))
    def start(self, scenario) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="distil-ops-"))
        self.world = World(_Folders(self.folder), scenario)
        self.store = self.world.store
        self.keys: set[tuple[str, str]] = set()
        self.rejected: set[frozenset[tuple[str, str]]] = set()
        self.approved: set[frozenset[tuple[str, str]]] = set()
        self.steps: list[str] = []

    def teardown(self) -> None:
        if hasattr(self, "world"):
            self.world.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    # rules -----------------------------------------------------------------

    @rule(pick=st.integers(0, 9), again=st.sampled_from(["", "", "-2"]))
    def load(self, pick: int, again: str) -> None:
        i = pick % len(self.world.scenario.files)
        self.world.load(i, rename=again)
        self.keys |= self.world.scenario.files[i].keys(self.world.scenario.files[i].source + again)
        self._did("import")

    @precondition(lambda self: hasattr(self, "store") and list_candidates(self.store))
    @rule(pick=st.integers(0, 9))
    def approve_one(self, pick: int) -> None:
        cand = self._pick_candidate(pick)
        a, b = (cand.a.source, cand.a.source_key), (cand.b.source, cand.b.source_key)
        approve(self.store, cand.candidate_id)
        grouping = record_grouping(self.store)
        assert grouping[a] == grouping[b]
        self.approved.add(frozenset({a, b}))
        # A person may join what another person kept apart.
        self.rejected = {p for p in self.rejected if len({grouping[k] for k in p}) == 2}
        self._did("approve")

    @precondition(lambda self: hasattr(self, "store") and list_candidates(self.store))
    @rule(pick=st.integers(0, 9))
    def reject_one(self, pick: int) -> None:
        cand = self._pick_candidate(pick)
        pair = frozenset({(cand.a.source, cand.a.source_key), (cand.b.source, cand.b.source_key)})
        before = record_grouping(self.store)
        reject(self.store, cand.candidate_id)
        assert record_grouping(self.store) == before, "a rejection moved records"
        if len({before[k] for k in pair}) == 2:
            self.rejected.add(pair)
        self._did("reject")

    @precondition(lambda self: hasattr(self, "store") and list_candidates(self.store))
    @rule(pick=st.integers(0, 9))
    def approve_then_undo(self, pick: int) -> None:
        """Merge then undo restores the grouping, Tracking IDs included."""
        cand = self._pick_candidate(pick)
        before = record_grouping(self.store)
        merge_id = approve(self.store, cand.candidate_id)
        if merge_id is not None:
            undo(self.store, merge_id)
        assert record_grouping(self.store) == before
        self._did("approve+undo")

    @precondition(lambda self: hasattr(self, "store"))
    @rule()
    def resolve_everything(self) -> None:
        """``resolve --full`` never separates records a reviewer put
        together, nor joins records a reviewer kept apart."""
        before = record_grouping(self.store)
        resolve_full(self.store)
        after = record_grouping(self.store)
        for pair in self.approved:
            if len({before[k] for k in pair}) == 1:
                assert len({after[k] for k in pair}) == 1, f"approved {sorted(pair)} split after {self.steps}"
        self._did("resolve --full")

    @precondition(lambda self: hasattr(self, "store") and self._standing())
    @rule(pick=st.integers(0, 9), newest=st.booleans())
    def undo_one(self, pick: int, newest: bool) -> None:
        standing = self._standing()  # newest first
        m = standing[0] if newest else standing[pick % len(standing)]
        try:
            undo(self.store, m.merge_id)
        except MergeError as e:
            # Only an older one may be refused, or a split whose records a
            # decision since keeps apart: the newest can go otherwise.
            assert m is not standing[0] or "kept apart" in str(e), f"the newest {m.action} #{m.merge_id} refused: {e}"
            self._did("undo refused")
            return
        self._did(f"undo {m.action}")

    # invariants -------------------------------------------------------------

    @invariant()
    def records_and_tracking_ids(self) -> None:
        if not hasattr(self, "store"):
            return
        check_invariants(self.store, self.keys)
        check_tracking_ids(self.store)

    @invariant()
    def rejected_pairs_stay_apart(self) -> None:
        if not hasattr(self, "store"):
            return
        grouping = record_grouping(self.store)
        for pair in self.rejected:
            assert len({grouping[k] for k in pair}) == 2, f"rejected {sorted(pair)} merged after {self.steps}"

    # helpers ------------------------------------------------------------------

    def _did(self, step: str) -> None:
        self.steps.append(step)
        event(f"operation: {step}")  # the mix, in the statistics

    def _pick_candidate(self, pick: int):
        pending = list_candidates(self.store)
        return pending[pick % len(pending)]

    def _standing(self):
        return [m for m in list_merges(self.store) if m.action in ("merge", "split") and not m.undone]


Operations.TestCase.settings = settings(
    max_examples=40, stateful_step_count=10, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much])
test_random_operations_keep_the_invariants = Operations.TestCase
