"""Hybrid retrieval: dense (Chroma) plus BM25, fused by reciprocal rank, de-duplicated, diversified."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

from assistant.answer import Passage
from assistant.library.bm25 import KeywordIndex, load_or_build, tokenize
from assistant.library.embedder import MiniLMEmbeddings
from assistant.library.store import DocumentRecord, LibraryStore, StoredChunk
from assistant.settings import RetrievalSettings

# In diversification, how much a passage resembles one already chosen because it comes from
# the same document (the rest is shared words).
SAME_DOCUMENT = 0.7
CHECKLIST_HEADING = "Questions to work through"  # the corpus convention for a checklist section
WORD_CACHE = 50_000  # chunks whose word sets are kept between queries (a few tens of MB)


@dataclass(frozen=True)
class Filters:
    kinds: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.kinds or self.topics or self.doc_ids)


@dataclass
class Retrieval:
    passages: list[Passage]
    relevant: bool
    best_dense: float
    best_keyword: float
    timings: dict[str, float] = field(default_factory=dict)
    vector: list[float] = field(default_factory=list)
    weak: bool = False  # relevant, but only just: the closest passages may not address it


def checklist_items(text: str) -> list[tuple[int, int]]:
    """Offsets of the questions in a 'Questions to work through' list (marker excluded)."""
    items = []
    for m in re.finditer(r"^[ \t]*(?:\d{1,2}[.)]|[-*•])[ \t]+(.+?)[ \t]*$", text, re.M):
        if m.group(1).rstrip().endswith("?"):
            items.append((m.start(1), m.end(1)))
    return items


def to_passage(ch: StoredChunk, score: float, dense: float | None, kw: float | None) -> Passage:
    m = ch.metadata
    return Passage(
        chunk_id=ch.chunk_id, doc_id=m.get("doc_id", ""), title=m.get("title", ""),
        kind=m.get("kind", ""), text=ch.text, page=m.get("page"), section=m.get("section"),
        start=int(m.get("start", 0)), end=int(m.get("end", 0)), score=score, dense_score=dense,
        keyword_score=kw, source=m.get("source", ""), context=m.get("heading_path", ""),
    )


class HybridRetriever:
    """Finds the passages of the library that bear on a question."""

    def __init__(self, store: LibraryStore, embedder: MiniLMEmbeddings, s: RetrievalSettings,
                 cache_dir):
        self.store = store
        self.embedder = embedder
        self.s = s
        self.cache_dir = cache_dir
        self._version = ""
        self._docs: dict[str, DocumentRecord] = {}
        self._index: KeywordIndex | None = None
        # Word sets of chunks seen by recent queries: de-duplication and diversification compare
        # them, and tokenising 60 candidates twice a query was the largest part of fusing.
        self._words: dict[str, frozenset[str]] = {}

    def refresh(self) -> None:
        """Re-read the library if ingest changed it since the last call."""
        version = self.store.version()
        if version == self._version and self._index is not None:
            return
        self._docs = {d.doc_id: d for d in self.store.documents()}
        self._index = load_or_build(self.cache_dir, f"{self.store.name}:{version}",
                                    self.store.committed_chunks)
        self._version = version
        self._words = {}

    @property
    def index(self) -> KeywordIndex:
        self.refresh()
        return self._index

    @property
    def documents(self) -> dict[str, DocumentRecord]:
        self.refresh()
        return self._docs

    def allowed(self, f: Filters) -> list[str] | None:
        if not f:
            return None
        return [d.doc_id for d in self.documents.values()
                if (not f.kinds or d.kind in f.kinds)
                and (not f.topics or set(f.topics) & set(d.topics))
                and (not f.doc_ids or d.doc_id in f.doc_ids)]

    def retrieve(self, query: str, k: int | None = None, filters: Filters = Filters()) -> Retrieval:
        k = k or self.s.k
        t = {}
        t0 = time.perf_counter()
        self.refresh()
        allowed = self.allowed(filters)
        t1 = time.perf_counter()
        vector = self.embedder.embed_query(query)
        t2 = time.perf_counter()
        dense = self.store.query(vector, self.s.candidates, allowed)
        t3 = time.perf_counter()
        kw_hits = self._index.search(query, self.s.candidates, allowed)
        t4 = time.perf_counter()
        t.update(refresh=t1 - t0, embed_query=t2 - t1, dense=t3 - t2, keyword=t4 - t3)

        fused: dict[str, float] = {}
        chunks: dict[str, StoredChunk] = {}
        dense_of: dict[str, float] = {}
        kw_of: dict[str, float] = {}
        for rank, ch in enumerate(dense):
            fused[ch.chunk_id] = fused.get(ch.chunk_id, 0) + 1 / (self.s.rrf_k + rank + 1)
            chunks[ch.chunk_id], dense_of[ch.chunk_id] = ch, ch.similarity
        for rank, hit in enumerate(kw_hits):
            ch = self._index.chunks[hit.index]
            fused[ch.chunk_id] = fused.get(ch.chunk_id, 0) + 1 / (self.s.rrf_k + rank + 1)
            chunks.setdefault(ch.chunk_id, ch)
            kw_of[ch.chunk_id] = hit.score
        for cid, ch in chunks.items():
            if ch.metadata.get("kind") == "case-study":
                fused[cid] *= self.s.case_study_weight
        ranked = sorted(fused, key=lambda c: -fused[c])
        ranked = self._collapse_duplicates(ranked, chunks)
        chosen = self._diversify(ranked, fused, chunks, k)
        t["fuse"] = time.perf_counter() - t4
        passages = [to_passage(chunks[c], fused[c], dense_of.get(c), kw_of.get(c)) for c in chosen]
        best_dense = max(dense_of.values(), default=0.0)
        best_kw = max(kw_of.values(), default=0.0)
        relevant = best_dense >= self.s.min_dense or (
            best_kw >= self.s.min_keyword and best_dense >= self.s.min_dense - 0.05)
        weak = relevant and best_dense < self.s.weak_match
        return Retrieval(passages, relevant, best_dense, best_kw, t, vector, weak)

    # ----- the checklist that fits a question
    def checklist(self, found: Retrieval, filters: Filters = Filters()
                  ) -> tuple[Passage, list[tuple[int, int]]] | None:
        """The 'Questions to work through' section that best fits the question, with the
        offsets of its questions; None if none is close enough.

        Candidates are the checklist sections nearest the question (within the filters);
        the document of the best passage comes first, then any retrieved document, then
        documents of kind checklist.
        """
        sections = sorted({str(c.metadata.get("section")) for c in self.index.chunks
                           if CHECKLIST_HEADING.lower() in str(c.metadata.get("section", "")).lower()})
        if not sections or not found.vector or not found.passages:
            return None
        hits = self.store.query(found.vector, 6, self.allowed(filters),
                                where={"section": {"$in": sections}})
        top = found.passages[0].doc_id
        retrieved = {p.doc_id for p in found.passages}
        docs = self.documents

        def fit(hit: StoredChunk) -> float:
            doc_id = hit.metadata.get("doc_id")
            kind = docs[doc_id].kind if doc_id in docs else ""
            return (hit.similarity + 0.1 * (doc_id == top) + 0.05 * (doc_id in retrieved)
                    + 0.03 * (kind == "checklist"))

        for hit in sorted(hits, key=fit, reverse=True):
            if hit.similarity < self.s.min_dense:
                continue
            section = self.section_passage(hit.metadata["doc_id"], hit.metadata["section"])
            items = checklist_items(section.text) if section else []
            if len(items) >= 3:
                return section, items
        return None

    def section_passage(self, doc_id: str, heading: str) -> Passage | None:
        """A whole section of a document, put back together from its chunks."""
        parts = sorted((c for c in self.index.chunks
                        if c.metadata.get("doc_id") == doc_id
                        and c.metadata.get("section") == heading),
                       key=lambda c: c.metadata.get("start", 0))
        if not parts:
            return None
        text, end = parts[0].text, parts[0].metadata["end"]
        for c in parts[1:]:
            start = c.metadata["start"]
            text += c.text[end - start:] if start < end else "\n\n" + c.text
            end = max(end, c.metadata["end"])
        first = to_passage(parts[0], 1.0, None, None)
        return replace(first, text=text, end=first.start + len(text))


    def _words_of(self, chunk: StoredChunk) -> frozenset[str]:
        words = self._words.get(chunk.chunk_id)
        if words is None:
            if len(self._words) > WORD_CACHE:
                self._words.clear()
            words = self._words[chunk.chunk_id] = frozenset(tokenize(chunk.text))
        return words

    def _collapse_duplicates(self, ranked: list[str], chunks: dict[str, StoredChunk]) -> list[str]:
        """Drop chunks whose text repeats one ranked higher (same file ingested twice, copies)."""
        kept, seen_hash, seen_sets = [], set(), []
        for cid in ranked:
            meta = chunks[cid].metadata
            h = meta.get("chunk_hash")
            words = self._words_of(chunks[cid])
            if h in seen_hash or any(_jaccard(words, s) > 0.85 for s in seen_sets):
                continue
            seen_hash.add(h)
            seen_sets.append(words)
            kept.append(cid)
        return kept

    def _diversify(self, ranked: list[str], fused: dict[str, float],
                   chunks: dict[str, StoredChunk], k: int) -> list[str]:
        """Maximal marginal relevance, where similarity is sharing a document or many words."""
        if not ranked:
            return []
        top = fused[ranked[0]]
        lam = self.s.mmr_lambda
        words = {c: self._words_of(chunks[c]) for c in ranked}
        chosen: list[str] = []
        pool = list(ranked)
        while pool and len(chosen) < k:
            def mmr(c: str) -> float:
                sim = max((SAME_DOCUMENT * (chunks[c].metadata.get("doc_id")
                                            == chunks[s].metadata.get("doc_id"))
                           + (1 - SAME_DOCUMENT) * _jaccard(words[c], words[s]) for s in chosen),
                          default=0.0)
                return lam * fused[c] / top - (1 - lam) * sim

            best = max(pool, key=mmr)
            chosen.append(best)
            pool.remove(best)
        return chosen


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
