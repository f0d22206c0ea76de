"""Are two first names compatible, that is, possibly the same person's?

Used by the name-conflict protection: a shared email or phone does not merge
``John`` and ``Mary`` automatically (a household mailbox), but it does merge
``Jonathan`` and ``Jon``, ``Katherine`` and ``Kate``, or ``Siobhan`` and its
typo ``Siobahn``.
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz.distance import JaroWinkler

from distil_tui.core.normalize import name_key

# Canonical name -> common short forms and variants.  Deliberately small: it
# only has to stop a nickname from looking like a different person.
_NICKNAMES: dict[str, tuple[str, ...]] = {
    "alexander": ("alex", "sandy", "xander", "alec"),
    "alexandra": ("alex", "alexa", "sandra", "lexi"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony", "ant"),
    "benjamin": ("ben", "benny", "benji"),
    "catherine": ("cathy", "cath", "kate", "katie", "kathryn", "katherine", "kathy", "kat"),
    "charles": ("charlie", "chas", "chuck"),
    "charlotte": ("charlie", "lottie", "lotte"),
    "christopher": ("chris", "kit", "topher"),
    "christine": ("chris", "chrissie", "tina"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davey", "davy"),
    "deborah": ("debbie", "deb", "debra"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "libby", "elisabeth", "lisa"),
    "eleanor": ("ellie", "nell", "nora", "elle"),
    "frederick": ("fred", "freddie"),
    "gregory": ("greg",),
    "henry": ("harry", "hal", "hank"),
    "jacob": ("jake",),
    "james": ("jim", "jimmy", "jamie", "jem"),
    "jennifer": ("jen", "jenny", "jenni"),
    "jonathan": ("jon", "jonny", "johnny", "john"),
    "john": ("jack", "johnny", "jon"),
    "joseph": ("joe", "joey", "jo"),
    "joshua": ("josh",),
    "margaret": ("maggie", "meg", "peggy", "marge", "maisie", "greta"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mick", "mikey", "mickey"),
    "nicholas": ("nick", "nicky", "nico"),
    "patricia": ("pat", "patty", "trish", "tricia"),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "rebecca": ("becky", "becca", "bex"),
    "richard": ("rich", "rick", "ricky", "dick", "richie"),
    "robert": ("rob", "bob", "bobby", "robbie", "bert"),
    "samuel": ("sam", "sammy"),
    "samantha": ("sam", "sammy", "sammie"),
    "stephen": ("steve", "stevie", "steven"),
    "susan": ("sue", "susie", "suzy"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "vicki", "tori"),
    "william": ("will", "bill", "billy", "willie", "liam"),
}

_GROUPS: dict[str, frozenset[str]] = {}
for _canonical, _variants in _NICKNAMES.items():
    for _name in (_canonical, *_variants):
        _GROUPS[_name] = _GROUPS.get(_name, frozenset()) | {_canonical, *_variants}

TYPO_SIMILARITY = 0.85


@lru_cache(maxsize=65536)
def compatible(a: str, b: str) -> bool:
    """True when two first-name keys (see :func:`first_name_key`) may
    belong to one person."""
    if a == b:
        return True
    if len(a) == 1 or len(b) == 1:  # an initial
        return a[0] == b[0]
    if b in _GROUPS.get(a, ()):
        return True
    return JaroWinkler.similarity(a, b) >= TYPO_SIMILARITY


def first_name_key(value: str | None) -> str | None:
    """The first word of a first name, folded: 'Mary-Jane' -> 'mary'."""
    key = name_key((value or "").replace("-", " ").split(" ")[0] if value else None)
    return key


def any_compatible(left: frozenset[str], right: frozenset[str]) -> bool:
    """Sets of first-name keys: compatible unless both are known and no pair
    agrees.  An unknown name never conflicts."""
    if not left or not right:
        return True
    return any(compatible(a, b) for a in left for b in right)
