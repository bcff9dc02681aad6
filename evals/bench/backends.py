"""The embedding backends side by side on the same chunks: speed, retrieval quality, the rule.

Called by `evals.bench.run.Benchmark` (`bench` below), whose chunks and settings it reads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from assistant.library.embedder import MiniLMEmbeddings


def measure_backends(bench, library) -> dict:
    """Each backend on the same chunks: speed in interleaved rounds, then retrieval quality.

    The rounds alternate backends (torch, onnx, int8, torch, ...) and keep each one's best,
    so load from other processes on a shared machine does not favour whichever ran first.
    """
    from assistant.composition import Library, build_assistant

    texts = [c["text"] for c in bench.chunks]
    sample = _sample(texts, bench.plan.grid_chunks)
    embedders, rows = {}, {}
    for backend in bench.plan.backends:
        bench.say(f"backend {backend}: load")
        emb = MiniLMEmbeddings(replace(bench.settings.embedding, backend=backend))
        t0 = time.perf_counter()
        emb.load()
        rows[backend] = {"backend": backend, "load_s": round(time.perf_counter() - t0, 2),
                         "chunks": len(sample), "rounds": []}
        emb.encode(sample[:8])  # first-call allocations are not throughput
        embedders[backend] = emb
    for n in range(bench.plan.rounds):
        bench.say(f"backends: round {n + 1} of {bench.plan.rounds}, {len(sample)} chunks each")
        for backend, emb in embedders.items():
            t0 = time.perf_counter()
            emb.encode(sample)
            rows[backend]["rounds"].append(round(len(sample) / (time.perf_counter() - t0), 1))
    for backend, emb in embedders.items():
        rows[backend]["chunks_per_s"] = max(rows[backend]["rounds"])
        rows[backend]["batch_invariance"] = batch_invariance(emb, sample)
    if bench.labelled and bench.plan.quality:
        records = {r.doc_id: r for r in library.store.documents()}
        for backend, emb in embedders.items():
            bench.say(f"backend {backend}: {len(texts)} chunks, {len(bench.labelled)} questions")
            s = bench.settings.model_copy(update={"embedding_backend": backend,
                                                 "collection": f"bench-{backend}"})
            t0 = time.perf_counter()
            vectors = emb.encode(texts)
            rows[backend]["full_pass_chunks_per_s"] = round(
                len(texts) / (time.perf_counter() - t0), 1)
            lib = Library(s, client=library.store.client, embedder=emb)
            _write_vectors(bench, lib.store, vectors, records)
            rows[backend].update(_quality(bench, emb, vectors,
                                               build_assistant(s, lib).warm_up()))
    rows = list(rows.values())
    ref = next((r for r in rows if r["backend"] == "torch"), rows[0])
    for r in rows:
        r["speedup"] = round(r["chunks_per_s"] / ref["chunks_per_s"], 2)
    return {"rows": rows, "questions": len(bench.labelled) if bench.plan.quality else 0}

def _write_vectors(bench, store, vectors: np.ndarray, records: dict) -> None:
    """A copy of the library whose vectors come from another backend."""
    from assistant.library.store import ChunkBatch

    by_doc: dict[str, list[int]] = {}
    for i, c in enumerate(bench.chunks):
        by_doc.setdefault(c["doc_id"], []).append(i)
    for doc_id, idx in by_doc.items():
        batch = ChunkBatch([bench.chunks[i]["id"] for i in idx],
                           [bench.chunks[i]["chunk_text"] for i in idx],
                           vectors[idx].tolist(), [bench.chunks[i]["metadata"] for i in idx])
        store.write_document(records[doc_id], batch)

def _quality(bench, emb, vectors: np.ndarray, assistant) -> dict:
    """recall@5 and MRR@10: dense only (the embedder alone) and hybrid (what users get)."""
    queries = emb.encode([q.question for q in bench.labelled])
    docs = [c["metadata"] for c in bench.chunks]
    dense, hybrid = [], []
    for q, qv in zip(bench.labelled, queries, strict=True):
        order = np.argsort(-(vectors @ qv))[:10]
        dense.append(_score(q, [_where(docs[i]) for i in order]))
        found = assistant.retrieve(q.question, 10).passages
        hybrid.append(_score(q, [(p.doc_id, p.section, p.page) for p in found]))
    d, h = np.array(dense), np.array(hybrid)
    return {"dense_recall_at_5": round(float(d[:, 0].mean()), 4),
            "dense_mrr_at_10": round(float(d[:, 1].mean()), 4),
            "recall_at_5": round(float(h[:, 0].mean()), 4),
            "mrr_at_10": round(float(h[:, 1].mean()), 4)}

def measure_grid(bench) -> dict:
    """Chunks/s for each batch size and thread count, per backend, on a sample of chunks."""
    if not bench.plan.batch_sizes or not bench.plan.thread_counts:
        return {}
    import torch  # lazy: the thread count set below is torch's process-wide setting

    sample = _sample([c["text"] for c in bench.chunks], bench.plan.grid_chunks)
    default_threads = torch.get_num_threads()
    rows = []
    try:
        for backend in bench.plan.backends:
            for threads in bench.plan.thread_counts:
                bench.say(f"grid: {backend}, {threads} thread(s)")
                torch.set_num_threads(threads)  # torch's own; ONNX takes it per session
                emb = MiniLMEmbeddings(replace(bench.settings.embedding, backend=backend,
                                               threads=threads)).load()
                emb.encode(sample[:8])
                for bs in bench.plan.batch_sizes:
                    emb.settings = replace(emb.settings, batch_size=bs)
                    t0 = time.perf_counter()
                    emb.encode(sample)
                    rate = len(sample) / (time.perf_counter() - t0)
                    rows.append({"backend": backend, "threads": threads, "batch_size": bs,
                                 "chunks_per_s": round(rate, 1)})
    finally:
        torch.set_num_threads(default_threads)
    best = {}
    for backend in bench.plan.backends:
        mine = [r for r in rows if r["backend"] == backend]
        top = max(mine, key=lambda r: r["chunks_per_s"])
        best[backend] = {"batch_size": top["batch_size"], "threads": top["threads"],
                         "chunks_per_s": top["chunks_per_s"]}
    return {"rows": rows, "chunks": len(sample), "best": best}


def _sample(texts: list[str], n: int) -> list[str]:
    """n texts spread evenly over the list (so long and short chunks both appear)."""
    step = max(1, len(texts) // max(n, 1))
    return texts[::step][:n]


def _where(meta: dict) -> tuple:
    return meta.get("doc_id", ""), meta.get("section"), meta.get("page")


def _score(q, ranked: list[tuple]) -> tuple[float, float]:
    """(recall@5, reciprocal rank within 10) by the question's own matcher or its doc ids."""
    if q.match:
        return q.match(ranked)
    wanted = set(q.doc_ids)
    recall = len(wanted & {d for d, _, _ in ranked[:5]}) / max(len(wanted), 1)
    rr = next((1.0 / r for r, (d, _, _) in enumerate(ranked[:10], 1) if d in wanted), 0.0)
    return recall, rr


