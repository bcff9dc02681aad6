"""What the library stores: a document's record, a document's chunks to write, a chunk read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class DocumentRecord:
    """What the library knows about one document."""

    doc_id: str
    title: str
    kind: str
    source: str
    doc_hash: str
    chunks: int = 0
    units: int = 0  # pages (PDF) or sections (Markdown, text)
    unit_name: str = "sections"
    topics: tuple[str, ...] = ()
    publisher: str = ""
    year: int | None = None
    url: str = ""
    summary: str = ""
    ingested_at: str = ""
    status: str = "complete"  # or "pending" while a new version is being written
    pending_hash: str = ""
    instructions: int = 0  # sentences that address an AI or give it orders (injection)

    def to_metadata(self) -> dict:
        meta = {k: v for k, v in asdict(self).items() if v not in (None, "", ())}
        meta["topics"] = list(self.topics) or ["none"]
        meta["pending_hash"] = self.pending_hash  # always written: Chroma merges metadata on upsert
        return meta

    @classmethod
    def from_metadata(cls, meta: dict) -> DocumentRecord:
        fields = {k: v for k, v in meta.items() if k in cls.__dataclass_fields__}
        fields["topics"] = tuple(t for t in meta.get("topics", []) if t != "none")
        fields.setdefault("doc_hash", "")  # a new document's pending record has none yet
        return cls(**fields)


@dataclass
class ChunkBatch:
    """Chunks of one document, ready to write."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    vectors: list[list[float]] = field(default_factory=list)
    metadatas: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    text: str
    metadata: dict
    similarity: float = 0.0
