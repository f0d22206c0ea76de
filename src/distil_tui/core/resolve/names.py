"""Are two first names compatible, that is, possibly the same person's?

Used by the name-conflict protection: a shared email or phone does not merge
``John`` and ``Mary`` automatically (a household mailbox), but it does merge
``Jonathan`` and ``Jon``, ``Katherine`` and ``Kate``, or ``Siobhan`` and its
typo ``Siobahn``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from nicknames import NickNamer
from rapidfuzz.distance import JaroWinkler

from distil_tui.core.normalize import name_key

# Canonical name -> common short forms and variants, British ones the
# ``nicknames`` data set (American in origin) lacks or that we rely on.
_NICKNAMES: dict[str, tuple[str, ...]] = {
    "alexander": ("alex", "sandy", "xander", "alec"),
    "alexandra": ("alex", "alexa", "sandra", "lexi"),
    "abigail": ("abby", "abbie", "gail"),
    "amelia": ("millie", "amy", "mia"),
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
    "harriet": ("hattie", "harry"),
    "henry": ("harry", "hal", "hank"),
    "isabella": ("bella", "izzy", "issy", "isabel", "isabelle"),
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
    "oliver": ("ollie", "olly"),
    "olivia": ("liv", "livvy", "livia"),
    "patricia": ("pat", "patty", "trish", "tricia"),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "rebecca": ("becky", "becca", "bex"),
    "richard": ("rich", "rick", "ricky", "dick", "richie"),
    "robert": ("rob", "bob", "bobby", "robbie", "bert"),
    "samuel": ("sam", "sammy"),
    "sophia": ("sophie", "soph"),
    "samantha": ("sam", "sammy", "sammie"),
    "stephen": ("steve", "stevie", "steven"),
    "susan": ("sue", "susie", "suzy"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "theodore": ("theo", "ted", "teddy"),
    "victoria": ("vicky", "vicki", "tori"),
    "william": ("will", "bill", "billy", "willie", "liam"),
}

_GROUPS: dict[str, frozenset[str]] = {}
for _canonical, _variants in _NICKNAMES.items():
    for _name in (_canonical, *_variants):
        _GROUPS[_name] = _GROUPS.get(_name, frozenset()) | {_canonical, *_variants}

TYPO_SIMILARITY = 0.85


_NICKNAMER = NickNamer()


@lru_cache(maxsize=65536)
def _forms(name: str) -> tuple[frozenset[str], frozenset[str]]:
    """The names ``name`` may stand for or be shortened to, and the full
    names it is a short form of: our list and the curated ``nicknames``
    data set (about 2,700 English name relations)."""
    canonicals = frozenset(_NICKNAMER.canonicals_of(name))
    return _GROUPS.get(name, frozenset()) | canonicals | _NICKNAMER.nicknames_of(name), canonicals


def nickname_or_initial(a: str, b: str) -> bool:
    """One name is a known short form of the other (Tilly, Matilda), both
    are short forms of one longer name (Bob, Rob: Robert; Kate, Kit:
    Katherine), or one is the other's initial.

    The data set lists names loosely: short forms as the full names of full
    names (Bill and Billy among Robert's, so Robert and William shared a
    "full name"), and Emily as a short form of Amelia.  At 1M records both
    made one customer of two members of a household sharing a mailbox
    (benchmarks/scale.py).  So the shared name must be longer than both, and
    where our own list has that name, both must be among its short forms
    there (Amelia: Amy, Millie, Mia; not Emily)."""
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0]
    forms_a, full_a = _forms(a)
    forms_b, full_b = _forms(b)
    if b in forms_a or a in forms_b:
        return True
    longest = max(len(a), len(b))
    return any(
        len(name) > longest and (name not in _NICKNAMES or {a, b} <= set(_NICKNAMES[name]))
        for name in full_a & full_b
    )


@lru_cache(maxsize=65536)
def compatible(a: str, b: str) -> bool:
    """True when two first-name keys (see :func:`first_name_key`) may
    belong to one person."""
    return a == b or nickname_or_initial(a, b) or JaroWinkler.similarity(a, b) >= TYPO_SIMILARITY


@lru_cache(maxsize=65536)
def first_name_key(value: str | None) -> str | None:
    """The first word of a first name, folded: 'Mary-Jane' -> 'mary'.
    Cached: a customer base has far fewer names than records."""
    key = name_key((value or "").replace("-", " ").split(" ")[0] if value else None)
    return key


NameKey = tuple[str | None, str | None]  # (first name key, last name key)


def any_compatible(left: Iterable[NameKey], right: Iterable[NameKey]) -> bool:
    """Names of two customers: compatible unless both have first names and
    no pair agrees, straight or with first and last name swapped.  An
    unknown name never conflicts."""
    known_left = [n for n in left if n[0]]
    known_right = [n for n in right if n[0]]
    if not known_left or not known_right:
        return True
    for first_a, last_a in known_left:
        for first_b, last_b in known_right:
            if compatible(first_a, first_b):
                return True
            if last_a and last_b and compatible(first_a, last_b) and compatible(last_a, first_b):
                return True
    return False
