"""Markdown of answers and citations, for files people download or read raw (exports, reports).

Document text is untrusted: everything taken from a document is escaped, so it shows as
written. The structure the assistant itself writes (a bold heading line, bullets, numbered
items) is kept. `escape` is CommonMark's; the web app passes a stricter one for Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.answer import UNSUPPORTED, Answer, Citation

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")
_BULLET = re.compile(r"^(\s*)([-*•])\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d{1,3})[.)]\s+(.*)$")
_BOLD_LINE = re.compile(r"^\*\*(.+?)\*\*(.*)$")


def escape(text: object) -> str:
    """One line of text that Markdown shows as written (white space folded)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def structured(text: str, esc: Callable[[str], str] = escape) -> str:
    """An answer's text as safe Markdown: its own heading lines, bullets and numbered items
    kept, every other character escaped with `esc`."""
    lines = []
    for line in str(text).split("\n"):
        if m := _BOLD_LINE.match(line.strip()):
            lines.append(f"**{esc(m.group(1))}**{esc(m.group(2))}")
        elif m := _BULLET.match(line):
            lines.append(f"{m.group(1)}- {esc(m.group(3))}")
        elif m := _NUMBERED.match(line):
            lines.append(f"{m.group(1)}{m.group(2)}. {esc(m.group(3))}")
        else:
            lines.append(esc(line))
    return "\n".join(lines)


def citation_line(c: Citation, esc: Callable[[str], str] = escape) -> str:
    """`n. **Title** (section 2.1 Purpose): "the quote"`: a source as the exports list it."""
    return f"{c.n}. **{esc(c.title)}** ({esc(c.location)}): \"{esc(c.quote)}\""


def answer_markdown(answer: Answer, esc: Callable[[str], str] = escape) -> list[str]:
    """The lines of one answer in an export: warnings, the answer, unsupported sentences, sources."""
    out = [f"> {esc(w)}\n" for w in answer.warnings]
    out += [structured(answer.text, esc), ""]
    if answer.unsupported:
        out += [f"**{esc(UNSUPPORTED)}**", ""] + [f"- {esc(s)}" for s in answer.unsupported] + [""]
    if answer.citations:
        out += ["**Sources**", ""] + [citation_line(c, esc) for c in answer.citations] + [""]
    return out
