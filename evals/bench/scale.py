"""The store and keyword index at one size, measured in a process of its own.

`python -m evals.bench.scale N FOLDER QUERIES` writes N synthetic chunks (text in the
corpus's own vocabulary, random unit vectors) through LibraryStore, builds the keyword index,
times queries, and prints one JSON object; the benchmark runs it once per size so that each
size's memory is its own.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.settings import STARTER_CORPUS


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
    from assistant.library.bm25 import KeywordIndex
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
    before_read = rss_mb().get("rss_mb", 0.0)
    t0 = time.perf_counter()
    chunks = list(store.committed_chunks())  # what the retriever reads at each library change
    read_s = time.perf_counter() - t0
    chunk_list_mb = (rss_mb().get("rss_mb") or 0.0) - before_read
    t0 = time.perf_counter()
    index = KeywordIndex(chunks)
    index_s = time.perf_counter() - t0
    qv = rng.standard_normal((queries, 384)).astype(np.float32)
    qv /= np.linalg.norm(qv, axis=1, keepdims=True)
    qtexts = [" ".join(rng.choice(common, size=int(rng.integers(4, 10)))) for _ in range(queries)]
    store.query(qv[0].tolist(), 30)  # first query loads the HNSW index
    dense, keyword, both = [], [], []
    for v, q in zip(qv, qtexts, strict=True):
        t0 = time.perf_counter()
        store.query(v.tolist(), 30)
        t1 = time.perf_counter()
        index.search(q, 30)
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


def keyword_child(n: int, queries: int) -> dict:
    """The keyword index over n synthetic chunks, built from a stream of texts (no store), and
    exact nearest-neighbour search over n random vectors in one matrix: what the library's
    two searches cost at sizes where writing the chunks through Chroma would take an hour."""
    from assistant.library.bm25 import KeywordIndex, build_arrays
    from assistant.library.store import StoredChunk

    vocab, weights = _vocabulary()
    rng = np.random.default_rng(11)
    base = rss_mb().get("rss_mb", 0.0)
    t0 = time.perf_counter()
    arrays = build_arrays(_texts(n, vocab, weights, rng))
    build_s = time.perf_counter() - t0
    built = rss_mb()
    index_mb = sum(arrays[k].nbytes for k in ("offsets", "docs", "tfs", "lengths")) / 2**20
    # One chunk object per 500-chunk document, shared: the index's own cost, not the texts'.
    docs = [StoredChunk(f"doc-{d}", "", {"doc_id": f"doc-{d}"}) for d in range(n // 500 + 1)]
    index = KeywordIndex([docs[i // 500] for i in range(n)], arrays=arrays)
    sample = list(_texts(1000, vocab, weights, rng))
    text_mb = sum(sys.getsizeof(t) for t in sample) / len(sample) * n / 2**20
    qtexts = [" ".join(rng.choice(vocab[:2000], size=int(rng.integers(4, 10))))
              for _ in range(queries)]
    index.search(qtexts[0], 30)
    keyword = []
    for q in qtexts:
        t1 = time.perf_counter()
        index.search(q, 30)
        keyword.append(time.perf_counter() - t1)
    del index, arrays
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
            "keyword_index_mb": round(index_mb, 1),
            "keyword_build_rss_over_base_mb": round((built.get("rss_mb") or 0) - base, 1),
            "texts_as_python_str_mb": round(text_mb, 1), "keyword": percentiles_ms(keyword),
            "exact_dense": percentiles_ms(dense), "rss_mb": mem.get("rss_mb"),
            "peak_rss_mb": mem.get("peak_rss_mb")}


def chunk_list_mb(n: int, vocab, weights, rng, sample: int = 20_000) -> float:
    """What the retriever would hold for n chunks (every chunk's text and metadata as Python
    objects, the keyword index's `chunks` and the section map over them), from a sample."""
    import tracemalloc

    from assistant.library.sections import SectionMap
    from assistant.library.store import StoredChunk

    texts = list(_texts(min(n, sample), vocab, weights, rng))
    tracemalloc.start()
    chunks = [StoredChunk(f"doc-{i // 500:05d}:h{i // 500:05d}:{i % 500}", t, {
        "doc_id": f"doc-{i // 500:05d}", "doc_hash": f"{i // 500:064x}"[:16],
        "title": f"Synthetic document {i // 500}", "kind": "guidance", "topics": ["none"],
        "source": f"/library/documents/synthetic-{i // 500}.md", "start": i * 700,
        "end": i * 700 + len(t), "tokens": 190, "ordinal": i % 500, "chunk_hash": f"{i:016x}",
        "section": f"{i % 40}. Section {i % 40}", "heading_path": f"{i % 40}. Section {i % 40}"})
        for i, t in enumerate(texts)]
    sections = SectionMap(chunks)
    held = tracemalloc.get_traced_memory()[0] + sum(sys.getsizeof(t) for t in texts)
    tracemalloc.stop()
    del chunks, sections
    return held / len(texts) * n / 2**20


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--keyword":
        from assistant.offline import enforce_offline

        enforce_offline()
        print(json.dumps(keyword_child(int(sys.argv[2]), int(sys.argv[3]))))
    elif len(sys.argv) == 4:
        from assistant.offline import enforce_offline

        enforce_offline()
        print(json.dumps(scale_child(int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))))
    else:
        sys.exit("usage: python -m evals.bench.scale N FOLDER QUERIES | --keyword N QUERIES")
