"""Keyword search: BM25 over the stored chunks, with a Snowball stemmer.

Built from the committed chunks in the store and cached on disk under the library's version,
so it stays in step with ingest (a removed document is gone from both) and loads fast. The
cache is plain arrays (`numpy` with pickling refused) and JSON: a file planted in the data
folder cannot run code when it is loaded. The cache is an optimisation only: when it cannot be
read it is rebuilt, and when it cannot be written (a full disk) the index still serves from
memory.

A chunk's section questions (front matter `questions`, see corpus/README.md) are indexed with
its text: they are the words users type for what the section says.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import Stemmer  # PyStemmer: the Snowball stemmers, a C extension with no data to download

from assistant.library.chunk_table import ChunkTable, Reader
from assistant.library.chunk_table import load as load_chunks
from assistant.library.spelling import nearest
from assistant.library.store import StoredChunk

log = logging.getLogger(__name__)

STOPWORDS = frozenset("""
a an and are as at be been being but by can could did do does doing for from had has have having
he her here hers him his how i if in into is it its itself me my of on or our ours she should so
some such than that the their theirs them then there these they this those through to too under
until up us very was we were what when where which while who whom why will with would you your
yours about above after again against all am any because before below between both during each
few further just more most no nor not now only other over own same shall may might must also
""".split())
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STEMMER = Stemmer.Stemmer("english")
SPELLING = True  # read a misspelt query word as the library term one slip away
CACHE_FORMAT = 2  # bump when the analyser or the arrays change: older caches are rebuilt


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball (Porter 2) stem: 'principles' ~ 'principle' ~ 'principl', 'laws' ~ 'law'."""
    return _STEMMER.stemWord(word)


def tokenize(text: str) -> list[str]:
    """Lower-cased, punctuation-free, stop words dropped, stemmed."""
    words = TOKEN.findall(text.lower().replace("\u2019", "'"))
    return [stem(w.split("'")[0]) for w in words if w not in STOPWORDS and len(w) > 1]


def indexed_text(chunk: StoredChunk) -> str:
    """What BM25 sees of a chunk: title, heading path, section questions and the text."""
    return f"{chunk.metadata.get('title', '')} {body_text(chunk)}"


def body_text(chunk: StoredChunk) -> str:
    """A chunk's heading path, section questions and text: its terms are the ones its
    document is said to cover (`sections.SectionMap.coverage`)."""
    m = chunk.metadata
    return f"{m.get('heading_path', '')} {m.get('questions', '')} {chunk.text}"


def best_first(scores: np.ndarray, n: int) -> np.ndarray:
    """The indices of the n highest positive scores, highest first (ties by index).

    Only the scored entries are ranked, and only the best n of them sorted: at a million
    chunks a full sort of the score array cost more than the scoring itself.
    """
    scored = np.flatnonzero(scores > 0)
    if n <= 0:
        return scored[:0]
    if len(scored) > n:
        values = scores[scored]
        nth = -np.partition(-values, n - 1)[n - 1]  # the n-th best score
        above = scored[values > nth]
        scored = np.concatenate([above, scored[values == nth][: n - len(above)]])
    return scored[np.lexsort((scored, -scores[scored]))]


@dataclass(frozen=True)
class KeywordHit:
    index: int
    score: float


