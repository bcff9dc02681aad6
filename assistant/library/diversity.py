"""The fused ranking made a reading list: copies dropped, documents mixed.

Two chunks that repeat each other (the same file ingested twice) keep only the higher; then
maximal marginal relevance picks the passages, where a passage resembles one already chosen
by sharing its document (`SAME_DOCUMENT`) or many of its words.
"""

from __future__ import annotations

from assistant.library.bm25 import tokenize
from assistant.library.store import StoredChunk

# In diversification, how much a passage resembles one already chosen because it comes from
# the same document (the rest is shared words).
SAME_DOCUMENT = 0.7
DUPLICATE = 0.85  # word-set Jaccard above which a chunk repeats one ranked higher
WORD_CACHE = 50_000  # chunks whose word sets are kept between queries (a few tens of MB)


class WordSets:
    """Word sets of chunks seen by recent queries: de-duplication and diversification compare
    them, and tokenising 60 candidates twice a query was the largest part of fusing."""

    def __init__(self):
        self._words: dict[str, frozenset[str]] = {}

    def clear(self) -> None:
        self._words = {}

    def of(self, chunk: StoredChunk) -> frozenset[str]:
        words = self._words.get(chunk.chunk_id)
        if words is None:
            if len(self._words) > WORD_CACHE:
                self._words.clear()
            words = self._words[chunk.chunk_id] = frozenset(tokenize(chunk.text))
        return words


def collapse_duplicates(ranked: list[str], chunks: dict[str, StoredChunk],
                        words: WordSets) -> list[str]:
    """Drop chunks whose text repeats one ranked higher (same file ingested twice, copies)."""
    kept, seen_hash, seen_sets = [], set(), []
    for cid in ranked:
        h = chunks[cid].metadata.get("chunk_hash")
        these = words.of(chunks[cid])
        # Jaccard is at most the ratio of the two sizes: most pairs need no intersection.
        n = len(these)
        if h in seen_hash or any(min(n, len(s)) > DUPLICATE * max(n, len(s))
                                 and jaccard(these, s) > DUPLICATE for s in seen_sets):
            continue
        seen_hash.add(h)
        seen_sets.append(these)
        kept.append(cid)
    return kept


def diversify(ranked: list[str], fused: dict[str, float], chunks: dict[str, StoredChunk],
              k: int, lam: float, words: WordSets) -> list[str]:
    """Maximal marginal relevance, where similarity is sharing a document or many words."""
    if not ranked:
        return []
    top = fused[ranked[0]]
    sets = {c: words.of(chunks[c]) for c in ranked}
    chosen: list[str] = []
    pool = list(ranked)
    nearest = dict.fromkeys(ranked, 0.0)  # each candidate's similarity to the nearest chosen
    while pool and len(chosen) < k:
        best = max(pool, key=lambda c: lam * fused[c] / top - (1 - lam) * nearest[c])
        chosen.append(best)
        pool.remove(best)
        doc = chunks[best].metadata.get("doc_id")
        for c in pool:  # only the newly chosen can bring a candidate's nearest closer
            sim = (SAME_DOCUMENT * (chunks[c].metadata.get("doc_id") == doc)
                   + (1 - SAME_DOCUMENT) * jaccard(sets[c], sets[best]))
            nearest[c] = max(nearest[c], sim)
    return chosen


def lift_documents(fused: dict[str, float], chunks: dict[str, StoredChunk],
                   weight: float) -> None:
    """Document-level evidence, in place: a document's best chunk gains `weight` times its
    next best chunk's score (a document of which a second section matches too is more likely
    the one that answers; the lift is at most `weight` times its own score)."""
    if not weight:
        return
    top: dict[str, list[str]] = {}
    for cid in sorted(fused, key=lambda c: -fused[c]):
        kept = top.setdefault(str(chunks[cid].metadata.get("doc_id", "")), [])
        if len(kept) < 2:
            kept.append(cid)
    for best, *second in top.values():
        if second:
            fused[best] += weight * fused[second[0]]


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
