"""Vectors of the library's sentences and section questions, computed at ingest, kept on disk.

The answer composer ranks sentences by their similarity to the question, and the retriever
matches a question against the questions a section declares it answers. Both need vectors
that would otherwise be computed at question time (about a second on a loaded machine), so
ingest computes them with the chunks and writes one file per document version, named by its
hash. Sentences are keyed by a hash of their text, so a section put back together from several
chunks finds its sentences' vectors too. Files are plain arrays (`numpy`, pickling refused) and
derived data only: a missing or stale entry is computed when first needed, an orphan file is
harmless, and a file that cannot be written (a full disk) only costs time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.library.sentences import sentence_spans

log = logging.getLogger(__name__)

LOADED_DOCUMENTS = 256  # documents whose vectors stay in memory (a few MB each at most)


def text_hash(text: str) -> str:
    """The chunker's `chunk_hash`; also what a sentence's vector is keyed by."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ChunkText:
    """What a chunk contributes: its text and the section questions attached to it."""

    text: str
    questions: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return text_hash(self.text)


def chunk_text(text: str, metadata: dict) -> ChunkText:
    asked = metadata.get("questions") or ""
    return ChunkText(text, tuple(q for q in asked.split("\n") if q.strip()))


@dataclass
class _Document:
    sentences: dict[str, np.ndarray] = field(default_factory=dict)  # sentence hash -> vector
    questions: dict[str, np.ndarray] = field(default_factory=dict)  # chunk hash -> (n, dim)


@dataclass(frozen=True)
class Pending:
    """A document version's sentences and chunks whose vectors are not yet known."""

    doc_hash: str
    doc: _Document
    sentences: list[str]
    questions: list[ChunkText]

    @property
    def texts(self) -> list[str]:
        """What to encode: the sentences, then each chunk's section questions."""
        return self.sentences + [q for c in self.questions for q in c.questions]


