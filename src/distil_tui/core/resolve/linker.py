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

from distil_tui.core.resolve.names import any_compatible

# Strongest first.  A link through a kind is held when both sides are
# already identified by a stronger kind with no value in common.
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
    first_names: set[str] = field(default_factory=set)
    never_merge: set[Hashable] = field(default_factory=set)  # other nodes


@dataclass
class _Cluster:
    identifiers: set[tuple[str, str]]
    first_names: set[str]
    never_merge: set[Hashable]
    members: list[Hashable]


@dataclass(frozen=True)
class Union:
    """Two clusters joined by ``kind``/``value``: ``left`` and ``right`` are
    the roots' first members at the time."""

    left: Hashable
    right: Hashable
    kind: str
    value: str


@dataclass(frozen=True)
class HeldLink:
    left: Hashable
    right: Hashable
    kind: str
    value: str
    reason: str  # "identifier_limit", "both_identified", "conflicting_names", "never_merge", "generic_value"


class Linker:
    def __init__(self, protections: Protections | None = None) -> None:
        self.protections = protections or Protections()
        self._parent: dict[Hashable, Hashable] = {}
        self._clusters: dict[Hashable, _Cluster] = {}
        self.unions: list[Union] = []
        self.held: list[HeldLink] = []
        self.generic_values: set[tuple[str, str]] = set()

    def add(self, node: Hashable, facts: NodeFacts) -> None:
        self._parent[node] = node
        self._clusters[node] = _Cluster(
            set(facts.identifiers), set(facts.first_names), set(facts.never_merge), [node]
        )

    def extend(self, node: Hashable, identifiers: set[tuple[str, str]], first_names: set[str]) -> None:
        """Add facts to a node already added (an existing customer whose
        record arrives again with more)."""
        cluster = self._clusters[self.find(node)]
        cluster.identifiers |= identifiers
        cluster.first_names |= first_names

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

    def roots(self) -> Iterable[Hashable]:
        return (n for n in self._parent if self._parent[n] == n)

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
        # Each node joins the first earlier cluster it may join; a node that
        # may join none is held against the first.  Only the first few
        # clusters are tried: a value that many people share is generic.
        clusters: list[Hashable] = [nodes[0]]
        held_here: list[HeldLink] = []
        for node in nodes[1:]:
            first_refusal: tuple[Hashable, str] | None = None
            joined = False
            for earlier in clusters[:MAX_TRIES_PER_NODE]:
                reason = self._union(earlier, node, kind, value)
                if reason is None:
                    joined = True
                    break
                first_refusal = first_refusal or (earlier, reason)
            if not joined:
                clusters.append(node)
                if first_refusal and len(held_here) < MAX_HELD_PER_VALUE:
                    held_here.append(HeldLink(first_refusal[0], node, kind, value, first_refusal[1]))
        if len({self.find(n) for n in clusters}) >= self.protections.generic_after:
            self.generic_values.add((kind, value))
            held_here = [
                HeldLink(h.left, h.right, h.kind, h.value, "generic_value") for h in held_here
            ]
        self.held.extend(held_here)

    def _union(self, a: Hashable, b: Hashable, kind: str, value: str) -> str | None:
        """Join the clusters of ``a`` and ``b``; the reason if a protection
        stops it, else ``None``."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        ca, cb = self._clusters[ra], self._clusters[rb]
        reason = self._protection(ca, cb, kind)
        if reason:
            return reason
        # The cluster whose first member comes first keeps its root: nodes
        # are ("c", customer id) for existing customers and ("r", n) for new
        # records, so the oldest customer survives.
        if cb.members[0] < ca.members[0]:
            ra, rb, ca, cb = rb, ra, cb, ca
        self.unions.append(Union(ca.members[0], cb.members[0], kind, value))
        self._parent[rb] = ra
        ca.identifiers |= cb.identifiers
        ca.first_names |= cb.first_names
        ca.never_merge |= cb.never_merge
        ca.members.extend(cb.members)
        del self._clusters[rb]
        return None

    def _protection(self, ca: _Cluster, cb: _Cluster, kind: str) -> str | None:
        p = self.protections
        if ca.never_merge & set(cb.members) or cb.never_merge & set(ca.members):
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
        if (
            any(n > p.max_customer_ids_per_source for n in per_source.values())
            or emails > p.max_emails
            or phones > p.max_phones
        ):
            return "identifier_limit"
        strength = _STRENGTH.get(kind, 99)
        # Customer ids are compared within their source, by the limit above.
        for stronger in KIND_ORDER[1:strength]:
            left = {v for k, v in ca.identifiers if k == stronger}
            right = {v for k, v in cb.identifiers if k == stronger}
            if left and right and not left & right:
                return "both_identified"
        if p.name_conflicts and kind != "customer_id":
            if not any_compatible(frozenset(ca.first_names), frozenset(cb.first_names)):
                return "conflicting_names"
        return None

