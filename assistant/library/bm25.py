"""Keyword search: BM25 over the stored chunks, with a real tokenizer.

Built from the committed chunks in the store and cached on disk under the library's version,
so it stays in step with ingest (a removed document is gone from both) and loads fast.
"""

from __future__ import annotations

import math
import pickle
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.library.store import StoredChunk

STOPWORDS = frozenset("""
a an and are as at be been being but by can could did do does doing for from had has have having
he her here hers him his how i if in into is it its itself me my of on or our ours she should so
some such than that the their theirs them then there these they this those through to too under
until up us very was we were what when where which while who whom why will with would you your
yours about above after again against all am any because before below between both during each
few further just more most no nor not now only other over own same shall may might must also
""".split())
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
SUFFIXES = ("ational", "ization", "fulness", "iveness", "ations", "ation", "ments", "ment",
            "ness", "ings", "ing", "ies", "ied", "ers", "er", "ed", "ly", "es", "s")


def stem(word: str) -> str:
    """A light suffix-stripping stemmer: 'shutdowns' ~ 'shutdown', 'surveilling' ~ 'surveil'."""
    if len(word) <= 4 or word.isdigit():
        return word
    for suf in SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            base = word[: -len(suf)]
            if suf in ("ies", "ied"):
                return base + "y"
            if suf in ("s", "es") and base.endswith("s"):
                return word[:-1] if suf == "s" else base
            return base
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, punctuation-free, stop words dropped, stemmed."""
    words = TOKEN.findall(text.lower().replace("\u2019", "'"))
    return [stem(w.split("'")[0]) for w in words if w not in STOPWORDS and len(w) > 1]


@dataclass(frozen=True)
class KeywordHit:
    index: int
    score: float


class KeywordIndex:
    """An inverted index with BM25 scoring (k1=1.2, b=0.75) over a fixed list of chunks."""

    def __init__(self, chunks: list[StoredChunk], k1: float = 1.2, b: float = 0.75):
        self.chunks = chunks
        self.k1, self.b = k1, b
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths = np.zeros(len(chunks), dtype=np.float32)
        for i, ch in enumerate(chunks):
            meta = ch.metadata
            text = f"{meta.get('title', '')} {meta.get('heading_path', '')} {ch.text}"
            counts = Counter(tokenize(text))
            lengths[i] = sum(counts.values())
            for term, tf in counts.items():
                postings[term].append((i, tf))
        self.lengths = lengths
        self.avg = float(lengths.mean()) if len(chunks) else 1.0
        n = len(chunks)
        self.postings = {
            t: (np.array([d for d, _ in p], dtype=np.int32), np.array([f for _, f in p], np.float32),
                math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)))
            for t, p in postings.items()
        }
        self.doc_ids = np.array([c.metadata.get("doc_id", "") for c in chunks], dtype=object)

    def __len__(self) -> int:
        return len(self.chunks)

    def search(self, query: str, n: int, allowed_docs: Iterable[str] | None = None) -> list[KeywordHit]:
        scores = np.zeros(len(self.chunks), dtype=np.float32)
        norm = self.k1 * (1 - self.b + self.b * self.lengths / max(self.avg, 1e-9))
        for term in set(tokenize(query)):
            if term not in self.postings:
                continue
            docs, tfs, idf = self.postings[term]
            scores[docs] += idf * tfs * (self.k1 + 1) / (tfs + norm[docs])
        if allowed_docs is not None:
            mask = np.isin(self.doc_ids, list(allowed_docs))
            scores = np.where(mask, scores, 0.0)
        if not scores.any():
            return []
        top = np.argsort(-scores)[:n]
        return [KeywordHit(int(i), float(scores[i])) for i in top if scores[i] > 0]


def load_or_build(cache_dir: Path, version: str, chunks_fn) -> KeywordIndex:
    """The index for this library version from the cache, or built anew and cached."""
    path = cache_dir / "keyword-index.pkl"
    try:
        with open(path, "rb") as fh:
            cached_version, index = pickle.load(fh)
        if cached_version == version:
            return index
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, AttributeError):
        pass  # missing or from another version of the code: rebuild
    index = KeywordIndex(list(chunks_fn()))
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump((version, index), fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)  # atomic: a reader never sees half a file
    return index
