"""Deterministic linking with protections: a union-find over the nodes of one
import (its new records and the existing customers they touch).

Pure Python, no store: the importer loads what the nodes already hold, hands
over the links, and applies the outcome.  Every union is checked against the
protections first; a union a protection stops is kept as a *held link* and
becomes a merge candidate for review.

Links are processed identifier kind by kind, strongest first (a source's own
customer id, then email, phone, anonymous id), and within a kind in sorted
value order, so that the outcome does not depend on the order of rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from distil_tui.core.resolve.names import NameKey, any_compatible

# Strongest first: the order in which identifier groups are linked.
KIND_ORDER: tuple[str, ...] = ("customer_id", "email_address", "mobile_phone_no", "anonymous_user_id")
_STRENGTH = {kind: i for i, kind in enumerate(KIND_ORDER)}
MAX_TRIES_PER_NODE = 8
MAX_HELD_PER_VALUE = 10


@dataclass(frozen=True)
class Protections:
    """Configurable protections; all on by default."""

    max_customer_ids_per_source: int = 1
    max_emails: int = 5
    max_phones: int = 5
    # A value held by this many customers that the protections keep apart
    # is generic (a shared mailbox, a shop's own phone): it stops linking.
    generic_after: int = 3
    name_conflicts: bool = True


@dataclass
class NodeFacts:
    """What a node (a new record, or an existing customer) holds."""

    identifiers: set[tuple[str, str]] = field(default_factory=set)
    names: set[NameKey] = field(default_factory=set)  # (first, last) name keys
    never_merge: set[Hashable] = field(default_factory=set)  # other nodes
    size: int = 1  # source records
    # Anonymous id -> when the node's records first identified on that
    # browser: who was first on a shared browser, whatever the import order.
    identified_at: dict[str, str] = field(default_factory=dict)


def identified_at(records: Iterable[tuple[str, str | None, Iterable[tuple[str, str]]]]) -> dict[str, str]:
    """Anonymous id -> the earliest time one of these records (kind, first
    seen, identifiers) identified on it: identify records only."""
    out: dict[str, str] = {}
    for kind, seen, identifiers in records:
        if kind != "identify" or not seen:
            continue
        for ident_kind, value in identifiers:
            if ident_kind == "anonymous_user_id" and (value not in out or seen < out[value]):
                out[value] = seen
    return out


@dataclass
class _Cluster:
    identifiers: set[tuple[str, str]]
    names: set[NameKey]
    never_merge: set[Hashable]
    members: list[Hashable]
    size: int
    identified_at: dict[str, str]
    # Nodes of the clusters this one was held ambiguous between: a
    # probabilistic link to one of them is held too, unless it matches that
    # one better than the others (see link_scored).
    ambiguous_with: set[Hashable] = field(default_factory=set)


@dataclass(frozen=True)
class Union:
    """Two clusters joined by ``kind``/``value``: ``left`` and ``right`` are
    the roots' first members at the time."""

    left: Hashable
    right: Hashable
    kind: str
    value: str
    probability: float | None = None
    evidence: dict | None = None  # per-field evidence of a probabilistic link

    def why(self) -> dict:
        """Why a record joined through this union, as its ``link`` keeps it."""
        return {"rule": self.kind, "probability": self.probability,
                "evidence": self.evidence or {self.kind: self.value}}


@dataclass(frozen=True)
class HeldLink:
    left: Hashable
    right: Hashable
    kind: str
    value: str
    # "both_identified" (two accounts of one source), "identifier_limit" (too
    # many emails or phones), "conflicting_names", "never_merge",
    # "ambiguous" (two customers kept apart would both take it), "generic_value",
    # "probability_band" (a likely match, not likely enough), "cluster_size"
    reason: str
    probability: float | None = None
    evidence: dict | None = None


