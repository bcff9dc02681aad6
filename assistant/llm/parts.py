"""An LLM reply read into the same parts as an extractive answer (assistant.answer.AnswerParts).

The prompt asks for the parts under their bold headings ("**Bottom line**", "**What to do
now**", "**Watch for / escalate when**"); a reply that follows it gets `parts`, so every surface
lays it out like an extractive answer. A reply without the headings keeps `parts` empty and is
shown as written. Lines keep their markers; the verdict is read as for an extractive answer,
and a "Yes, if at least N" is checked against the figure the question gives (assistant.figures).
"""

from __future__ import annotations

import re

from assistant import figures
from assistant.answer import PART_HEADINGS, AnswerParts
from assistant.extractive import direction_of, touches_law
from assistant.question import YES_NO, question_type

HEADINGS = {"bottom_line": PART_HEADINGS["bottom_line"], "steps": PART_HEADINGS["steps"],
            "watch_for": PART_HEADINGS["watch_for"]}
HEADING = re.compile(r"^\s*(?:\*\*(?P<bold>[^*\n]+?)\*\*|#{1,4}\s*(?P<hash>[^#\n]+?))\s*:?\s*"
                     r"(?P<rest>.*)$")
ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
MARKERS = re.compile(r"\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")


def read_parts(question: str, text: str) -> AnswerParts | None:
    """The reply's parts, or None when it has no bottom line under its heading."""
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = HEADING.match(line)
        name = m and (m.group("bold") or m.group("hash") or "").strip().rstrip(":").lower()
        part = name and next((k for k, h in HEADINGS.items() if name.startswith(h.lower()[:10])),
                             None)
        if part:
            current, line = part, m.group("rest")
        elif m and not m.group("rest"):
            current = None  # a heading of another part: its lines are not ours
            continue
        if current and line.strip():
            found.setdefault(current, []).append(ITEM.sub("", line).strip())
    if not found.get("bottom_line"):
        return None
    bottom = tuple(found["bottom_line"])
    kind, verdict = question_type(question), MARKERS.sub("", bottom[0])
    fc = figures.check(question, verdict) if kind == YES_NO else None
    return AnswerParts(kind=kind,
                       direction=fc.direction if fc else direction_of(verdict),
                       bottom_line=bottom, figure_check=fc.line() if fc else None,
                       steps=tuple(found.get("steps", ())),
                       watch_for=tuple(found.get("watch_for", ())),
                       legal_note=touches_law(question))