class SentenceIndex:
    """Per-document files of sentence and question vectors for one embedding model."""

    def __init__(self, cache_dir: Path, embedder):
        self.embedder = embedder
        self.cache_dir = Path(cache_dir)
        self._loaded: OrderedDict[str, _Document] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        model = hashlib.sha256(self.embedder.model_id.encode()).hexdigest()[:12]
        return self.cache_dir / "sentences" / model

    def pending(self, doc_hash: str, chunks: list[ChunkText]) -> Pending:
        """What a document version's chunks still need encoded: ingest encodes the `texts` of
        a group of documents in one call, then hands each document's vectors to `fill`."""
        texts = [c.text[a:b] for c in chunks for a, b in sentence_spans(c.text)]
        return self._pending(doc_hash, texts, chunks)

    def sentence_vectors(self, doc_hash: str, texts: list[str]) -> np.ndarray:
        """One vector per sentence text, computed (and stored) for any not seen at ingest."""
        doc = self._ensure(doc_hash, texts, [])
        if not texts:
            return np.zeros((0, self.embedder.dimension), np.float32)
        return np.stack([doc.sentences[text_hash(t)] for t in texts])

    def stored_vectors(self, doc_hash: str, texts: list[str]) -> np.ndarray | None:
        """The sentences' vectors if every one is already known (from ingest), else None:
        nothing is computed, so a caller on the query path never waits for the model."""
        pending = self._pending(doc_hash, texts, [])
        if pending.sentences or not texts:
            return None
        self._keep(doc_hash, pending.doc)
        return np.stack([pending.doc.sentences[text_hash(t)] for t in texts])

    def question_vectors(self, doc_hash: str, chunks: list[ChunkText]) -> dict[str, np.ndarray]:
        """For each chunk (by key), the vectors of its section questions."""
        doc = self._ensure(doc_hash, [], chunks)
        return {c.key: doc.questions[c.key] for c in chunks}

    # ----- computing and storing
    def _ensure(self, doc_hash: str, texts: list[str], chunks: list[ChunkText]) -> _Document:
        pending = self._pending(doc_hash, texts, chunks)
        return self.fill(pending, self._encode(pending.texts))

    def _pending(self, doc_hash: str, texts: list[str], chunks: list[ChunkText]) -> Pending:
        with self._lock:
            doc = self._loaded.get(doc_hash)
        if doc is None:
            doc = self._read(doc_hash) or _Document()
        missing_s = list(dict.fromkeys(t for t in texts if text_hash(t) not in doc.sentences))
        missing_q = [c for c in {c.key: c for c in chunks}.values() if c.key not in doc.questions]
        return Pending(doc_hash, doc, missing_s, missing_q)

    def fill(self, pending: Pending, vectors: np.ndarray) -> _Document:
        """Keep (and write) the vectors of `pending.texts`, in that order."""
        doc, missing_s = pending.doc, pending.sentences
        if len(vectors) != len(pending.texts):
            raise ValueError(f"{len(pending.texts)} texts to fill, {len(vectors)} vectors given")
        if missing_s or pending.questions:  # a chunk without questions is noted too
            for t, v in zip(missing_s, vectors[:len(missing_s)], strict=True):
                doc.sentences[text_hash(t)] = v
            i = len(missing_s)
            for c in pending.questions:
                doc.questions[c.key] = vectors[i:i + len(c.questions)]
                i += len(c.questions)
            self._write(pending.doc_hash, doc)
        self._keep(pending.doc_hash, doc)
        return doc

    def _keep(self, doc_hash: str, doc: _Document) -> None:
        with self._lock:  # ingest fills from its own thread while answers read
            self._loaded[doc_hash] = doc
            self._loaded.move_to_end(doc_hash)
            while len(self._loaded) > LOADED_DOCUMENTS:
                self._loaded.popitem(last=False)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dimension), np.float32)
        return np.asarray(self.embedder.encode(texts), dtype=np.float32)

    def _path(self, doc_hash: str) -> Path:
        return self.folder / f"{doc_hash}.npz"

    def _write(self, doc_hash: str, doc: _Document) -> None:
        dim = self.embedder.dimension
        q_keys = list(doc.questions)
        q_counts = [len(doc.questions[k]) for k in q_keys]
        path = self._path(doc_hash)
        tmp = path.with_name(path.stem + ".tmp.npz")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                tmp,
                sentence_keys=np.array(list(doc.sentences), dtype="<U16"),
                sentence_vectors=(np.stack(list(doc.sentences.values())) if doc.sentences
                                  else np.zeros((0, dim), np.float32)),
                question_keys=np.array(q_keys, dtype="<U16"),
                question_counts=np.array(q_counts, dtype=np.int32),
                question_vectors=(np.concatenate([doc.questions[k] for k in q_keys])
                                  if q_keys else np.zeros((0, dim), np.float32)))
            os.replace(tmp, path)
        except OSError as e:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass  # its folder is gone or not a folder: nothing was left there
            log.warning("Sentence vectors could not be written to %s (%s).", path.parent,
                        e.strerror or e)

    def _read(self, doc_hash: str) -> _Document | None:
        try:
            with np.load(self._path(doc_hash), allow_pickle=False) as z:
                s_keys, s_vecs = z["sentence_keys"], z["sentence_vectors"]
                q_keys, q_counts, q_vecs = (z["question_keys"], z["question_counts"],
                                            z["question_vectors"])
        except (OSError, ValueError, KeyError):
            return None
        dim = self.embedder.dimension
        if (len(s_keys) != len(s_vecs) or len(q_keys) != len(q_counts)
                or int(q_counts.sum()) != len(q_vecs)
                or any(len(m) and m.shape[1] != dim for m in (s_vecs, q_vecs))):
            return None
        doc = _Document({str(k): v for k, v in zip(s_keys, s_vecs, strict=True)})
        ends = np.cumsum(q_counts)
        for k, end, n in zip(q_keys, ends, q_counts, strict=True):
            doc.questions[str(k)] = q_vecs[end - n:end]
        return doc
