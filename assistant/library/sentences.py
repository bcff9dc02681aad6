"""Sentence boundaries with character offsets, shared by the chunker and the extractive answerer."""

from __future__ import annotations

import re

ABBREVIATIONS = {
    "e.g", "i.e", "etc", "cf", "vs", "no", "nos", "art", "arts", "para", "paras", "dr", "mr", "mrs",
    "ms", "st", "fig", "vol", "pp", "p", "inc", "ltd", "co", "corp", "u.s", "u.k", "e.u", "u.n",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx",
    "gp", "sec", "ch", "ed", "eds", "op", "ibid",
}
# A candidate end: terminal punctuation, optional closing quote/bracket, then white space.
END = re.compile(r"[.!?](?:[\"'\u2019\u201d)\]]*)(?=\s+)")
START = re.compile(r"\s+([\"'\u2018\u201c(\[]?[A-Z0-9\u00c0-\u024f•*\-])")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence; paragraph breaks and list items also end one."""
    spans: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(text):
        start = block_start
        for m in END.finditer(text, block_start, block_end):
            end = m.end()
            nxt = START.match(text, end, block_end)
            if not nxt or _is_abbreviation(text, start, m.start()):
                continue
            if text[start:end].strip():
                spans.append(_trim(text, start, end))
            start = nxt.start(1)
        if text[start:block_end].strip():
            spans.append(_trim(text, start, block_end))
    return spans


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def _blocks(text: str):
    """Paragraphs and single lines that start a list item or heading."""
    pos = 0
    for m in re.finditer(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d{1,2}[.)]|#{1,6})\s)", text):
        yield pos, m.start()
        pos = m.end()
    yield pos, len(text)


def _is_abbreviation(text: str, start: int, dot: int) -> bool:
    word = re.search(r"([A-Za-z.]+)$", text[start:dot])
    if not word:
        return False
    w = word.group(1).lower().strip(".")
    return w in ABBREVIATIONS or (len(w) == 1 and w.isalpha())


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
