"""Hybrid retrieval: dense (Chroma), BM25 and section questions, fused by reciprocal rank,
ranked by section, de-duplicated, diversified; and whether the library covers the question.

The question is searched with its shorthand spelt out (`assistant.library.shorthand`: "govt",
"LI", "cut mobile data"). Three ranked lists are fused: the chunks nearest the question's
vector, the best BM25 chunks, and the chunks of the sections whose declared questions (front
matter `questions`) are nearest the question; a fourth ranks those candidates by their
sentence nearest the question. A document of which two sections score has its best one lifted.
The section, not the chunk, is what answers: the best chunk of a top-level section stands for
it (the composer reads the section whole).
For a dilemma or a how-to question a case study's actions rank above its narrative, any
document's `In short` below its other sections (the composer reads it anyway), and the
sections a well-ranked document declares it applies (front matter `applies`, see
`assistant.library.links`) join the candidates. A question is declined unless a relevance
score clears a bar: the best similarity, the nearest section question's similarity and the
best documents' coverage of the question's rarer words, weighted (`KEY_WEIGHT`,
`COVERAGE_WEIGHT`), so a near-domain question ("transfer pricing") is not answered from a
passage that shares one word with it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from assistant.answer import Passage
from assistant.library.bm25 import KeywordIndex
from assistant.library.chunk_table import load
from assistant.library.diversity import WordSets, collapse_duplicates, diversify, lift_documents
from assistant.library.embedder import MiniLMEmbeddings
from assistant.library.links import add_linked
from assistant.library.sections import (
    ACTION,
    BOTTOM_LINE,
    CHECKLIST,
    CHECKLIST_HEADING,
    NARRATIVE,
    SectionMap,
    checklist_items,
    read_library,
    section_key,
    to_passage,
)
from assistant.library.sentence_rank import SentenceRanker
from assistant.library.sentence_vectors import ChunkText, SentenceIndex
from assistant.library.shorthand import spelt_out
from assistant.library.store import DocumentRecord, LibraryStore, StoredChunk
from assistant.question import question_type, wants_action
from assistant.settings import RetrievalSettings

__all__ = ["CHECKLIST_HEADING", "Filters", "HybridRetriever", "Retrieval", "checklist_items",
           "to_passage"]

# A case study's sections, for dilemmas and how-tos: its actions above its story.
CASE_ACTION_WEIGHTS = {ACTION: 1.25, NARRATIVE: 0.7}
# Any document's `In short`, for dilemmas and how-tos: the composer takes the bottom line from
# it whether or not it is retrieved, so its place in the top passages goes to the section that
# says what to do. Chosen 2026-12-02 on the tune half (0.7, 0.5, 0.3): dilemmas 0.749 -> 0.784,
# factual questions unchanged; held-back dilemmas 0.762 -> 0.790 (evals/README.md).
IN_SHORT_ACTION_WEIGHT = 0.5
KEY_FLOOR = 0.3  # section questions less similar than this are not candidates
# A checklist is offered when the best document holds this many of the three best passages.
# Chosen on the golden set's tune half (2026-12-01): fit 0.87 -> 0.94, on fewer answers.
CHECKLIST_HOLD = 2
# The relevance score: dense similarity + these weights times the nearest section question's
# similarity (or the passage's, if higher) and the best documents' coverage of the question's
# terms. Fitted (logistic
# regression) on the golden set's tune half, 2026-12-01; see evals/README.md.
KEY_WEIGHT, COVERAGE_WEIGHT = 2.8, 2.4
# How much each ranked list counts in the fusion: dense chunks, BM25 chunks, section questions,
# and the candidates ranked by their nearest sentence (`assistant.library.sentence_rank`, the
# same weight as the other vector lists; added 2026-12-01, see evals/README.md).
# Chosen on the golden set's tune half (2026-12-01, with HRDD_RRF_K 20, HRDD_MMR_LAMBDA 0.9):
# the policy terms dilemmas share with the guidance make BM25's ranking the more precise one.
LIST_WEIGHTS = {"dense": 1.0, "keyword": 2.0, "questions": 1.0, "sentences": 1.0}
# Document-level evidence: a document's best candidate gains this share of its second best's
# score (`diversity.lift_documents`). Tune half (2026-12-01, late): recall@5 0.875 at 0.25, 0.872 at
# 0.5 (MRR 0.860 and 0.868), 0.854 at 1.0; evals/README.md.
DOC_LIFT = 0.5


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
    best_key: float = 0.0  # similarity of the nearest section question
    coverage: float = 0.0  # share of the question's term weight the best documents hold
    kind: str = ""  # the question's type (assistant.question)


class HybridRetriever:
    """Finds the passages of the library that bear on a question."""

    def __init__(self, store: LibraryStore, embedder: MiniLMEmbeddings, s: RetrievalSettings,
                 cache_dir, sentences: SentenceIndex | None = None):
        self.store = store
        self.embedder = embedder
        self.s = s
        self.cache_dir = cache_dir
        self.sentences = sentences or SentenceIndex(cache_dir, embedder)
        self._version = ""
        self._docs: dict[str, DocumentRecord] = {}
        self._index: KeywordIndex | None = None
        self._sections: SectionMap | None = None
        self._keys = np.zeros((0, 1), np.float32)  # section-question vectors
        self._key_chunk = np.zeros(0, np.int32)  # the chunk each question vector points at
        self._words = WordSets()
        self._by_sentence = SentenceRanker(self.sentences)

    def refresh(self) -> None:
        """Re-read the library if ingest changed it since the last call."""
        version = self.store.version()
        if version == self._version and self._index is not None:
            return
        self._docs = {d.doc_id: d for d in self.store.documents()}
        self._index, self._sections, asked = read_library(
            self.store, self.cache_dir, f"{self.store.name}:{version}")
        self._load_keys(asked)
        self._version = version
        self._words.clear()
        self._by_sentence.clear()

    def _load_keys(self, by_doc: dict[str, list[tuple[int, ChunkText]]]) -> None:
        mats, owners = [], []
        for doc_hash, asked in by_doc.items():
            vectors = self.sentences.question_vectors(doc_hash, [t for _, t in asked])
            for i, t in asked:
                q = vectors[t.key]
                mats.append(q)
                owners += [i] * len(q)
        dim = self.embedder.dimension
        self._keys = np.concatenate(mats) if mats else np.zeros((0, dim), np.float32)
        self._key_chunk = np.array(owners, dtype=np.int32)

    @property
    def index(self) -> KeywordIndex:
        self.refresh()
        return self._index

    @property
    def sections(self) -> SectionMap:
        self.refresh()
        return self._sections

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
        words = spelt_out(query)
        # The shorthand spelt out serves every list and the composer: "LI" means nothing to
        # the embedding model, "lawful interception" does.
        vector = self.embedder.embed_query(words)
        t2 = time.perf_counter()
        dense = self.store.query(vector, self.s.candidates, allowed)
        t3 = time.perf_counter()
        kw_hits = self._index.search(words, self.s.candidates, allowed)
        key_hits = self._key_search(vector, allowed)
        t4 = time.perf_counter()
        t.update(refresh=t1 - t0, embed_query=t2 - t1, dense=t3 - t2, keyword=t4 - t3)

        kind = question_type(query)
        fused: dict[str, float] = {}
        chunks: dict[str, StoredChunk] = {}
        dense_of: dict[str, float] = {}
        kw_of: dict[str, float] = {}

        def add(rank: int, ch: StoredChunk, weight: float) -> None:
            fused[ch.chunk_id] = fused.get(ch.chunk_id, 0) + weight / (self.s.rrf_k + rank + 1)
            chunks.setdefault(ch.chunk_id, ch)

        for rank, ch in enumerate(dense):
            add(rank, ch, LIST_WEIGHTS["dense"])
            dense_of[ch.chunk_id] = ch.similarity
        for rank, hit in enumerate(kw_hits):
            add(rank, self._index.chunks[hit.index], LIST_WEIGHTS["keyword"])
            kw_of[self._index.chunks[hit.index].chunk_id] = hit.score
        for rank, (i, _) in enumerate(key_hits):
            add(rank, self._index.chunks[i], LIST_WEIGHTS["questions"])
        if LIST_WEIGHTS["sentences"]:
            for rank, cid in enumerate(self._by_sentence.rank(vector, chunks)):
                add(rank, chunks[cid], LIST_WEIGHTS["sentences"])
        self._weigh_sections(fused, chunks, kind)
        lift_documents(fused, chunks, DOC_LIFT)
        if wants_action(kind):  # a dilemma or a how-to: the guidance a case applies
            add_linked(fused, chunks, self._sections, allowed)
        ranked = sorted(fused, key=lambda c: -fused[c])
        ranked = self._one_per_section(collapse_duplicates(ranked, chunks, self._words), chunks)
        chosen = diversify(ranked, fused, chunks, k, self.s.mmr_lambda, self._words)
        t["fuse"] = time.perf_counter() - t4
        passages = [to_passage(chunks[c], fused[c], dense_of.get(c), kw_of.get(c)) for c in chosen]
        best_dense = max(dense_of.values(), default=0.0)
        best_kw = max(kw_of.values(), default=0.0)
        best_key = max((s for _, s in key_hits), default=0.0)
        coverage = self._sections.coverage(words, passages, self._index.idf_of)
        close = max(best_dense, best_key) >= self.s.min_dense or (
            best_kw >= self.s.min_keyword and best_dense >= self.s.min_dense - 0.05)
        # A document without section questions (a company's own PDF) is judged on its passage.
        nearest = max(best_key, best_dense)
        relevance = best_dense + KEY_WEIGHT * nearest + COVERAGE_WEIGHT * coverage
        relevant = close and relevance >= self.s.min_relevance
        weak = relevant and best_dense < self.s.weak_match
        return Retrieval(passages, relevant, best_dense, best_kw, t, vector, weak,
                         best_key=best_key, coverage=coverage, kind=kind)

    def _key_search(self, vector, allowed: list[str] | None) -> list[tuple[int, float]]:
        """Chunks whose section questions are nearest the question: (chunk index, similarity)."""
        if not len(self._keys):
            return []
        sims = self._keys @ np.asarray(vector, dtype=np.float32)
        best: dict[int, float] = {}
        for j in np.argsort(-sims)[: self.s.candidates * 4]:
            if sims[j] < KEY_FLOOR:
                break
            i = int(self._key_chunk[j])
            if allowed is not None and self._index.doc_of(i) not in allowed:
                continue
            best[i] = max(best.get(i, 0.0), float(sims[j]))
        hits = sorted(best.items(), key=lambda x: -x[1])[: self.s.candidates]
        load(self._index.chunks, [i for i, _ in hits])  # the caller reads them: one store read
        return hits

    def _weigh_sections(self, fused: dict[str, float], chunks: dict[str, StoredChunk],
                        kind: str) -> None:
        """Case studies rank below guidance, and for a dilemma or a how-to a case's actions
        rank above its story and a document's `In short` below its other sections."""
        action = wants_action(kind)
        for cid, ch in chunks.items():
            role = self._role_of(ch) if action else None
            if ch.metadata.get("kind") == "case-study":
                fused[cid] *= self.s.case_study_weight
                if action:
                    fused[cid] *= CASE_ACTION_WEIGHTS.get(role, 1.0)
            if role == BOTTOM_LINE:
                fused[cid] *= IN_SHORT_ACTION_WEIGHT

    def _role_of(self, chunk: StoredChunk) -> str | None:
        section = self._sections.of(chunk.metadata)
        return section.role if section else None

    @staticmethod
    def _one_per_section(ranked: list[str], chunks: dict[str, StoredChunk]) -> list[str]:
        """The best chunk of each section only: the composer reads the section whole, and a
        section's other chunks would crowd other documents out of the list."""
        seen, kept = set(), []
        for cid in ranked:
            key = section_key(chunks[cid].metadata)
            if key[1] and key in seen:
                continue
            seen.add(key)
            kept.append(cid)
        return kept

    # ----- the checklist that fits a question
    def checklist(self, found: Retrieval, filters: Filters = Filters()
                  ) -> tuple[Passage, list[tuple[int, int]]] | None:
        """The 'Questions to work through' list of the document that answers the question.

        Only the best-ranked document qualifies, and only when it holds most of the best
        passages (`CHECKLIST_HOLD` of the first three): a document that merely ranks first
        among several is often not the question's topic, and a checklist is never borrowed
        from an unrelated document.
        """
        if not found.passages:
            return None
        allowed = self.allowed(filters)
        top = [p.doc_id for p in found.passages[:3]]
        doc_id = top[0]
        if top.count(doc_id) < CHECKLIST_HOLD or (allowed is not None and doc_id not in allowed):
            return None
        for section in self.sections.with_role(doc_id, CHECKLIST):
            for passage in self.sections.passages(section):
                items = checklist_items(passage.text)
                if len(items) >= 3:
                    return passage, items
        return None
