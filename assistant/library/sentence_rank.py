"""The candidates ranked by their sentence nearest the question: a ranked list of its own.

A chunk's vector is the mean of a few hundred words, so a chunk with one sentence that answers
the question and four that do not sits low in the dense list. The sentence vectors the
composer uses (computed at ingest, `assistant.library.sentence_vectors`) rank the candidates
the other lists found by their best sentence: no new candidates, no section questions, so the
list does not depend on who wrote a document's search keys. A chunk whose sentences were not
encoded at ingest is left out of this list rather than encoded while the user waits.
"""

from __future__ import annotations

import numpy as np

from assistant.library.sentence_vectors import SentenceIndex
from assistant.library.sentences import sentence_spans
from assistant.library.store import StoredChunk

MATRIX_CACHE = 20_000  # chunks whose sentence vectors are kept between queries (1.5 KB a row)


class SentenceRanker:
    def __init__(self, sentences: SentenceIndex):
        self.sentences = sentences
        self._rows: dict[str, np.ndarray] = {}

    def clear(self) -> None:
        self._rows = {}

    def rows(self, chunk: StoredChunk) -> np.ndarray:
        """A chunk's sentence vectors, one row each (none for a chunk without a sentence, or
        whose sentences were not encoded at ingest)."""
        rows = self._rows.get(chunk.chunk_id)
        if rows is None:
            if len(self._rows) > MATRIX_CACHE:
                self._rows.clear()
            texts = [chunk.text[a:b] for a, b in sentence_spans(chunk.text)]
            rows = self.sentences.stored_vectors(str(chunk.metadata.get("doc_hash", "")), texts)
            if rows is None:  # not encoded at ingest: left out, never encoded at query time
                rows = np.zeros((0, 1), np.float32)
            self._rows[chunk.chunk_id] = rows
        return rows

    def rank(self, vector: np.ndarray, chunks: dict[str, StoredChunk]) -> list[str]:
        """The chunk ids, nearest sentence first (one product over all their sentences)."""
        ids, mats = [], []
        for cid, ch in chunks.items():
            rows = self.rows(ch)
            if len(rows):
                ids.append(cid)
                mats.append(rows)
        if not ids:
            return []
        sims = np.concatenate(mats) @ np.asarray(vector, dtype=np.float32)
        starts = np.cumsum([0] + [len(m) for m in mats[:-1]])
        best = np.maximum.reduceat(sims, starts)
        return [ids[i] for i in np.argsort(-best, kind="stable")]
