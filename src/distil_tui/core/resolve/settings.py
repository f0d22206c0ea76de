"""How identity resolution is tuned.  Defaults are what a new store uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from distil_tui.core.resolve.linker import Protections


@dataclass(frozen=True)
class ResolutionSettings:
    protections: Protections = field(default_factory=Protections)
    # Fellegi-Sunter match probability at or above which two records merge
    # automatically, and at or above which they are held for review.
    auto_merge_probability: float = 0.99
    review_probability: float = 0.80
    # Custom attributes compared like a mistyped identifier (exact, one or
    # two edits): a national insurance or membership number, for example.
    extra_fields: tuple[str, ...] = ()
    # Automatic probabilistic merges never grow a customer beyond this many
    # records: a large cluster built from chains of likely matches is more
    # likely a chain of mistakes than one person.
    max_auto_cluster_size: int = 50