class KeywordIndex:
    """An inverted index with BM25 scoring (k1=1.2, b=0.75) over a fixed list of chunks.

    Postings are compressed-row arrays: term t's chunks are `docs[offsets[t]:offsets[t+1]]`.
    """

    def __init__(self, chunks: list[StoredChunk], k1: float = 1.2, b: float = 0.75,
                 arrays: dict | None = None):
        self.chunks = chunks
        self.k1, self.b = k1, b
        a = arrays if arrays is not None else _build(chunks)
        self.terms: dict[str, int] = a["terms"]
        self.offsets, self.docs, self.tfs = a["offsets"], a["docs"], a["tfs"]
        self.lengths = a["lengths"]
        n = len(chunks)
        df = np.diff(self.offsets).astype(np.float32)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.avg = float(self.lengths.mean()) if n else 1.0
        self._norm = self.k1 * (1 - self.b + self.b * self.lengths / max(self.avg, 1e-9))
        # Each chunk's document as a small integer (an array of a million strings as Python
        # objects would cost some 60 MB and make filtering by document slow).
        if isinstance(chunks, ChunkTable):
            self._doc_of, self._doc_names = chunks.doc_codes, chunks.doc_names
        else:
            codes: dict[str, int] = {}
            self._doc_of = np.fromiter((codes.setdefault(c.metadata.get("doc_id", ""),
                                                         len(codes)) for c in chunks),
                                       dtype=np.int32, count=n)
            self._doc_names = list(codes)

    def __len__(self) -> int:
        return len(self.chunks)

    def chunk_ids(self) -> list[str]:
        if isinstance(self.chunks, ChunkTable):
            return self.chunks.chunk_ids
        return [c.chunk_id for c in self.chunks]

    def doc_of(self, i: int) -> str:
        """The document chunk `i` belongs to (without reading the chunk)."""
        return self._doc_names[self._doc_of[i]]

    def idf_of(self, term: str) -> float:
        """How rare a (stemmed) term is in the library; a term the library lacks is rarest."""
        i = self.terms.get(term)
        n = len(self.chunks)
        return float(self.idf[i]) if i is not None else math.log(1 + (n + 0.5) / 0.5)

    def frequency(self, term: str) -> int:
        """How many chunks hold a (stemmed) term."""
        t = self.terms.get(term)
        return 0 if t is None else int(self.offsets[t + 1] - self.offsets[t])

    def query_terms(self, query: str) -> set[str]:
        """The query's terms, and for a misspelt word the library term one slip away
        (`assistant.library.spelling`)."""
        terms = set(tokenize(query))
        if SPELLING:
            for word in TOKEN.findall(query.lower()):
                if word not in STOPWORDS and (near := nearest(word, stem, self.frequency)):
                    terms.add(near)
        return terms

    def search(self, query: str, n: int, allowed_docs: Iterable[str] | None = None) -> list[KeywordHit]:
        scores = np.zeros(len(self.chunks), dtype=np.float32)
        norm = self._norm
        # In a fixed order: float sums in set order (which changes with PYTHONHASHSEED from one
        # process to the next) could swap two near-equal chunks between runs.
        for term in sorted(self.query_terms(query)):
            t = self.terms.get(term)
            if t is None:
                continue
            lo, hi = self.offsets[t], self.offsets[t + 1]
            docs, tfs = self.docs[lo:hi], self.tfs[lo:hi]
            scores[docs] += self.idf[t] * tfs * (self.k1 + 1) / (tfs + norm[docs])
        if allowed_docs is not None:
            allowed = set(allowed_docs)
            keep = np.array([d in allowed for d in self._doc_names], dtype=bool)
            scores = np.where(keep[self._doc_of], scores, 0.0)
        hits = [KeywordHit(int(i), float(scores[i])) for i in best_first(scores, n)]
        if not hits:
            return []
        load_chunks(self.chunks, [h.index for h in hits])  # the caller reads them: one store read
        return hits


def _build(chunks: list[StoredChunk]) -> dict:
    return build_arrays(indexed_text(ch) for ch in chunks)


def build_arrays(texts: Iterable[str]) -> dict:
    """The compressed-row postings of these texts (one per chunk, in order)."""
    postings = Postings()
    for text in texts:
        postings.add(text)
    return postings.arrays()


class Postings:
    """Postings gathered one chunk at a time, so the texts need not be held.

    They go straight into flat arrays (term id, chunk, count), about 12 bytes each, then
    one stable sort by term groups them: a term's chunks stay in ascending order, as a dict
    of per-term lists would give them, at a tenth of the memory (a million chunks make some
    70 million postings). Term ids are given in order of first appearance.
    """

    def __init__(self):
        self.terms: dict[str, int] = {}
        self._term_ids, self._docs, self._tfs = array("i"), array("i"), array("f")
        self._lengths = array("f")

    def add(self, text: str) -> None:
        self.add_terms(tokenize(text))

    def add_terms(self, terms: list[str]) -> None:
        counts = Counter(terms)
        i = len(self._lengths)
        self._lengths.append(sum(counts.values()))
        for term, tf in counts.items():
            self._term_ids.append(self.terms.setdefault(term, len(self.terms)))
            self._docs.append(i)
            self._tfs.append(tf)

    def arrays(self) -> dict:
        terms = self.terms
        t = np.frombuffer(self._term_ids, dtype=np.int32)
        order = np.argsort(t, kind="stable")
        offsets = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(t, minlength=len(terms)), out=offsets[1:])
        return {"terms": terms, "offsets": offsets,
                "docs": np.frombuffer(self._docs, dtype=np.int32)[order],
                "tfs": np.frombuffer(self._tfs, dtype=np.float32)[order],
                "lengths": np.frombuffer(self._lengths, dtype=np.float32).copy()}


