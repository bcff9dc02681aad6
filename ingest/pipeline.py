"""Ingest files into the library: parse, chunk, embed, store; one outcome per file.

`ingest()` is the one entry every surface calls (the CLI, the Library page, evaluations, the
benchmark): it takes the ingest lock before the store is opened, and applies one policy for
a library built with another embedding model or chunking.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assistant.datadir import DiskFull, no_space
from assistant.library.embedder import MiniLMEmbeddings, TokenCounter
from assistant.library.injection import instruction_spans
from assistant.library.sentence_vectors import Pending, SentenceIndex, chunk_text
from assistant.library.store import ChunkBatch, DocumentRecord, LibraryMismatch, LibraryStore
from assistant.settings import Settings
from ingest.chunker import Chunk, chunk_document
from ingest.discovery import FileOutcome, discover
from ingest.documents import (
    ParsedDocument,
    ParseError,
    check_size,
    file_hash,
    parse_file,
    slugify,
)
from ingest.lock import ingest_lock
from ingest.pdf import read_pdf_pages
from ingest.stages import Pipeline, tail_pieces
from ingest.uploads import UPLOADS

log = logging.getLogger(__name__)

# progress(stage, done, total, detail): stage is "parse" or "embed"
Progress = Callable[[str, int, int, str], None]
ON_MISMATCH = ("stop", "rebuild")


def ingest(library, paths: Iterable[Path], *, prune: bool = False, rebuild: bool = False,
           wait: bool = False, on_mismatch: str = "stop",
           progress: Progress | None = None) -> IngestReport:
    """Bring files into `library` (an `assistant.composition.Library`): the one way in.

    The lock comes before the store is opened: a second Chroma client on a folder another
    process is writing can hang, where the lock says plainly that an ingest is running
    (IngestBusy, or a wait with `wait=True`). A library built with another embedding model
    or chunking raises LibraryMismatch, or, with `on_mismatch="rebuild"` (a library that is
    the caller's own, like an evaluation's), is built again (beside it, see `Ingestor.run`).
    A write that fails for want of space raises DiskFull ("no space left on <path>"); what was
    half-written is rolled back by the next ingest, once there is room.
    """
    if on_mismatch not in ON_MISMATCH:
        raise ValueError(f"on_mismatch must be one of {ON_MISMATCH}, not {on_mismatch!r}")
    paths = [Path(p) for p in paths]
    try:
        with ingest_lock(library.settings.data_dir, wait, *shared_library(library.settings)):
            ingestor = Ingestor(library.settings, library.store, library.embedder,
                                library.sentences)
            try:
                return ingestor.run(paths, prune=prune, rebuild=rebuild, progress=progress)
            except LibraryMismatch:
                if on_mismatch == "stop" or rebuild:
                    raise
                return ingestor.run(paths, prune=prune, rebuild=True, progress=progress)
    except Exception as exc:
        s = library.settings.store  # a full disk, said in one line (Chroma only says it failed)
        if message := no_space(exc, s.chroma_url or s.data_dir.resolve(), local=not s.chroma_url):
            raise DiskFull(message) from exc
        raise


def shared_library(settings: Settings) -> tuple[str | None, str]:
    """The database that holds the shared ingest lock, and the library's name in it."""
    where = settings.chroma_url or str(settings.data_dir.resolve())
    return settings.database_url, f"{where}#{settings.collection}"


