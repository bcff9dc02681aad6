"""The store and keyword index at one size, measured in a process of its own.

`python -m evals.bench.scale N FOLDER QUERIES` writes N synthetic chunks (text in the
corpus's own vocabulary, random unit vectors) through LibraryStore, builds the keyword index,
times queries, and prints one JSON object; the benchmark runs it once per size so that each
size's memory is its own.
"""

from __future__ import annotations

import gc
import json
import re
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.settings import STARTER_CORPUS


def settled_rss_mb() -> float:
    """RSS after a collection, with freed memory handed back to the system (glibc keeps
    what a build freed, which would count as held)."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return rss_mb().get("rss_mb") or 0.0


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds, dtype=float) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2), "n": len(ms)}


def rss_mb() -> dict[str, float]:
    """Resident memory now and at its peak, from /proc (Linux), in MB."""
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        import resource

        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def _vocabulary():
    """The corpus's words, most frequent first, with Zipf weights."""
    words = re.findall(r"[a-z]{3,}", " ".join(p.read_text(errors="replace").lower()
                                              for p in sorted(STARTER_CORPUS.rglob("*.md"))))
    vocab, counts = np.unique(np.array(words or ["word"]), return_counts=True)
    vocab = vocab[np.argsort(-counts)]
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    return vocab, weights / weights.sum()


def _texts(n: int, vocab, weights, rng, block: int = 10_000):
    """n chunk texts of 90 to 170 words, made a block at a time (never all held at once)."""
    for start in range(0, n, block):
        lengths = rng.integers(90, 170, size=min(block, n - start))
        picks = vocab[rng.choice(len(vocab), size=int(lengths.sum()), p=weights)]
        at = 0
        for length in lengths:
            yield " ".join(picks[at:at + length])
            at += length