class Linker:
    def __init__(self, protections: Protections | None = None) -> None:
        self.protections = protections or Protections()
        self._parent: dict[Hashable, Hashable] = {}
        self._clusters: dict[Hashable, _Cluster] = {}
        self.unions: list[Union] = []
        self.held: list[HeldLink] = []
        # Node -> the union that first brought it (as the first member of the
        # absorbed cluster) into another cluster: why a record joined.
        self.joined_by: dict[Hashable, Union] = {}

    def add(self, node: Hashable, facts: NodeFacts) -> None:
        self._parent[node] = node
        self._clusters[node] = _Cluster(
            set(facts.identifiers), set(facts.names), set(facts.never_merge), [node], facts.size,
            dict(facts.identified_at),
        )

    def extend(self, node: Hashable, identifiers: set[tuple[str, str]], names: set[NameKey]) -> None:
        """Add facts to a node already added (an existing customer whose
        record arrives again with more)."""
        cluster = self._clusters[self.find(node)]
        cluster.identifiers |= identifiers
        cluster.names |= names

    def __contains__(self, node: Hashable) -> bool:
        return node in self._parent

    def find(self, node: Hashable) -> Hashable:
        parent = self._parent
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    def members(self, node: Hashable) -> list[Hashable]:
        return self._clusters[self.find(node)].members

    def link_groups(self, groups: dict[tuple[str, str], Sequence[Hashable]]) -> None:
        """``groups`` maps each identifier (kind, value) to the nodes holding
        it, in a deterministic order (existing customers first, oldest
        first, then new records in file order)."""
        ordered = sorted(groups, key=lambda kv: (_STRENGTH.get(kv[0], 99), kv[1]))
        for kind, value in ordered:
            nodes = groups[(kind, value)]
            if len(nodes) > 1:
                self._link_group(kind, value, nodes)

    def _link_group(self, kind: str, value: str, nodes: Sequence[Hashable]) -> None:
        # Each node joins the one earlier cluster the protections allow.  A
        # node that two clusters kept apart would both accept (a nameless
        # newsletter row with a household's shared email) is ambiguous: it
        # is held rather than given to whichever came first.  Only the first
        # few clusters are tried: a value that many people share is generic.
        # Existing customers go first; then the clusters the protections keep
        # apart from others of the group (two shop accounts of a household),
        # so that a record either would accept (their CRM contact) meets both
        # and is held, rather than joining one first and barring the other;
        # then the records that carry the most identifiers, so that bare
        # records meet the clusters they might belong to whatever the order
        # of the file.
        apart = self._kept_apart(kind, nodes)

        def precedence(node: Hashable) -> tuple:
            root = self.find(node)
            cluster = self._clusters[root]
            return (cluster.members[0][0] != "c", -apart.get(root, 0), -len(cluster.identifiers), node)

        holders = list(nodes)
        nodes = sorted(nodes, key=precedence)
        # After the first, those holding one of its names exactly go before
        # those whose names are only compatible with it (a nickname, an
        # initial): of a household's Kit and Kate, Kate meets the Kate who
        # holds the household's mailbox first.
        first_names = self._clusters[self.find(nodes[0])].names
        nodes[1:] = sorted(nodes[1:], key=lambda n: not (self._clusters[self.find(n)].names & first_names))
        clusters: list[Hashable] = [nodes[0]]
        people = 1  # clusters the protections keep apart: distinct people
        held_here: list[HeldLink] = []
        for node in nodes[1:]:
            root = self.find(node)
            roots = list(dict.fromkeys(self.find(c) for c in clusters))[:MAX_TRIES_PER_NODE]
            if root in roots:
                continue
            allowed: list[Hashable] = []
            refusals: list[tuple[Hashable, str]] = []
            for earlier in roots:
                reason = self._protection(self._clusters[earlier], self._clusters[root], kind)
                if reason is None:
                    allowed.append(earlier)
                else:
                    refusals.append((earlier, reason))
            if len(allowed) > 1 and kind == "anonymous_user_id":
                # A browser two people signed in on: its anonymous history
                # goes with the first who identified on it, by the time of
                # the identify event (then the earliest holder).
                def first_identified(r: Hashable, value: str = value) -> tuple:
                    at = self._clusters[r].identified_at.get(value)
                    return (at is None, at or "", min(n for n in holders if self.find(n) == r))

                allowed = [min(allowed, key=first_identified)]
            if len(allowed) == 1:
                self._join(allowed[0], root, kind, value)
                continue
            clusters.append(node)
            people += not allowed
            if allowed:
                self._clusters[root].ambiguous_with.update(allowed)
            held = (allowed[0], "ambiguous") if allowed else refusals[0]
            if len(held_here) < MAX_HELD_PER_VALUE:
                held_here.append(HeldLink(held[0], node, kind, value, held[1]))
        if people >= self.protections.generic_after:
            held_here = [
                HeldLink(h.left, h.right, h.kind, h.value, "generic_value") for h in held_here
            ]
        self.held.extend(held_here)

    def _kept_apart(self, kind: str, nodes: Sequence[Hashable]) -> dict[Hashable, int]:
        """For each cluster of a group, how many of the group's other
        clusters the protections keep it apart from.  Only for groups of a
        few clusters (a pair has no order to choose; a value many share is
        generic whatever the order)."""
        if len(nodes) < 3:
            return {}
        roots = list(dict.fromkeys(self.find(n) for n in nodes))
        if not 3 <= len(roots) <= MAX_TRIES_PER_NODE:
            return {}
        apart = dict.fromkeys(roots, 0)
        for i, a in enumerate(roots):
            for b in roots[i + 1:]:
                if self._protection(self._clusters[a], self._clusters[b], kind) is not None:
                    apart[a] += 1
                    apart[b] += 1
        return apart

    def join_decided(self, a: Hashable, b: Hashable) -> None:
        """Join the clusters of two nodes a reviewer approved as one person:
        a person decided, so no protection applies."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._join(ra, rb, "reviewer", "approved")

    def link_scored(self, pairs: Sequence, *, auto: float, review: float, max_size: int) -> None:
        """Apply probabilistic pairs (:class:`ScoredPair`), most likely first:
        at or above ``auto`` they join unless a protection or the size cap
        stops them; the rest at or above ``review`` are held for review."""
        scores = {frozenset((p.left, p.right)): p.probability for p in pairs}
        for pair in pairs:
            ra, rb = self.find(pair.left), self.find(pair.right)
            if ra == rb or pair.probability < review:
                continue
            value = f"{pair.probability:.4f}"
            reason = "probability_band"
            if pair.probability >= auto:
                ca, cb = self._clusters[ra], self._clusters[rb]
                reason = self._protection(ca, cb, "probabilistic",
                                          names_checked=pair.personal_agreement)
                if reason is None and (self._still_ambiguous(ra, rb, pair.probability, scores)
                                       or self._still_ambiguous(rb, ra, pair.probability, scores)):
                    reason = "ambiguous"
                if reason is None and ca.size + cb.size > max_size:
                    reason = "cluster_size"
                if reason is None:
                    self._join(ra, rb, "probabilistic", value, pair.probability, pair.evidence)
                    continue
            self.held.append(HeldLink(pair.left, pair.right, "probabilistic", value, reason,
                                      pair.probability, pair.evidence))

    def _still_ambiguous(self, root: Hashable, other: Hashable, probability: float,
                         scores: dict[frozenset, float]) -> bool:
        """Whether joining ``root``'s cluster to ``other``'s with this
        probability would settle an ambiguous hold the evidence does not
        settle: ``root``'s cluster shares an identifier with clusters kept
        apart, ``other``'s among them, and matches another of them at least
        as well (a household's Kate contact matches Kate better than Kit: it
        goes to Kate; a record that matches two accounts of one person
        equally stays for a reviewer)."""
        apart = {self.find(node) for node in self._clusters[root].ambiguous_with} - {root}
        if other not in apart or len(apart) < 2:
            return False
        mine = self._clusters[root].members
        rivals = (self._clusters[r].members for r in apart - {other})
        return any(scores.get(frozenset((m, n)), 0.0) >= probability
                   for members in rivals for m in mine for n in members)

    def _join(self, ra: Hashable, rb: Hashable, kind: str, value: str,
              probability: float | None = None, evidence: dict | None = None) -> None:
        """Join two clusters, given by their roots."""
        ca, cb = self._clusters[ra], self._clusters[rb]
        # The cluster whose first member comes first keeps its root: nodes
        # are ("c", customer id) for existing customers and ("r", n) for new
        # records, so the oldest customer survives.
        if cb.members[0] < ca.members[0]:
            ra, rb, ca, cb = rb, ra, cb, ca
        union = Union(ca.members[0], cb.members[0], kind, value, probability, evidence)
        self.unions.append(union)
        self.joined_by.setdefault(cb.members[0], union)
        self._parent[rb] = ra
        ca.identifiers |= cb.identifiers
        ca.names |= cb.names
        ca.never_merge |= cb.never_merge
        ca.members.extend(cb.members)
        ca.size += cb.size
        ca.ambiguous_with |= cb.ambiguous_with
        for anonymous_id, at in cb.identified_at.items():
            if anonymous_id not in ca.identified_at or at < ca.identified_at[anonymous_id]:
                ca.identified_at[anonymous_id] = at
        del self._clusters[rb]

    def _protection(self, ca: _Cluster, cb: _Cluster, kind: str, names_checked: bool = False) -> str | None:
        p = self.protections
        if (ca.never_merge and not ca.never_merge.isdisjoint(cb.members)) or (
                cb.never_merge and not cb.never_merge.isdisjoint(ca.members)):
            return "never_merge"
        joined = ca.identifiers | cb.identifiers
        per_source: dict[str, int] = {}
        emails = phones = 0
        for k, v in joined:
            if k == "customer_id":
                src = v.split(":", 1)[0]
                per_source[src] = per_source.get(src, 0) + 1
            elif k == "email_address":
                emails += 1
            elif k == "mobile_phone_no":
                phones += 1
        if any(n > p.max_customer_ids_per_source for n in per_source.values()):
            # Each side is already a different account in one system.
            return "both_identified"
        if emails > p.max_emails or phones > p.max_phones:
            return "identifier_limit"
        if p.name_conflicts and kind != "customer_id" and not names_checked:
            if not any_compatible(ca.names, cb.names):
                return "conflicting_names"
        return None