def unexpected(err: BaseException) -> str:
    """An unexpected error in one line: its type and the start of its message."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:200]}" if text else type(err).__name__


def remove(library, doc_id: str, *, wait: bool = False) -> DocumentRecord | None:
    """Take a document out of `library`, under the ingest lock: never while an ingest writes
    it (a removal between an update's chunks and its commit left a record with no chunks).

    An uploaded file (under `<data_dir>/uploads`) is deleted too, or the next rebuild, which
    reads the uploads folder, would bring the document back. Returns the record removed, or
    None if the library does not hold `doc_id`; IngestBusy while another ingest runs.
    """
    with ingest_lock(library.settings.data_dir, wait, *shared_library(library.settings)):
        record = library.store.document(doc_id)
        if record is None:
            return None
        library.store.remove(doc_id)
        uploads = (library.settings.data_dir / UPLOADS).resolve()
        if Path(record.source).resolve().parent == uploads:
            Path(record.source).unlink(missing_ok=True)
        return record


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("parse", "chunk", "embed", "store"), 0.0))
    chunks_embedded: int = 0
    texts_encoded: int = 0  # chunks, and the sentences and section questions they bring
    pages: int = 0
    wall_seconds: float = 0.0  # the stages overlap: less than the sum of `seconds`

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.outcome == "failed"]


# Documents are embedded together up to this many chunks: the encoder sorts one call's texts
# by length and pads each batch only to its longest, so a call over several documents runs
# closer to the raw encoder than one call per document (whose last batch is rarely full).
# On the starter corpus and the real PDFs the encoder (batch 16) computes 2.6% more padded
# tokens in groups of 256 than in one call, 1.5% at 512, 0.9% at 1024 (docs/performance.md):
# 1024 it is, some 15 MB a group (texts, metadata, vectors).
GROUP_CHUNKS = 1024
# The last group is cut in halves of what remains, down to this many chunks: each piece is
# written while the next is embedded, so only the small last one's write follows the encoder.
TAIL_CHUNKS = 32
QUEUED = 1  # groups waiting between two stages: parsed ahead of the encoder, embedded ahead of
# the writer; with the one each stage holds, at most five groups are in memory at once


@dataclass(frozen=True)
class _Parsed:
    """A file parsed and chunked, waiting for its group to be embedded and stored."""

    doc: ParsedDocument
    chunks: list[Chunk]
    metadatas: list[dict]
    outcome: FileOutcome


@dataclass(frozen=True)
class _Embedded:
    """A document with its vectors, waiting to be written."""

    parsed: _Parsed
    vectors: list[list[float]]
    sentences: Pending | None
    sentence_vectors: np.ndarray


class Ingestor:
    """Brings files into a LibraryStore; `ingest()` builds it, under the ingest lock."""

    def __init__(self, settings: Settings, store: LibraryStore, embedder: MiniLMEmbeddings,
                 sentences: SentenceIndex | None = None):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.sentences = sentences
        self._counter: TokenCounter | None = None

    @property
    def counter(self) -> TokenCounter:
        if self._counter is None:
            self._counter = TokenCounter(self.settings.embedding.model)
        return self._counter

    def run(self, paths: list[Path], prune: bool = False, rebuild: bool = False,
            progress: Progress | None = None) -> IngestReport:
        """Ingest `paths`; the caller holds the ingest lock (see `ingest()`).

        A rebuild goes into a new generation beside the library, which keeps serving until the
        new one is complete and adopted; one that fails or is killed leaves it as it was.
        """
        report = IngestReport(recovered=self.store.recover())
        if not rebuild:
            return self._run(paths, prune, progress, report)
        live, self.store = self.store, self.store.staging()
        try:
            self._run(paths, prune, progress, report)
            live.adopt(self.store)
        finally:
            live.discard(self.store)  # nothing once adopted
            self.store = live
        return report

    def _run(self, paths: list[Path], prune: bool, progress: Progress | None,
             report: IngestReport) -> IngestReport:
        chunking = self.settings.chunking
        self.store.check_compatible(self.embedder.model_id,
                                    (chunking.max_tokens, chunking.overlap_tokens))
        files, problems, report.ignored = discover(paths)
        report.outcomes.extend(problems)
        known = self.store.documents(include_pending=True)
        by_source = {r.source: r for r in known}
        taken = {r.doc_id: r.source for r in known}
        t0 = time.perf_counter()
        # parse here, embed and write in two threads; at most QUEUED groups wait between them
        written: queue.SimpleQueue = queue.SimpleQueue()  # (chunks so far, doc_id), in order

        def show_written() -> None:
            while progress and not written.empty():
                done, doc_id = written.get()
                progress("embed", done, done, doc_id)

        with Pipeline([lambda g: self._embed(g, report),
                       lambda g: self._write(g, report, written)],
                      depth=QUEUED, name="ingest") as steps:
            group: list[_Parsed] = []
            for i, f in enumerate(files):
                show_written()
                if progress:
                    progress("parse", i, len(files), f.name)
                parsed = self._parse(f, by_source, taken, report)
                if isinstance(parsed, FileOutcome):
                    report.outcomes.append(parsed)
                    continue
                report.outcomes.append(parsed.outcome)  # a failed write raises, so no report
                group.append(parsed)
                # a full group, or a smaller one rather than an idle encoder (the first file;
                # a slow PDF): the encoder's time is the ingest's
                if sum(len(p.chunks) for p in group) >= GROUP_CHUNKS or steps.idle():
                    steps.put(group)
                    group = []
            for piece in tail_pieces(group, lambda p: len(p.chunks), TAIL_CHUNKS):
                steps.put(piece)
            steps.finish(show_written)
        report.wall_seconds += time.perf_counter() - t0
        if progress:
            progress("parse", len(files), len(files), "")
        if prune:
            report.outcomes.extend(self._prune(paths, files, known))
        if report.chunks_embedded and not self.store.fingerprint():
            self.store.set_fingerprint(self.embedder.model_id, self.embedder.dimension,
                                       chunking.max_tokens, chunking.overlap_tokens)
        return report

    def _parse(self, f: Path, by_source: dict, taken: dict,
               report: IngestReport) -> _Parsed | FileOutcome:
        """Read, parse and chunk one file, or say why it cannot go in (or need not)."""
        source = str(f.resolve())
        limits = self.settings.limits
        try:  # the name is stored and shown; Chroma and terminals take only valid UTF-8
            source.encode("utf-8")
        except UnicodeEncodeError:
            return FileOutcome(str(f), "failed", reason="the file name is not valid UTF-8 (made on "
                               "another system?); rename the file and ingest it again")
        try:
            check_size(f.stat().st_size, limits)  # before reading: the file may be huge
            t0 = time.perf_counter()
            data = f.read_bytes()
            previous = by_source.get(source)
            if previous and previous.doc_hash == file_hash(data) and previous.status == "complete":
                return FileOutcome(str(f), "unchanged", previous.doc_id, chunks=previous.chunks)
            pages = read_pdf_pages(f, limits) if f.suffix.lower() == ".pdf" else None
            doc = parse_file(f.resolve(), data, pages)
            report.seconds["parse"] += time.perf_counter() - t0
            doc = self._claim_id(doc, source, taken)
            t0 = time.perf_counter()
            chunks = chunk_document(doc, self.settings.chunking, self.counter)
            report.seconds["chunk"] += time.perf_counter() - t0
        except ParseError as err:
            return FileOutcome(str(f), "failed", reason=str(err))
        except OSError as err:
            return FileOutcome(str(f), "failed", reason=f"cannot read the file ({err.strerror})")
        except Exception as err:  # noqa: BLE001 - one file's surprise never stops the others
            log.debug("ingest: %s failed", f, exc_info=True)  # the reason says what happened
            return FileOutcome(str(f), "failed", reason=f"it could not be read ({unexpected(err)})")
        report.pages += len(doc.units) if doc.unit_name == "pages" else 0
        outcome = FileOutcome(str(f), "updated" if previous else "added", doc.doc_id,
                              chunks=len(chunks))
        return _Parsed(doc, chunks, [c.metadata(doc) for c in chunks], outcome)

    def _claim_id(self, doc: ParsedDocument, source: str, taken: dict) -> ParsedDocument:
        """Keep ids unique: a second file claiming an id held by another live file gets a suffix."""
        owner = taken.get(doc.doc_id)
        if owner and owner != source and Path(owner).exists():
            doc = replace(doc, doc_id=f"{doc.doc_id}-{slugify(Path(source).parent.name)}"[:90])
        taken[doc.doc_id] = source
        return doc

    def _embed(self, group: list[_Parsed], report: IngestReport) -> list[_Embedded]:
        """Embed a group's chunks in one call, and the sentences they bring in another: the
        encoder sorts a call's texts by length, so it pads less than one call per document."""
        t0 = time.perf_counter()
        pending = [None] * len(group)
        if self.sentences is not None:
            pending = [self.sentences.pending(p.doc.doc_hash, [
                chunk_text(c.text, m) for c, m in zip(p.chunks, p.metadatas, strict=True)])
                for p in group]
        vectors = self.embedder.embed_documents([c.embed_text for p in group for c in p.chunks])
        texts = [t for s in pending if s is not None for t in s.texts]
        extra = np.asarray(self.embedder.encode(texts), dtype=np.float32) if texts else None
        out, at, at_extra, dim = [], 0, 0, self.embedder.dimension
        for parsed, sentences in zip(group, pending, strict=True):
            n = len(sentences.texts) if sentences is not None else 0
            own = extra[at_extra:at_extra + n].copy() if n else np.zeros((0, dim), np.float32)
            out.append(_Embedded(parsed, vectors[at:at + len(parsed.chunks)], sentences, own))
            at += len(parsed.chunks)
            at_extra += n
        report.seconds["embed"] += time.perf_counter() - t0
        report.texts_encoded += len(vectors) + len(texts)
        return out

    def _write(self, group: list[_Embedded], report: IngestReport,
               written: queue.SimpleQueue) -> None:
        """Commit a group's documents one at a time, each whole or not at all (see store)."""
        for e in group:
            t0 = time.perf_counter()
            doc, chunks = e.parsed.doc, e.parsed.chunks
            if e.sentences is not None:  # before the commit: answers never wait for them
                self.sentences.fill(e.sentences, e.sentence_vectors)
            batch = ChunkBatch([c.chunk_id for c in chunks], [c.text for c in chunks],
                               e.vectors, e.parsed.metadatas)
            record = DocumentRecord(
                doc_id=doc.doc_id, title=doc.title, kind=doc.kind, source=doc.source,
                doc_hash=doc.doc_hash, chunks=len(chunks), units=len(doc.units),
                unit_name=doc.unit_name, topics=doc.topics, publisher=doc.publisher,
                year=doc.year, url=doc.url, summary=doc.summary,
                ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
                instructions=sum(len(instruction_spans(u.text)) for u in doc.units),
            )
            self.store.write_document(record, batch)
            report.seconds["store"] += time.perf_counter() - t0
            report.chunks_embedded += len(chunks)
            written.put((report.chunks_embedded, doc.doc_id))

    def _prune(self, paths: list[Path], files: list[Path], known: list[DocumentRecord]):
        present = {str(f.resolve()) for f in files}
        folders = [p.resolve() for p in paths if p.is_dir()]
        for rec in known:
            src = Path(rec.source)
            if rec.source in present or not any(src.is_relative_to(d) for d in folders):
                continue
            if not src.exists():
                self.store.remove(rec.doc_id)
                yield FileOutcome(rec.source, "removed", rec.doc_id, reason="file no longer exists")