QUALITY = ("recall_at_5", "mrr_at_10", "dense_recall_at_5", "dense_mrr_at_10")
RULE = (">= 1.5x torch chunks/s; recall@5 and MRR@10 (hybrid and dense) within 0.005 of torch; "
        "a text's vector the same whatever it is batched with (cosine >= 0.999)")


def decide(result: dict) -> dict:
    """Which backend the measurements make the default: ONNX only if it is at least 1.5x faster
    and as good as PyTorch.

    "As good" is read strictly: recall@5 and MRR@10, through the assistant and through the
    embeddings alone, each within half a point (issue 19); and batch invariance, because a vector that
    depends on its batch neighbours makes a library's contents depend on how it was ingested
    (dynamic int8 quantisation scales activations per batch).
    """
    rows = {r["backend"]: r for r in result["backends"]["rows"]}
    torch_row = rows.get("torch")
    verdicts = {}
    for name in ("onnx", "onnx-int8"):
        r = rows.get(name)
        if not r or not torch_row or "recall_at_5" not in r:
            continue
        deltas = {k: round(r[k] - torch_row[k], 4) for k in QUALITY}
        checks = {"fast": r["speedup"] >= 1.5,
                  "as_good": all(d >= -0.005 for d in deltas.values()),
                  "batch_invariant": r.get("batch_invariance", 1.0) >= 0.999}
        verdicts[name] = {"speedup": r["speedup"], "deltas": deltas, "checks": checks,
                          "qualifies": all(checks.values())}
    winners = [n for n, v in verdicts.items() if v["qualifies"]]
    best = max(winners, key=lambda n: verdicts[n]["speedup"]) if winners else "torch"
    return {"default_backend": best, "candidates": verdicts, "rule": RULE}


def batch_invariance(embedder: MiniLMEmbeddings, texts: Sequence[str], n: int = 8) -> float:
    """The lowest cosine between a text embedded alone and the same text embedded in a batch."""
    texts = list(texts)[:n]
    together = np.asarray(embedder.encode(texts))
    alone = np.asarray([embedder.encode([t])[0] for t in texts])
    return round(float((together * alone).sum(axis=1).min()), 5)
