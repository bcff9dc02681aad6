"""The library store: chunks with their vectors, and one record per document, in Chroma.

Two collections: `<name>-chunks` holds every chunk (text, vector, citation metadata) and
`<name>-documents` holds one record per document. The document record is the commit point:
a chunk counts only while its `doc_hash` matches its document's committed hash, so a
document is visible whole or not at all, even if ingest dies half-way.

A rebuild is built beside the library, in a new generation of the two collections
(`<name>.<generation>-chunks`, ...), while the old one keeps serving; then one write to the
pointer (the metadata of `<name>-active`) switches readers to it, and the old generation is
dropped. A rebuild killed before the switch leaves the old library as it was; the next ingest
drops the half-built generation. A library from before generations has none ("").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from urllib.parse import urlparse

from assistant.datadir import owner_only_dir
from assistant.library import generations
from assistant.library.records import ChunkBatch, DocumentRecord, StoredChunk
from assistant.settings import StoreSettings

__all__ = ["ChunkBatch", "DocumentRecord", "LibraryMismatch", "LibraryStore", "StoredChunk",
           "open_client"]

PAGE = 2000  # rows per Chroma `get` page
RECORD_VECTOR = [1.0]  # document records need a vector; their collection is never searched
SEARCH_EF = 400  # HNSW breadth per query: at Chroma's 100 the 30 nearest varied by process


class LibraryMismatch(RuntimeError):
    """The library was built with another embedding model or chunking than the settings ask for."""


def open_client(s: StoreSettings):
    """A Chroma client: a server when `HRDD_CHROMA_URL` is set, else files in the data directory."""
    import chromadb  # lazy: chromadb's import costs about a second
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if s.chroma_url:
        url = urlparse(s.chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    owner_only_dir(s.data_dir)
    return chromadb.PersistentClient(path=str(s.data_dir / "chroma"), settings=chroma_settings)


class LibraryStore:
    """Reads and writes the library's two Chroma collections."""

    def __init__(self, client, name: str, generation: str | None = None):
        """The library `name` as its pointer names it, or the given `generation` of it."""
        self.client = client
        self.name = name
        self._committed: dict[str, str] | None = None  # doc_id -> committed hash, as last read
        self._version, self._stamp = "", None  # version() as last read, and the files' stamp
        settings = client.get_settings()
        self._folder = settings.persist_directory if settings.is_persistent else ""
        self._pinned = generation is not None  # a rebuild's own generation: never follows
        self._open(generations.active(client, name) if generation is None else generation)

    def _open(self, generation: str) -> None:
        chunks_name, records_name = generations.collection_names(self.name, generation)
        # embedding_function=None: we always pass vectors; Chroma's default would download a model.
        chunks = self.client.get_or_create_collection(
            chunks_name, metadata={"hnsw:space": "cosine", "hnsw:search_ef": SEARCH_EF},
            embedding_function=None)
        if (getattr(chunks, "configuration_json", None) or {}).get("hnsw", {}).get(
                "ef_search", SEARCH_EF) < SEARCH_EF:  # a library made before 2026-12-04
            chunks.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})
        records = self.client.get_or_create_collection(records_name, embedding_function=None)
        self._cols = (generation, chunks, records)  # one assignment: readers see both or neither

    @property
    def generation(self) -> str:
        return self._cols[0]

    @property
    def chunks(self):
        return self._cols[1]

    @property
    def records(self):
        return self._cols[2]

    # ----- generations: a rebuild is built beside the library, then one pointer write
    def follow(self) -> None:
        """Switch to the generation the pointer names, if another process or thread moved it."""
        if not self._pinned and (active := generations.active(self.client, self.name)) \
                != self.generation:
            self._open(active)
            self._committed = None

    def staging(self) -> LibraryStore:
        """A new, empty generation of this library, to rebuild into while this one serves."""
        return LibraryStore(self.client, self.name, generation=generations.new_generation())

    def adopt(self, new: LibraryStore) -> None:
        """Make `new` (from `staging()`) the library: readers switch at once; the old goes."""
        old = self.generation
        generations.switch(self.client, self.name, new.generation)
        self._open(new.generation)
        self._committed = None
        generations.drop(self.client, self.name, old)

    def discard(self, new: LibraryStore) -> None:
        """Drop a staged generation that will not be adopted (a rebuild that failed)."""
        if new.generation != self.generation:
            generations.drop(self.client, self.name, new.generation)

    # ----- fingerprint: which model and chunking built the library
    def fingerprint(self) -> dict:
        meta = self.records.metadata or {}
        return {k: meta[k] for k in ("model", "dimension", "chunk_tokens", "chunk_overlap")
                if k in meta}

    def set_fingerprint(self, model: str, dimension: int, chunk_tokens: int, overlap: int) -> None:
        self.records.modify(metadata={"model": model, "dimension": dimension,
                                      "chunk_tokens": chunk_tokens, "chunk_overlap": overlap})

    def check_compatible(self, model: str, chunking: tuple[int, int] | None = None) -> None:
        """Raise LibraryMismatch if the library holds vectors of another model or chunking."""
        fp = self.fingerprint()
        if not fp or self.chunks.count() == 0:
            return
        how = "Rebuild it with: hrdd ingest --rebuild PATH... (for example: hrdd ingest --rebuild corpus/)"
        built, asked = str(fp.get("model")).partition("+"), model.partition("+")
        if built[0] == asked[0] and built[2] != asked[2]:
            was, now = built[2] or "torch", asked[2] or "torch"
            raise LibraryMismatch(
                f"The library '{self.name}' was built with the {was!r} embedding backend, but the "
                f"settings ask for {now!r}; vectors of two backends are not mixed in one library. "
                f"{how}, or keep the library as it is with HRDD_EMBEDDING_BACKEND={was}."
            )
        if fp.get("model") != model:
            raise LibraryMismatch(
                f"The library '{self.name}' was built with the embedding model {fp.get('model')!r}, "
                f"but the settings ask for {model!r}. Vectors of two models cannot be compared. {how}"
            )
        if chunking and (fp.get("chunk_tokens"), fp.get("chunk_overlap")) != chunking:
            raise LibraryMismatch(
                f"The library '{self.name}' was chunked at {fp.get('chunk_tokens')} tokens with "
                f"{fp.get('chunk_overlap')} overlap, but the settings ask for {chunking[0]} with "
                f"{chunking[1]}. {how}"
            )

    # ----- documents
    def documents(self, include_pending: bool = False) -> list[DocumentRecord]:
        """Documents with a committed version (an update in flight keeps the previous one)."""
        from chromadb.errors import NotFoundError

        self.follow()
        try:
            rows = self._records()
        except NotFoundError:  # switched by a rebuild between the pointer read and the scan
            self.follow()
            rows = self._records()
        self._committed = {r.doc_id: r.doc_hash for r in rows if r.doc_hash}
        rows = [r for r in rows if r.doc_hash or (include_pending and r.status == "pending")]
        return sorted(rows, key=lambda r: (r.kind, r.doc_id))

    def committed(self) -> dict[str, str]:
        """doc_id -> the hash of its committed version, as last read (`documents()` re-reads):
        another process's ingest shows after the next `documents()` or `version()`, whole."""
        if self._committed is None:
            self.documents()
        return dict(self._committed or {})

    def _records(self) -> list[DocumentRecord]:
        return [DocumentRecord.from_metadata(meta)
                for _, _, meta in self._scan(self.records, include_documents=False)]

    def document(self, doc_id: str) -> DocumentRecord | None:
        got = self.records.get(ids=[doc_id], include=["metadatas"])
        return DocumentRecord.from_metadata(got["metadatas"][0]) if got["ids"] else None

    def version(self) -> str:
        """A short hash of which documents, in which versions, the library holds (and which
        generation: a rebuild with other chunking holds the same versions in other chunks).

        Every query asks, and reading the records costs some 10 ms; on local disk the answer
        is reused while Chroma's database files are unchanged since the last read and were
        last written over a second before it (file times are coarser than two quick writes).
        """
        stamp = generations.database_stamp(self._folder) if self._folder else None
        if stamp is not None and stamp == self._stamp and self._version:
            return self._version
        parts = sorted(f"{r.doc_id}@{r.doc_hash}" for r in self.documents())
        parts.append(f"generation {self.generation}" if self.generation else "")
        self._version = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
        self._stamp = stamp  # taken before the read: a write during it shows next time
        return self._version

    # ----- writing one document, whole or not at all
    def write_document(self, record: DocumentRecord, batch: ChunkBatch) -> None:
        """Add a document's chunks, then commit its record, then drop its previous chunks."""
        previous = self.document(record.doc_id)
        if previous:
            pending = replace(previous, status="pending", pending_hash=record.doc_hash)
        else:
            pending = replace(record, status="pending", pending_hash=record.doc_hash, doc_hash="")
        self._put_record(pending)
        limit = self.client.get_max_batch_size()
        for i in range(0, len(batch.ids), limit):
            j = i + limit
            self.chunks.upsert(ids=batch.ids[i:j], documents=batch.texts[i:j],
                               embeddings=batch.vectors[i:j], metadatas=batch.metadatas[i:j])
        self._put_record(record)  # the commit point
        self._committed = None
        self.chunks.delete(where={"$and": [{"doc_id": record.doc_id},
                                           {"doc_hash": {"$ne": record.doc_hash}}]})

    def remove(self, doc_id: str) -> bool:
        """Remove a document and all its chunks; False if the library does not hold it."""
        existed = self.document(doc_id) is not None
        self.records.delete(ids=[doc_id])  # first: without its record no chunk is visible
        self._committed = None
        self.chunks.delete(where={"doc_id": doc_id})
        return existed

    def recover(self) -> list[str]:
        """Undo writes that a crash left half-done; returns the documents it rolled back."""
        self.follow()
        for generation in generations.others(self.client, self.name, keep=self.generation):
            generations.drop(self.client, self.name, generation)
        rolled = []
        for rec in self.documents(include_pending=True):
            if rec.status != "pending":
                continue
            rolled.append(rec.doc_id)
            if rec.doc_hash:  # an older complete version exists: keep it, drop the new chunks
                self.chunks.delete(where={"$and": [{"doc_id": rec.doc_id},
                                                   {"doc_hash": {"$ne": rec.doc_hash}}]})
                self._put_record(replace(rec, status="complete", pending_hash=""))
            else:
                self.remove(rec.doc_id)
        # A crash between a commit and the deletion of the version it replaced leaves chunks
        # that no committed record owns: invisible to readers, but they crowd vector queries.
        committed = {r.doc_id: r.doc_hash for r in self.documents()}
        stale = [cid for cid, _, meta in self._scan(self.chunks, include_documents=False)
                 if committed.get(meta.get("doc_id")) != meta.get("doc_hash")]
        for i in range(0, len(stale), PAGE):
            self.chunks.delete(ids=stale[i:i + PAGE])
        return rolled

    def _put_record(self, rec: DocumentRecord) -> None:
        self.records.upsert(ids=[rec.doc_id], documents=[rec.title], embeddings=[RECORD_VECTOR],
                            metadatas=[rec.to_metadata()])

    # ----- reading chunks
    def committed_chunks(self) -> Iterator[StoredChunk]:
        """Every chunk that belongs to the committed version of its document."""
        committed = {r.doc_id: r.doc_hash for r in self.documents()}
        for cid, text, meta in self._scan(self.chunks):
            if committed.get(meta.get("doc_id")) == meta.get("doc_hash"):
                yield StoredChunk(cid, text, meta)

    def chunks_by_id(self, ids: list[str]) -> dict[str, StoredChunk]:
        """The chunks with these ids that the store holds (text and metadata), by id: what
        the retriever reads for its candidates (`chunk_table.ChunkTable`)."""
        from chromadb.errors import NotFoundError

        try:
            got = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        except NotFoundError:  # a rebuild switched the library since the last read: again
            self.follow()
            got = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        return {cid: StoredChunk(cid, text, meta) for cid, text, meta in
                zip(got["ids"], got["documents"], got["metadatas"], strict=True)}

    def chunk_count(self) -> int:
        return self.chunks.count()

    def query(self, vector: Sequence[float], n: int, doc_ids: Sequence[str] | None = None,
              where: dict | None = None) -> list[StoredChunk]:
        """Nearest chunks by cosine similarity, of committed versions only (and of `doc_ids`)."""
        from chromadb.errors import NotFoundError

        try:
            return self._query(vector, n, doc_ids, where)
        except NotFoundError:  # a rebuild switched the library since the last read: again
            self.follow()
            return self._query(vector, n, doc_ids, where)

    def _query(self, vector: Sequence[float], n: int, doc_ids: Sequence[str] | None,
               where: dict | None) -> list[StoredChunk]:
        """Every hit is checked against the committed versions, so a removed or replaced document
        never answers. The query is unfiltered while it can be (a Chroma `where` matching most
        of the library scans its metadata: 0.6 s at 100k chunks, against 3 ms); only when a hit
        was dropped (an ingest in progress, a replaced version not yet deleted) is it made again
        with the committed hashes as a filter, so that those chunks take no candidate slots."""
        committed = self.committed()
        if not committed:
            return []
        if doc_ids is None and where is None:
            hits, dropped = self._committed_only(committed, self._search(vector, n, None))
            if not dropped:
                return hits
            allowed = list(committed)
        else:
            allowed = [d for d in (doc_ids if doc_ids is not None else committed) if d in committed]
        if not allowed:
            return []
        clauses = [{"doc_hash": {"$in": sorted({committed[d] for d in allowed})}}]
        if doc_ids is not None:
            clauses.append({"doc_id": {"$in": allowed}})
        if where:
            clauses.append(where)
        res = self._search(vector, n, {"$and": clauses} if len(clauses) > 1 else clauses[0])
        return self._committed_only(committed, res)[0]

    def _search(self, vector: Sequence[float], n: int, where: dict | None) -> dict:
        return self.chunks.query(query_embeddings=[list(vector)], n_results=n, where=where,
                                 include=["documents", "metadatas", "distances"])

    @staticmethod
    def _committed_only(committed: dict[str, str], res: dict) -> tuple[list[StoredChunk], int]:
        """The hits of committed versions (exact where two documents hold one file: one hash,
        two ids), and how many others were dropped."""
        out, dropped = [], 0
        for cid, text, meta, dist in zip(res["ids"][0], res["documents"][0],
                                         res["metadatas"][0], res["distances"][0], strict=True):
            if committed.get(meta.get("doc_id")) == meta.get("doc_hash"):
                out.append(StoredChunk(cid, text, meta, 1.0 - float(dist)))
            else:
                dropped += 1
        return out, dropped

    def _scan(self, col, include_documents: bool = True) -> Iterator[tuple[str, str, dict]]:
        include = ["metadatas", "documents"] if include_documents else ["metadatas"]
        offset = 0
        while True:
            got = col.get(include=include, limit=PAGE, offset=offset)
            if not got["ids"]:
                return
            docs = got["documents"] or [""] * len(got["ids"])
            yield from zip(got["ids"], docs, got["metadatas"], strict=True)
            if len(got["ids"]) < PAGE:  # a short page is the last: no empty read after it
                return
            offset += len(got["ids"])

