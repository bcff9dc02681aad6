"""Clean text extracted from PDF pages so that sentences come out whole.

PDF extraction leaves zero-width characters, ligatures, footnote markers, words hyphenated
across lines, lines broken mid-sentence and running headers and footers. Each function
below removes one kind of noise; `clean_pages` applies them in the order that works.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter

LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st",
             "Ĳ": "IJ", "ĳ": "ij", "Œ": "OE", "œ": "oe"}
ZERO_WIDTH = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff\u00ad"
SPACES = "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
# A footnote number that the PDF set off with zero-width spaces: "users.\u200b 2, 3 \u200b",
# "parties.\u200b 12 13 \u200b". A number followed by "." or ")" is a list item ("\u200b 1. Every
# one"), and a longer number is a year or a count: both are text, not markers.
_NOTE = r"\d{1,3}(?!\d)"
MARKED_FOOTNOTE = re.compile(
    rf"[\u200b\u2060][ \t]*{_NOTE}(?:(?:[ \t]*[,\u2013-][ \t]*|[ \t]+){_NOTE})*(?![.)])"
    r"[ \t]*[\u200b\u2060]?")
# A footnote number glued to the end of a word or sentence: "privacy.12 The", "rights3 and"
GLUED_FOOTNOTE = re.compile(r"(?<=[a-z][.,;:)\u201d\"])\d{1,2}(?=\s|$)|(?<=[a-z]{3})\d{1,2}(?=[\s.,;:]|$)")
BULLET = re.compile(r"^(?:[•▪◦●‣∙·\-–*]|\(?\d{1,2}[.)]|\(?[a-z][.)]|[ivx]{1,4}[.)])\s")
SENTENCE_END = re.compile(r"[.!?:;)\u201d\"]$")


def strip_invisible(text: str) -> str:
    """Drop zero-width and control characters; turn odd spaces into plain ones."""
    text = text.translate({ord(c): " " for c in SPACES})
    text = text.translate({ord(c): None for c in ZERO_WIDTH})
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C")


def expand_ligatures(text: str) -> str:
    return "".join(LIGATURES.get(c, c) for c in text)


def drop_footnote_markers(text: str) -> str:
    text = MARKED_FOOTNOTE.sub(" ", text)
    return GLUED_FOOTNOTE.sub("", text)


def _signature(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", line.strip().lower()))


def drop_running_lines(pages: list[list[str]], edge: int = 4) -> list[list[str]]:
    """Remove headers and footers: lines near a page's top or bottom repeated on most pages."""
    if len(pages) < 3:
        return [[ln for ln in p if not re.fullmatch(r"\s*(page\s*)?\d{1,4}\s*", ln, re.I)]
                for p in pages]
    seen: Counter[str] = Counter()
    for lines in pages:
        body = [ln for ln in lines if ln.strip()]
        seen.update({_signature(ln) for ln in body[:edge] + body[-edge:]})
    threshold = max(2, len(pages) // 2)
    running = {sig for sig, n in seen.items() if n >= threshold}
    out = []
    for n, lines in enumerate(pages):
        body_idx = [i for i, ln in enumerate(lines) if ln.strip()]
        edges = set(body_idx[:edge] + body_idx[-edge:])
        # The first page's top is the title, which running headers often repeat: keep it.
        top_of_title_page = set(body_idx[:edge]) if n == 0 else set()
        out.append([
            ln for i, ln in enumerate(lines)
            if not (i in edges and (
                (_signature(ln) in running and i not in top_of_title_page)
                or re.fullmatch(r"\s*(page\s*)?\d{1,4}\s*", ln, re.I)))
        ])
    return out


def join_lines(lines: list[str]) -> str:
    """Rebuild paragraphs: rejoin hyphenated words and lines broken mid-sentence."""
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in lines]
    widths = [len(ln) for ln in lines if ln]
    typical = statistics.median(widths) if widths else 0
    paras: list[str] = []
    current = ""
    prev = ""
    for ln in lines:
        if not ln:
            if current:
                paras.append(current)
            current, prev = "", ""
            continue
        new_para = (
            not current
            or BULLET.match(ln)
            or (SENTENCE_END.search(prev) and len(prev) < 0.7 * typical and ln[:1].isupper())
            # a short line with no closing punctuation before a capital: a title or heading
            or (current == prev and len(prev) < 0.5 * typical and not SENTENCE_END.search(prev)
                and not prev.endswith(("-", ",")) and ln[:1].isupper()
                and not (prev.isupper() and ln.isupper()))  # a title set over two lines
        )
        if new_para:
            if current:
                paras.append(current)
            current = ln
        elif re.search(r"[A-Za-z]-$", current) and ln[:1].islower():
            current = current[:-1] + ln  # "inter-\nnational" -> "international"
        elif re.search(r"[A-Za-z]-$", current) and ln[:1].isupper():
            current += ln  # "Inter-\nAmerican" -> "Inter-American": the hyphen is the word's
        else:
            current = f"{current} {ln}"
        prev = ln
    if current:
        paras.append(current)
    return "\n\n".join(p.strip() for p in paras if p.strip())


def clean_pages(raw_pages: list[str]) -> list[str]:
    """Clean the text of every page of one PDF; returns one string per page."""
    pages = []
    for raw in raw_pages:
        text = drop_footnote_markers(raw.replace("\u00a0", " "))
        text = expand_ligatures(strip_invisible(text))
        pages.append(text.split("\n"))
    pages = drop_running_lines(pages)
    return [join_lines(lines) for lines in pages]


def clean_text(text: str) -> str:
    """Light cleaning for Markdown and plain text: invisible characters and ligatures only."""
    return expand_ligatures(strip_invisible(text.replace("\r\n", "\n").replace("\r", "\n")))
