"""Show values from the data as what they are.

Customer data is untrusted: a name may contain console markup (``[bold]x[/]``),
ANSI escape sequences, newlines or bidirectional overrides.  Every value from
the data reaches the screen through :func:`literal`, which never parses markup
and turns invisible or terminal-controlling characters into visible escapes,
so that a person sees exactly what was imported.
"""

from __future__ import annotations

import re

from rich.text import Text

# C0 and C1 controls and DEL can move the cursor or recolour the terminal;
# bidirectional controls reorder what follows them; line and paragraph
# separators and the byte-order mark are invisible.  All are shown escaped.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Letters written right to left (Hebrew, Arabic, Syriac, Thaana, N'Ko...).
# A terminal or viewer that applies the bidirectional algorithm to a whole
# line would take a line's first such letter as the line's direction, and
# join neighbouring columns (digits, another right-to-left value) into one
# reversed run: a value holding one is set between left-to-right marks, so
# that it reads right to left inside its own column and nothing moves.
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]")
_LRM = "\u200e"
ESCAPE_STYLE = "dim"
PLACEHOLDER_STYLE = "dim"

_ISO_MOMENT = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def escape_char(char: str) -> str:
    """The visible form of one unsafe character: ``\\n``, ``\\x1b``, ``\\u202e``."""
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def literal(value: object, *, style: str = "", placeholder: str = "") -> Text:
    """A single-line Text showing ``value`` literally, cut with an ellipsis
    when it does not fit.  ``None`` and the empty string show ``placeholder``
    dimmed."""
    if value is None or value == "":
        return Text(placeholder, style=PLACEHOLDER_STYLE, no_wrap=True, overflow="ellipsis", end="")
    string = str(value)
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    isolate = _RIGHT_TO_LEFT.search(string) is not None
    if isolate:
        text.append(_LRM)
    position = 0
    for match in _UNSAFE.finditer(string):
        text.append(string[position : match.start()], style)
        text.append(escape_char(match.group()), f"{style} {ESCAPE_STYLE}".strip())
        position = match.end()
    text.append(string[position:], style)
    if isolate:
        text.append(_LRM)
    return text


def moment(value: str | None, *, placeholder: str = "") -> Text:
    """A timestamp from the data, shortened to minutes when it is ISO 8601
    (``2026-01-01T09:30:00Z`` shows ``2026-01-01 09:30``), else literally."""
    if value:
        match = _ISO_MOMENT.match(value)
        if match:
            date, time, zone = match.groups()
            suffix = "" if zone in (None, "Z", "+00:00", "+0000") else f" {zone}"
            return literal(f"{date} {time}{suffix}")
    return literal(value, placeholder=placeholder)


def probability_text(probability: float) -> str:
    """"probability 0.9531"; "> 0.9999" rather than a rounded-up certainty."""
    shown = f"{probability:.4f}"
    return "probability > 0.9999" if shown == "1.0000" and probability < 1 else f"probability {shown}"


def join(*parts: Text | str, separator: str = " ") -> Text:
    """Join Texts (literal data) and plain strings (our own words, never
    markup) into one single-line Text."""
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    first = True
    for part in parts:
        if not part:
            continue
        if not first:
            text.append(separator)
        text.append(part if isinstance(part, Text) else Text(part))
        first = False
    return text