def load_or_build(cache_dir: Path, version: str, chunks_fn) -> KeywordIndex:
    """The index for this library version from the cache, or built anew and cached."""
    chunks = list(chunks_fn())
    cached = _load(cache_dir, version)
    if cached is not None and cached[1] == [c.chunk_id for c in chunks]:
        return KeywordIndex(chunks, arrays=cached[0])
    index = KeywordIndex(chunks)
    _save(cache_dir, version, index)
    return index


def read_table(cache_dir: Path, version: str, chunks_fn, reader: Reader,
               visit=lambda i, ch, terms: None) -> KeywordIndex:
    """The index over a `ChunkTable` of the library (texts read by id, not held), built in
    the same pass over `chunks_fn()` that reads the table and calls `visit(i, chunk, terms)`
    (`terms`: those of `body_text(chunk)`), unless the cache holds this version; a cache that
    turns out stale costs a second pass."""
    cached = _load(cache_dir, version)
    postings = Postings() if cached is None else None

    def each(i: int, ch: StoredChunk) -> None:
        terms = tokenize(body_text(ch))  # once for both: BM25 adds the title's
        visit(i, ch, terms)
        if postings is not None:
            postings.add_terms(tokenize(ch.metadata.get("title", "")) + terms)

    table = ChunkTable.read(chunks_fn(), reader, each)
    if cached is not None and cached[1] == table.chunk_ids:
        return KeywordIndex(table, arrays=cached[0])
    if postings is None:
        postings = Postings()
        for ch in chunks_fn():
            postings.add(indexed_text(ch))
    index = KeywordIndex(table, arrays=postings.arrays())
    _save(cache_dir, version, index)
    return index


def _paths(cache_dir: Path) -> tuple[Path, Path]:
    return cache_dir / "keyword-index.npz", cache_dir / "keyword-index.json"


def _load(cache_dir: Path, version: str) -> tuple[dict, list[str]] | None:
    """The cached arrays of this version, and the chunk ids they were built over."""
    arrays_path, meta_path = _paths(cache_dir)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if (meta.get("format") != CACHE_FORMAT or meta.get("version") != version
                or not isinstance(meta.get("chunk_ids"), list)):
            return None
        with np.load(arrays_path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("offsets", "docs", "tfs", "lengths")}
        arrays["terms"] = {t: i for i, t in enumerate(meta["terms"])}
        if len(arrays["offsets"]) != len(meta["terms"]) + 1:
            return None
        return arrays, meta["chunk_ids"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, damaged or from another version of the code: rebuild


def _save(cache_dir: Path, version: str, index: KeywordIndex) -> None:
    """Write the cache (arrays first, then the JSON that names them); failure is not fatal."""
    arrays_path, meta_path = _paths(cache_dir)
    tmp_arrays = arrays_path.with_name("keyword-index.tmp.npz")
    tmp_meta = meta_path.with_suffix(".json.tmp")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.savez(tmp_arrays, offsets=index.offsets, docs=index.docs, tfs=index.tfs,
                 lengths=index.lengths)
        tmp_meta.write_text(json.dumps({
            "format": CACHE_FORMAT, "version": version,
            "chunk_ids": index.chunk_ids(),
            "terms": sorted(index.terms, key=index.terms.get)}), encoding="utf-8")
        os.replace(tmp_arrays, arrays_path)
        os.replace(tmp_meta, meta_path)  # atomic: a reader never sees half a file
    except OSError as e:
        for tmp in (tmp_arrays, tmp_meta):
            _remove(tmp)
        log.warning("The keyword-index cache could not be written to %s (%s); the index is "
                    "kept in memory and rebuilt at the next start.", cache_dir,
                    e.strerror or e)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # its folder is gone or not a folder: nothing was left there
