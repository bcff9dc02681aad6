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


def _synthetic(n: int, seed: int = 11):
    """n chunk texts in the corpus's own vocabulary (Zipf-weighted), and n random unit vectors."""
    words = re.findall(r"[a-z]{3,}", " ".join(p.read_text(errors="replace").lower()
                                              for p in sorted(STARTER_CORPUS.rglob("*.md"))))
    vocab, counts = np.unique(np.array(words or ["word"]), return_counts=True)
    order = np.argsort(-counts)
    vocab = vocab[order]
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    rng = np.random.default_rng(seed)
    lengths = rng.integers(90, 170, size=n)
    picks = rng.choice(len(vocab), size=int(lengths.sum()), p=weights)
    texts, at = [], 0
    for length in lengths:
        texts.append(" ".join(vocab[picks[at:at + length]]))
        at += length
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return texts, vectors, vocab[:2000], rng


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
    t0 = time.perf_counter()
    index = KeywordIndex(list(store.committed_chunks()))
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
            "dense": percentiles_ms(dense), "keyword": percentiles_ms(keyword),
            "query": percentiles_ms(both), "rss_mb": mem.get("rss_mb"),
            "peak_rss_mb": mem.get("peak_rss_mb"), "rss_over_base_mb": round(
                (mem.get("rss_mb") or 0) - base, 1), "disk_mb": round(disk / 2**20, 1)}


if __name__ == "__main__":
    if len(sys.argv) == 4:
        from assistant.offline import enforce_offline

        enforce_offline()
        print(json.dumps(scale_child(int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))))
    else:
        sys.exit("usage: python -m evals.bench.scale N FOLDER QUERIES")
