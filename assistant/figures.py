"""A conditional bottom line checked against the figure the user gave: "Yes, if ... at least
1,000 employees" asked about "our German entity has about 800 employees".

The library states scope rules as thresholds (the LkSG's employees, the UK Modern Slavery
Act's turnover, the DSA's monthly recipients). When the bottom line is such a "Yes, if" and the
question gives a figure in the same unit, `check` compares the two and says so in one line of
our own, shown under the cited bottom line: the verdict then follows the user's figure. Only a
minimum ("at least", "or more", "more than", "over") is read, and only figures whose unit is
named (a currency, or a count of employees or users); anything else is left to the reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CURRENCIES = {"gbp": "GBP", "£": "GBP", "eur": "EUR", "€": "EUR", "euro": "EUR", "euros": "EUR",
              "usd": "USD", "$": "USD", "aud": "AUD"}
COUNTS = {"employee": "employees", "staff": "employees", "worker": "employees",
          "headcount": "employees", "fte": "employees", "user": "users", "recipient": "users"}
# What to check before relying on a figure below the threshold, by the threshold's unit.
COUNTING = {"employees": "how the rule counts staff (group companies, part-time and agency "
            "workers, the reference date)",
            "users": "how the rule counts users (active recipients, averaged over six months)"}
COUNTING.update(dict.fromkeys(set(CURRENCIES.values()), "whose turnover the rule adds up "
                "(subsidiaries, the group) and for which financial year"))
SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9,
          "billion": 1e9}
_CUR = r"(?P<cur>gbp|eur|usd|aud|£|€|\$)"
_NUM = r"(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
_SCALE = r"(?:\s?(?P<scale>k|thousand|m|mn|million|bn|billion)\b)?"
_AFTER = (r"(?:\s+(?P<cur2>gbp|eur|usd|aud|euros?)\b)?"
          r"(?:\s+(?:(?!from\b|in\b|of\b)[a-z-]+\s+){0,3}?"
          r"(?P<count>employees?|staff|workers?|headcount|ftes?|users?|recipients?)\b)?")
FIGURE = re.compile(rf"(?:{_CUR}\s?)?{_NUM}{_SCALE}{_AFTER}", re.I)
MINIMUM_BEFORE = re.compile(r"\b(at least|more than|over|exceeding|minimum of)\s+$", re.I)
MINIMUM_AFTER = re.compile(r"^\s*(or more|or above|and above|or over)\b", re.I)
CONDITIONAL = re.compile(r"^yes,? (if|where|when)\b", re.I)


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str  # "GBP", "EUR", ..., "employees" or "users"
    text: str  # as written


@dataclass(frozen=True)
class FigureCheck:
    """The user's figure against the bottom line's threshold; `met` decides the verdict."""

    given: Figure
    threshold: Figure
    met: bool

    @property
    def direction(self) -> str:
        return "yes" if self.met else "no"

    def line(self) -> str:
        if self.met:
            return (f"Your figure, {self.given.text}, meets the {self.threshold.text} this rule "
                    "names; its other conditions still apply.")
        return (f"Your figure, {self.given.text}, is below the {self.threshold.text} this rule "
                f"names: on that figure, no. Check {COUNTING[self.threshold.unit]} before "
                "relying on it.")


def figures(text: str) -> list[tuple[Figure, int, int]]:
    """The figures with a named unit in `text`, with where each is written."""
    found = []
    for m in FIGURE.finditer(text):
        cur = (m.group("cur") or m.group("cur2") or "").lower()
        count = (m.group("count") or "").lower().rstrip("s")
        unit = CURRENCIES.get(cur) or COUNTS.get(count)
        if not unit or (cur and count and COUNTS.get(count) == "employees"):
            continue
        value = float(m.group("num").replace(",", ""))
        value *= SCALES.get((m.group("scale") or "").lower(), 1.0)
        found.append((Figure(value, unit, m.group(0).strip()), m.start(), m.end()))
    return found


def threshold(text: str) -> Figure | None:
    """The first minimum a "Yes, if" bottom line sets ("at least 1,000 employees")."""
    if not CONDITIONAL.match(text.strip()):
        return None
    for fig, start, end in figures(text):
        if MINIMUM_BEFORE.search(text[:start]) or MINIMUM_AFTER.match(text[end:]):
            return fig
    return None


def check(question: str, bottom_line: str) -> FigureCheck | None:
    """The question's figure in the threshold's unit against it; None if either is missing
    or the question gives two figures in that unit (which one counts is the reader's call)."""
    limit = threshold(bottom_line)
    if limit is None:
        return None
    given = [f for f, _, _ in figures(question) if f.unit == limit.unit]
    if len(given) != 1:
        return None
    return FigureCheck(given[0], limit, given[0].value >= limit.value)
