"""The committed chunks as the retriever holds them: arrays, and the text of a few on demand.

At a million chunks, every chunk's text and metadata as Python objects cost the retriever
some 2.4 GB (docs/performance.md). `ChunkTable` keeps, for each chunk, only its id (one UTF-8
blob and its offsets) and its document (a small integer); a chunk's text and metadata are read
from the store by id when a query or an answer needs them (`load()` reads many in one call),
and the most recent `CACHED` of them are kept. A library of up to that many chunks ends up
wholly cached, as it was before; a larger one holds only what recent queries touched.

The table is built in one pass over the store's committed chunks (`read()`), which also hands
each chunk to the caller's `visit`, so the keyword index and the section map are built from
the same pass without the texts being kept. It is the keyword index's `chunks`: a sequence of
`StoredChunk`, indexed as the postings are.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from assistant.library.records import StoredChunk

CACHED = 20_000  # chunks kept in memory, most recently read first (some 50 MB at most)

# Reads chunks by id: {id: StoredChunk} for those it holds (LibraryStore.chunks_by_id).
Reader = Callable[[list[str]], dict[str, StoredChunk]]


class ChunkTable(Sequence):
    """Every committed chunk's id and document as arrays; text and metadata read by id."""

    def __init__(self, ids: Sequence[str], doc_ids: Sequence[str], reader: Reader,
                 cached: int | None = None):
        blobs = [i.encode("utf-8") for i in ids]
        self._offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in blobs], out=self._offsets[1:])
        self._blob = b"".join(blobs)
        codes: dict[str, int] = {}
        self.doc_codes = np.fromiter((codes.setdefault(d, len(codes)) for d in doc_ids),
                                     dtype=np.int32, count=len(blobs))
        self.doc_names = list(codes)
        self._read = reader
        self._cache: OrderedDict[int, StoredChunk] = OrderedDict()
        self._cap = CACHED if cached is None else cached
        self._lock = threading.Lock()  # the app answers on several threads

    @classmethod
    def read(cls, chunks: Iterable[StoredChunk], reader: Reader,
             visit: Callable[[int, StoredChunk], None] = lambda i, ch: None,
             cached: int | None = None) -> ChunkTable:
        """The table of these chunks (one pass; each is handed to `visit(i, chunk)` and kept
        only while the cache has room, so a small library is read from the store once)."""
        ids, docs, kept = [], [], {}
        cached = CACHED if cached is None else cached
        for i, ch in enumerate(chunks):
            visit(i, ch)
            ids.append(ch.chunk_id)
            docs.append(str(ch.metadata.get("doc_id", "")))
            if i < cached:
                kept[i] = ch
        table = cls(ids, docs, reader, cached)
        table._cache.update(kept)
        return table

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def chunk_id(self, i: int) -> str:
        return self._blob[self._offsets[i]:self._offsets[i + 1]].decode("utf-8")

    @property
    def chunk_ids(self) -> list[str]:
        return [self.chunk_id(i) for i in range(len(self))]

    def doc_id(self, i: int) -> str:
        return self.doc_names[self.doc_codes[i]]

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self.load([i])[0]

    def load(self, indices: Iterable[int]) -> list[StoredChunk]:
        """These chunks, those not cached read from the store in one call."""
        indices = [int(i) % len(self) for i in indices]
        with self._lock:
            out = [self._hit(i) for i in indices]
        missing = list(dict.fromkeys(i for i, ch in zip(indices, out, strict=True) if ch is None))
        if not missing:
            return out
        got = self._read([self.chunk_id(i) for i in missing])
        # a chunk gone from the store since the table was read (a document removed or replaced
        # mid-query) keeps its id and document, without text; the next refresh drops it
        fresh = {i: got.get(cid) or StoredChunk(cid, "", {"doc_id": self.doc_id(i)})
                 for i in missing for cid in (self.chunk_id(i),)}
        with self._lock:
            self._cache.update(fresh)
            while len(self._cache) > self._cap:
                self._cache.popitem(last=False)
        return [ch if ch is not None else fresh[i] for i, ch in zip(indices, out, strict=True)]

    def _hit(self, i: int) -> StoredChunk | None:
        ch = self._cache.get(i)
        if ch is not None:
            self._cache.move_to_end(i)
        return ch

    def nbytes(self) -> int:
        """Memory the arrays hold (not the cache)."""
        return len(self._blob) + self._offsets.nbytes + self.doc_codes.nbytes


def load(chunks: Sequence[StoredChunk], indices: Iterable[int]) -> list[StoredChunk]:
    """`chunks[i]` for each index: one store read for a ChunkTable, a lookup for a list."""
    if isinstance(chunks, ChunkTable):
        return chunks.load(indices)
    return [chunks[i] for i in indices]
