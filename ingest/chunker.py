"""Split pages and sections into chunks that fit the embedder's token window, with overlap.

A chunk is a contiguous span of its page or section (so a citation can point at characters),
made of whole sentences where possible, never crossing a page or section boundary. What is
embedded is the chunk prefixed with its document title and heading path; the prefix counts
against the token bound, so nothing is silently truncated by the model.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass

from assistant.library.embedder import TokenCounter
from assistant.library.sentences import sentence_spans
from assistant.settings import ChunkingSettings
from ingest.documents import ParsedDocument, Unit


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    text: str
    embed_text: str
    unit: Unit
    start: int
    end: int
    tokens: int
    ordinal: int

    def metadata(self, doc: ParsedDocument) -> dict:
        meta = {
            "doc_id": doc.doc_id, "doc_hash": doc.doc_hash, "title": doc.title, "kind": doc.kind,
            "topics": list(doc.topics) or ["none"], "source": doc.source,
            "start": self.start, "end": self.end, "tokens": self.tokens, "ordinal": self.ordinal,
            "chunk_hash": hashlib.sha256(self.text.encode()).hexdigest()[:16],
        }
        if doc.applies:  # "shutdowns-content-restriction:4 ungp:4.3 oecd-due-diligence"
            meta["applies"] = " ".join(f"{d}:{','.join(s)}" if s else d
                                       for d, s in doc.applies.items())
        if self.unit.page is not None:
            meta["page"] = self.unit.page
        if self.unit.section:
            meta["section"] = self.unit.section
            meta["heading_path"] = self.unit.heading_path
            if asked := doc.questions_for(self.unit.section):
                meta["questions"] = "\n".join(asked)  # search keys, never quoted
        return meta


def prefix(doc: ParsedDocument, unit: Unit) -> str:
    where = unit.heading_path or (f"page {unit.page}" if unit.page else "")
    return f"{doc.title}. {where}.\n" if where else f"{doc.title}.\n"


def chunk_document(doc: ParsedDocument, s: ChunkingSettings, counter: TokenCounter) -> list[Chunk]:
    chunks: list[Chunk] = []
    for unit in doc.units:
        head = prefix(doc, unit)
        budget = s.max_tokens - counter.count(head)
        for a, b in _spans(unit.text, budget, s.overlap_tokens, counter):
            text = unit.text[a:b]
            embed = head + text
            tokens = counter.count(embed)
            ordinal = len(chunks)
            # The version's hash is part of the id, so writing a new version never overwrites
            # the committed version's chunks (see LibraryStore.write_document).
            key = f"{doc.doc_id}\0{doc.doc_hash}\0{ordinal}\0{embed}"
            cid = hashlib.sha256(key.encode()).hexdigest()[:32]
            chunks.append(Chunk(cid, text, embed, unit, a, b, tokens, ordinal))
    return chunks


def _pieces(text: str, budget: int, counter: TokenCounter) -> list[tuple[int, int, int, bool]]:
    """Sentences as (start, end, tokens, starts_paragraph); an over-long one is cut by words."""
    out = []
    spans = sentence_spans(text)
    counts = counter.count_many([text[a:b] for a, b in spans]) if spans else []
    prev_end = 0
    for (a, b), n in zip(spans, counts, strict=True):
        para = "\n\n" in text[prev_end:a] or not out
        prev_end = b
        if n <= budget:
            out.append((a, b, n, para))
            continue
        out.extend(_cut_words(text, a, b, budget, counter, para))
    return out


def _cut_words(text: str, a: int, b: int, budget: int, counter: TokenCounter, para: bool):
    """Cut a sentence longer than the window into word runs that fit."""
    words, pos = [], a
    for w in text[a:b].split():
        i = text.index(w, pos)
        words.extend(_cut_chars(text, i, i + len(w), budget, counter))
        pos = i + len(w)
    ends = [e for _, e in words]
    start = 0
    while start < len(words):
        # Search runs of at most 8 * budget characters (a token rarely covers more than a few):
        # counting ever longer spans of a long text would take minutes.
        far = bisect.bisect_right(ends, words[start][0] + 8 * budget)
        lo, hi = start + 1, max(start + 1, far)
        while lo < hi:  # the longest run from `start` that fits the budget
            mid = (lo + hi + 1) // 2
            if counter.count(text[words[start][0]:words[mid - 1][1]]) <= budget:
                lo = mid
            else:
                hi = mid - 1
        seg = (words[start][0], words[lo - 1][1])
        yield seg[0], seg[1], counter.count(text[seg[0]:seg[1]]), para and start == 0
        start = lo


def _cut_chars(text: str, a: int, b: int, budget: int, counter: TokenCounter):
    """A "word" longer than the window (Chinese or Japanese text has no spaces) as runs of
    characters that fit; a word of at most `budget` characters is never over the window."""
    tokens = counter.count(text[a:b]) if b - a > budget else 0
    if tokens <= budget:
        return [(a, b)]
    step = max(1, budget * (b - a) // tokens)  # characters in a full window, on average
    runs = []
    while a < b:
        lo, hi = a + 1, min(b, a + 2 * step)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if counter.count(text[a:mid]) <= budget:
                lo = mid
            else:
                hi = mid - 1
        runs.append((a, lo))
        a = lo
    return runs


def _spans(text: str, budget: int, overlap: int, counter: TokenCounter) -> list[tuple[int, int]]:
    pieces = _pieces(text, budget, counter)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(pieces):
        j, used = i, 0
        while j < len(pieces) and used + pieces[j][2] + 1 <= budget:
            # Prefer to end at a paragraph break once the chunk is three-quarters full.
            if j > i and pieces[j][3] and used >= 0.75 * budget:
                break
            used += pieces[j][2] + 1
            j += 1
        j = max(j, i + 1)
        a, b = pieces[i][0], pieces[j - 1][1]
        while j - 1 > i and counter.count(text[a:b]) > budget:  # joins can add a token or two
            j -= 1
            b = pieces[j - 1][1]
        spans.append((a, b))
        if j >= len(pieces):
            break
        # Overlap: start the next chunk with the last sentences that fit in `overlap` tokens.
        k, carried = j, 0
        while k - 1 > i and carried + pieces[k - 1][2] <= overlap:
            k -= 1
            carried += pieces[k][2]
        i = k
    return spans