def _unit_vectors(n: int, rng) -> np.ndarray:
    v = rng.standard_normal((n, 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def _synthetic(n: int, seed: int = 11):
    """n chunk texts in the corpus's own vocabulary (Zipf-weighted), and n random unit vectors."""
    vocab, weights = _vocabulary()
    rng = np.random.default_rng(seed)
    texts = list(_texts(n, vocab, weights, rng))
    return texts, _unit_vectors(n, rng), vocab[:2000], rng


def scale_child(n: int, folder: Path, queries: int) -> dict:
    """Write n synthetic chunks through LibraryStore, build the keyword index, time queries."""
    from assistant.library.store import ChunkBatch, DocumentRecord, LibraryStore, open_client
    from assistant.settings import StoreSettings

    base = rss_mb().get("rss_mb", 0.0)
    texts, vectors, common, rng = _synthetic(n)
    per_doc = 500
    store = LibraryStore(open_client(StoreSettings(folder, "scale", None)), "scale")
    t0 = time.perf_counter()
    for d, start in enumerate(range(0, n, per_doc)):
        idx = range(start, min(start + per_doc, n))
        doc_id, h = f"doc-{d:04d}", f"h{d}"
        batch = ChunkBatch([f"{doc_id}:{i}" for i in idx], [texts[i] for i in idx],
                           vectors[start:start + len(idx)].tolist(),
                           [{"doc_id": doc_id, "doc_hash": h, "title": f"Synthetic {d}",
                             "ordinal": i - start} for i in idx])
        store.write_document(DocumentRecord(doc_id, f"Synthetic {d}", "guidance", doc_id, h,
                                            chunks=len(idx)), batch)
    write_s = time.perf_counter() - t0
    del texts
    before_read = settled_rss_mb()
    t0 = time.perf_counter()
    # what the retriever reads at each library change: one pass, the texts not kept
    index, _ = read_holding(store.committed_chunks, store.chunks_by_id)
    read_s = time.perf_counter() - t0
    chunk_list_mb = settled_rss_mb() - before_read
    index_s = read_s
    qv = rng.standard_normal((queries, 384)).astype(np.float32)
    qv /= np.linalg.norm(qv, axis=1, keepdims=True)
    qtexts = [" ".join(rng.choice(common, size=int(rng.integers(4, 10)))) for _ in range(queries)]
    store.query(qv[0].tolist(), 30)  # first query loads the HNSW index
    dense, keyword, both = [], [], []
    for v, q in zip(qv, qtexts, strict=True):
        t0 = time.perf_counter()
        store.query(v.tolist(), 30)
        t1 = time.perf_counter()
        index.search(q, 30)  # and the hits' texts read by id, as the retriever reads them
        t2 = time.perf_counter()
        dense.append(t1 - t0)
        keyword.append(t2 - t1)
        both.append(t2 - t0)
    mem = rss_mb()
    disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return {"chunks": n, "store_writes_per_s": round(n / write_s, 1),
            "write_s": round(write_s, 2), "keyword_build_s": round(index_s, 2),
            "read_chunks_s": round(read_s, 2), "chunk_list_rss_mb": round(chunk_list_mb, 1),
            "dense": percentiles_ms(dense), "keyword": percentiles_ms(keyword),
            "query": percentiles_ms(both), "rss_mb": mem.get("rss_mb"),
            "peak_rss_mb": mem.get("peak_rss_mb"), "rss_over_base_mb": round(
                (mem.get("rss_mb") or 0) - base, 1), "disk_mb": round(disk / 2**20, 1)}


def read_holding(chunks_fn, reader, cached: int | None = None):
    """What the retriever holds over these chunks: the keyword index over a ChunkTable, and
    the section map, from one pass (as `sections.read_library` builds them)."""
    from assistant.library.bm25 import KeywordIndex, Postings, body_text, tokenize
    from assistant.library.chunk_table import ChunkTable
    from assistant.library.sections import SectionMap, Sections

    postings, sections = Postings(), Sections()

    def visit(i, ch) -> None:
        terms = tokenize(body_text(ch))
        sections.add(i, ch, terms)
        postings.add_terms(tokenize(ch.metadata.get("title", "")) + terms)

    table = ChunkTable.read(chunks_fn(), reader, visit, cached)
    index = KeywordIndex(table, arrays=postings.arrays())
    return index, SectionMap(table, sections)


class SqliteChunks:
    """Chunks by id in an SQLite file (Chroma keeps its documents in SQLite as well): the
    store the retriever reads its candidates from, at sizes Chroma would take an hour to write."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE chunks (id TEXT PRIMARY KEY, text TEXT, meta TEXT)")

    def write(self, chunks):
        for ch in chunks:
            self.db.execute("INSERT INTO chunks VALUES (?, ?, ?)",
                            (ch.chunk_id, ch.text, json.dumps(ch.metadata)))
            yield ch
        self.db.commit()

    def read(self, ids: list[str]) -> dict:
        from assistant.library.store import StoredChunk

        rows = self.db.execute(f"SELECT id, text, meta FROM chunks WHERE id IN "
                               f"({','.join('?' * len(ids))})", ids).fetchall()
        return {i: StoredChunk(i, t, json.loads(m)) for i, t, m in rows}


def keyword_child(n: int, queries: int, folder: Path) -> dict:
    """What the retriever holds over n synthetic chunks (the keyword index over a ChunkTable,
    the section map; texts read by id from an SQLite file, built from a stream), and exact
    nearest-neighbour search over n random vectors in one matrix: what the library's two
    searches cost at sizes where writing the chunks through Chroma would take an hour."""
    vocab, weights = _vocabulary()
    rng = np.random.default_rng(11)
    folder.mkdir(parents=True, exist_ok=True)
    db = SqliteChunks(folder / "chunks.sqlite")
    base = settled_rss_mb()
    t0 = time.perf_counter()
    index, sections = read_holding(
        lambda: db.write(_chunks(_texts(n, vocab, weights, rng))), db.read, cached=0)
    build_s = time.perf_counter() - t0
    held = settled_rss_mb() - base
    built = rss_mb()
    index_mb = sum(getattr(index, k).nbytes for k in ("offsets", "docs", "tfs", "lengths")) / 2**20
    sample = list(_texts(1000, vocab, weights, rng))
    text_mb = sum(sys.getsizeof(t) for t in sample) / len(sample) * n / 2**20
    qtexts = [" ".join(rng.choice(vocab[:2000], size=int(rng.integers(4, 10))))
              for _ in range(queries)]
    index.search(qtexts[0], 30)
    keyword, section = [], []
    for q in qtexts:
        t1 = time.perf_counter()
        hits = index.search(q, 30)  # with the 30 hits' texts read by id
        t2 = time.perf_counter()
        if hits:  # what the composer does next: the best hit's section, whole
            sections.passages(sections.of(index.chunks[hits[0].index].metadata))
        keyword.append(t2 - t1)
        section.append(time.perf_counter() - t2)
    table_mb = index.chunks.nbytes() / 2**20
    del index, sections
    gc.collect()
    matrix = np.concatenate([_unit_vectors(min(100_000, n - i), rng)
                             for i in range(0, n, 100_000)])
    dense = []
    for v in _unit_vectors(min(queries, 50), rng):
        t1 = time.perf_counter()
        np.argpartition(-(matrix @ v), 30)[:30]
        dense.append(time.perf_counter() - t1)
    mem = rss_mb()
    return {"chunks": n, "keyword_build_s": round(build_s, 1),
            "retriever_chunk_list_mb": round(chunk_list_mb(n, vocab, weights, rng), 1),
            "retriever_holding_rss_mb": round(held, 1),
            "chunk_table_mb": round(table_mb, 1),
            "keyword_index_mb": round(index_mb, 1),
            "keyword_build_rss_over_base_mb": round((built.get("peak_rss_mb") or 0) - base, 1),
            "texts_as_python_str_mb": round(text_mb, 1), "keyword": percentiles_ms(keyword),
            "section_read": percentiles_ms(section),
            "exact_dense": percentiles_ms(dense), "rss_mb": mem.get("rss_mb"),
            "peak_rss_mb": mem.get("peak_rss_mb")}


def _chunks(texts, per_doc: int = 500):
    """Synthetic chunks with the metadata ingest writes, 500 to a document, 40 sections each."""
    from assistant.library.store import StoredChunk

    for i, t in enumerate(texts):
        yield StoredChunk(f"doc-{i // per_doc:05d}:h{i // per_doc:05d}:{i % per_doc}", t, {
            "doc_id": f"doc-{i // per_doc:05d}", "doc_hash": f"{i // per_doc:064x}"[:16],
            "title": f"Synthetic document {i // per_doc}", "kind": "guidance",
            "topics": "none", "source": f"/library/documents/synthetic-{i // per_doc}.md",
            "start": i * 700, "end": i * 700 + len(t), "tokens": 190, "ordinal": i % per_doc,
            "chunk_hash": f"{i:016x}", "section": f"{i % 40}. Section {i % 40}",
            "heading_path": f"{i % 40}. Section {i % 40}"})


def chunk_list_mb(n: int, vocab, weights, rng, sample: int = 20_000) -> float:
    """What the retriever would hold for n chunks (every chunk's text and metadata as Python
    objects, the keyword index's `chunks` and the section map over them), from a sample."""
    import tracemalloc

    from assistant.library.sections import SectionMap

    texts = list(_texts(min(n, sample), vocab, weights, rng))
    tracemalloc.start()
    chunks = list(_chunks(texts))
    sections = SectionMap(chunks)
    held = tracemalloc.get_traced_memory()[0] + sum(sys.getsizeof(t) for t in texts)
    tracemalloc.stop()
    del chunks, sections
    return held / len(texts) * n / 2**20


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--keyword":
        from assistant.offline import enforce_offline

        enforce_offline()
        print(json.dumps(keyword_child(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))))
    elif len(sys.argv) == 4:
        from assistant.offline import enforce_offline

        enforce_offline()
        print(json.dumps(scale_child(int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))))
    else:
        sys.exit("usage: python -m evals.bench.scale N FOLDER QUERIES | --keyword N QUERIES FOLDER")
