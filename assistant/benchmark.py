"""Measures what users wait for: ingest against the raw encoder, query latency, scale, backends.

Everything runs in a temporary data directory (never the user's library). Numbers are printed
and saved, never asserted: a 2-core machine under other load gives other numbers. Heavy
pieces (the ingest pipeline, the golden set) are passed in by the caller, so this module
depends on neither `ingest` nor `evals`. Each store size is measured in a child process
(`assistant.bench_scale`), so each size's memory is its own.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assistant.bench_scale import percentiles_ms
from assistant.embedder import MiniLMEmbeddings
from assistant.settings import Settings

HEADLINE = ("encoder_chunks_per_s", "pipeline_chunks_per_s", "ingest_ratio", "retrieval_p50_ms",
            "retrieval_p95_ms", "answer_p50_ms", "answer_p95_ms", "cold_start_s")
BACKENDS = ("torch", "onnx", "onnx-int8")
TEMPLATES = ("What does the guidance say about {h}?", "How should a company handle {h}?",
             "What are the human-rights risks of {h} for a technology company?",
             "{H}: what should we check before the deal goes ahead?",
             "When does {h} matter for a sale to a government customer?",
             "Which steps does the library recommend on {h}?")
NUMBERING = re.compile(r"^\s*(\d+(\.\d+)*\.?|[A-Z]\.|[ivx]+\.)\s+")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class LabelledQuestion:
    """A question and the documents a good retrieval finds (for recall@5 and MRR@10)."""

    question: str
    doc_ids: tuple[str, ...]
    match: Callable | None = None  # (ranked [(doc_id, section, page)], k) -> (recall, rr)


@dataclass(frozen=True)
class BenchPlan:
    """What one run measures; `full()` and `quick()` are the two the CLI offers."""

    sources: tuple[tuple[str, Path], ...]  # (name, folder or file) ingested one after another
    questions: int = 100
    scales: tuple[int, ...] = (1_000, 10_000, 100_000)
    scale_queries: int = 200
    backends: tuple[str, ...] = BACKENDS
    batch_sizes: tuple[int, ...] = (8, 16, 32, 64)
    thread_counts: tuple[int, ...] = (1, 2)
    grid_chunks: int = 96
    rounds: int = 3  # interleaved speed rounds per backend
    quality: bool = True  # recall@5 / MRR@10 per backend (needs every chunk encoded by each)
    cold_start: bool = True

    @classmethod
    def full(cls, sources) -> BenchPlan:
        return cls(tuple(sources))

    @classmethod
    def quick(cls, sources) -> BenchPlan:
        """About two minutes on a quiet 2-core machine: backends on a sample, no grid."""
        return cls(tuple(sources), questions=20, scales=(1_000, 10_000), scale_queries=100,
                   batch_sizes=(), thread_counts=(), grid_chunks=32, rounds=1,
                   quality=False)


def machine() -> dict:
    import chromadb
    import onnxruntime

    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor())
    info = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count(),
            "cpu": cpu, "python": platform.python_version(), "chromadb": chromadb.__version__,
            "onnxruntime": onnxruntime.__version__,
            "load_average": [round(x, 2) for x in os.getloadavg()]}
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    info.update({k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")})
    return info


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


class RecordingEmbedder:
    """The embedder the pipeline uses, keeping each batch of texts it was asked to embed."""

    def __init__(self, inner: MiniLMEmbeddings):
        self.inner = inner
        self.batches: list[list[str]] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        return self.inner.embed_documents(texts)


class Benchmark:
    """One benchmark run over a temporary library built from the plan's sources."""

    def __init__(self, settings: Settings, plan: BenchPlan, ingestor_cls,
                 labelled: Sequence[LabelledQuestion] = (), progress: Progress | None = None):
        self.work = Path(tempfile.mkdtemp(prefix="hrdd-bench-"))
        self.settings = settings.model_copy(update={"data_dir": self.work / "data",
                                                    "chroma_url": None, "collection": "bench"})
        self.plan = plan
        self.ingestor_cls = ingestor_cls
        self.labelled = list(labelled)
        self._progress = progress or (lambda _msg: None)
        self._started = time.perf_counter()
        self.phases: dict[str, float] = {}
        self.chunks: list[dict] = []  # every ingested chunk: embed text, doc_id, metadata

    def say(self, message: str) -> None:
        self._progress(f"[{time.perf_counter() - self._started:6.1f}s] {message}")

    def _phase(self, name: str, fn, *args):
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.phases[name] = round(time.perf_counter() - t0, 1)

    def run(self) -> dict:
        from assistant.service import Library, build_assistant

        try:
            result: dict = {"machine": machine(), "plan": _plan_dict(self.plan),
                            "settings": {"backend": self.settings.embedding_backend,
                                         "batch_size": self.settings.embedding_batch_size,
                                         "threads": self.settings.embedding_threads}}
            embedder = MiniLMEmbeddings(self.settings.embedding)
            t0 = time.perf_counter()
            embedder.load()
            result["model_load_s"] = round(time.perf_counter() - t0, 2)
            # One small call first, so neither the pipeline nor the raw encoder pays the first
            # call's set-up; the cold start is measured on its own below.
            embedder.encode(["warm-up"] * 4)
            library = Library(self.settings, embedder=embedder)
            result["ingest"] = self._phase("ingest", self.measure_ingest, library)
            assistant = build_assistant(self.settings, library).warm_up()
            result["queries"] = self._phase("queries", self.measure_queries, assistant)
            result["backends"] = self._phase("backends", self.measure_backends, library)
            result["grid"] = self._phase("grid", self.measure_grid)
            library.store.client.close()  # the cold-start child opens the same folder
            result["cold_start"] = self._phase("cold_start", self.measure_cold_start,
                                               result["queries"]["sample"])
            result["scale"] = [self._phase(f"scale_{n}", self.measure_scale, n)
                               for n in self.plan.scales]
            result["phase_s"] = self.phases
            result["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
            result["headline"] = headline(result)
            result["decision"] = decide(result)
            return result
        finally:
            shutil.rmtree(self.work, ignore_errors=True)

    # ----- ingest, next to the raw encoder on the very same chunks
    def measure_ingest(self, library) -> dict:
        rows = []
        for name, path in self.plan.sources:
            recorder = RecordingEmbedder(library.embedder)
            self.say(f"ingest: {name}")
            report = self.ingestor_cls(self.settings, library.store, recorder).run([path])
            added = [o for o in report.outcomes if o.outcome in ("added", "updated")]
            texts = [t for batch in recorder.batches for t in batch]
            start = 0  # documents are embedded in file order, several to a call
            for outcome in added:
                own = texts[start:start + outcome.chunks]
                start += outcome.chunks
                self.chunks += [{"text": t, "doc_id": outcome.doc_id, "ordinal": i}
                                for i, t in enumerate(own)]
            if start != len(texts):
                raise RuntimeError(f"{name}: {len(texts)} chunks embedded, {start} stored")
            secs = {k: round(v, 3) for k, v in report.seconds.items()}
            total = sum(report.seconds.values())
            self.say(f"encoder: {len(texts)} chunks of {name}")
            t0 = time.perf_counter()
            library.embedder.encode(texts)
            encode_s = time.perf_counter() - t0
            rows.append(_ingest_row(name, len(added), len(report.failed), len(texts),
                                    report.pages, secs, total, encode_s))
        n = sum(r["chunks"] for r in rows)
        total = sum(r["seconds_total"] for r in rows)
        secs = {k: round(sum(r["seconds"][k] for r in rows), 3) for k in rows[0]["seconds"]}
        encode_s = sum(r["encoder_seconds"] for r in rows)
        rows.append(_ingest_row("total", sum(r["documents"] for r in rows),
                                sum(r["failed"] for r in rows), n,
                                sum(r["pages"] for r in rows), secs, total, encode_s))
        self._attach_metadata(library.store)
        return {"rows": rows}

    def _attach_metadata(self, store) -> None:
        meta = {(c.metadata.get("doc_id"), c.metadata.get("ordinal")): c
                for c in store.committed_chunks()}
        for c in self.chunks:
            stored = meta.get((c["doc_id"], c["ordinal"]))
            c["id"] = stored.chunk_id if stored else f"{c['doc_id']}:{c['ordinal']}"
            c["chunk_text"] = stored.text if stored else c["text"]
            c["metadata"] = stored.metadata if stored else {"doc_id": c["doc_id"]}

    # ----- warm queries
    def questions(self, n: int) -> list[str]:
        """Varied questions made from the library's headings and titles (deterministic)."""
        heads = []
        for c in self.chunks:
            m = c["metadata"]
            for h in (m.get("section"), m.get("title")):
                h = NUMBERING.sub("", str(h or "")).strip(" .:")
                if 3 <= len(h) <= 90 and h.lower() not in heads:
                    heads.append(h.lower())
        rng = random.Random(7)
        rng.shuffle(heads)
        out: list[str] = []
        for i in range(max(n, 1) * 3):
            if len(out) >= n or not heads:
                break
            h = heads[i % len(heads)]
            q = TEMPLATES[i % len(TEMPLATES)].format(h=h, H=h[:1].upper() + h[1:])
            if q not in out:
                out.append(q)
        return out

    def measure_queries(self, assistant) -> dict:
        questions = self.questions(self.plan.questions)
        self.say(f"queries: {len(questions)} questions, retrieval then answers")
        assistant.answer(questions[0])  # warm: first-call costs are the cold start's business
        retrieval, answers, declined, stages = [], [], 0, {}
        for q in questions:
            t0 = time.perf_counter()
            found = assistant.retrieve(q)
            retrieval.append(time.perf_counter() - t0)
            for stage, secs in found.timings.items():
                stages.setdefault(stage, []).append(secs)
        for q in questions:
            t0 = time.perf_counter()
            ans = assistant.answer(q)
            answers.append(time.perf_counter() - t0)
            declined += ans.declined
        return {"questions": len(questions), "declined": declined,
                "retrieval": percentiles_ms(retrieval), "answer": percentiles_ms(answers),
                "retrieval_stages_p50_ms": {k: round(float(np.median(v)) * 1000, 2)
                                            for k, v in stages.items()},
                "sample": questions[0]}

    def measure_cold_start(self, question: str) -> dict:
        """A fresh interpreter: import, build the assistant, answer one question."""
        if not self.plan.cold_start:
            return {}
        self.say("cold start: a new process answers one question")
        script = ("import json, time, sys; from assistant.settings import Settings; "
                  "from assistant.service import build_assistant; "
                  "s = Settings(_env_file=None, **json.loads(sys.argv[1])); "
                  "a = build_assistant(s).answer(sys.argv[2]); "
                  "print(json.dumps({'end': time.time(), 'declined': a.declined}))")
        s = self.settings
        overrides = {"data_dir": str(s.data_dir), "collection": s.collection,
                     "embedding_backend": s.embedding_backend,
                     "embedding_batch_size": s.embedding_batch_size,
                     "embedding_threads": s.embedding_threads}
        start = time.time()
        done = subprocess.run([sys.executable, "-c", script, json.dumps(overrides), question],
                              capture_output=True, text=True, timeout=600, env=_child_env())
        if done.returncode:
            raise RuntimeError(f"the cold-start process failed: {done.stderr[-2000:]}")
        child = json.loads(done.stdout.strip().splitlines()[-1])
        return {"seconds": round(child["end"] - start, 2), "declined": child["declined"]}

    # ----- backends side by side, on the same chunks
    def measure_backends(self, library) -> dict:
        """Each backend on the same chunks: speed in interleaved rounds, then retrieval quality.

        The rounds alternate backends (torch, onnx, int8, torch, ...) and keep each one's best,
        so load from other processes on a shared machine does not favour whichever ran first.
        """
        from assistant.service import Library, build_assistant

        texts = [c["text"] for c in self.chunks]
        sample = _sample(texts, self.plan.grid_chunks)
        embedders, rows = {}, {}
        for backend in self.plan.backends:
            self.say(f"backend {backend}: load")
            emb = MiniLMEmbeddings(replace(self.settings.embedding, backend=backend))
            t0 = time.perf_counter()
            emb.load()
            rows[backend] = {"backend": backend, "load_s": round(time.perf_counter() - t0, 2),
                             "chunks": len(sample), "rounds": []}
            emb.encode(sample[:8])  # first-call allocations are not throughput
            embedders[backend] = emb
        for n in range(self.plan.rounds):
            self.say(f"backends: round {n + 1} of {self.plan.rounds}, {len(sample)} chunks each")
            for backend, emb in embedders.items():
                t0 = time.perf_counter()
                emb.encode(sample)
                rows[backend]["rounds"].append(round(len(sample) / (time.perf_counter() - t0), 1))
        for backend, emb in embedders.items():
            rows[backend]["chunks_per_s"] = max(rows[backend]["rounds"])
            rows[backend]["batch_invariance"] = batch_invariance(emb, sample)
        if self.labelled and self.plan.quality:
            records = {r.doc_id: r for r in library.store.documents()}
            for backend, emb in embedders.items():
                self.say(f"backend {backend}: {len(texts)} chunks, {len(self.labelled)} questions")
                s = self.settings.model_copy(update={"embedding_backend": backend,
                                                     "collection": f"bench-{backend}"})
                t0 = time.perf_counter()
                vectors = emb.encode(texts)
                rows[backend]["full_pass_chunks_per_s"] = round(
                    len(texts) / (time.perf_counter() - t0), 1)
                lib = Library(s, client=library.store.client, embedder=emb)
                self._write_vectors(lib.store, vectors, records)
                rows[backend].update(self._quality(emb, vectors,
                                                   build_assistant(s, lib).warm_up()))
        rows = list(rows.values())
        ref = next((r for r in rows if r["backend"] == "torch"), rows[0])
        for r in rows:
            r["speedup"] = round(r["chunks_per_s"] / ref["chunks_per_s"], 2)
        return {"rows": rows, "questions": len(self.labelled) if self.plan.quality else 0}

    def _write_vectors(self, store, vectors: np.ndarray, records: dict) -> None:
        """A copy of the library whose vectors come from another backend."""
        from assistant.store import ChunkBatch

        by_doc: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            by_doc.setdefault(c["doc_id"], []).append(i)
        for doc_id, idx in by_doc.items():
            batch = ChunkBatch([self.chunks[i]["id"] for i in idx],
                               [self.chunks[i]["chunk_text"] for i in idx],
                               vectors[idx].tolist(), [self.chunks[i]["metadata"] for i in idx])
            store.write_document(records[doc_id], batch)

    def _quality(self, emb, vectors: np.ndarray, assistant) -> dict:
        """recall@5 and MRR@10: dense only (the embedder alone) and hybrid (what users get)."""
        queries = emb.encode([q.question for q in self.labelled])
        docs = [c["metadata"] for c in self.chunks]
        dense, hybrid = [], []
        for q, qv in zip(self.labelled, queries, strict=True):
            order = np.argsort(-(vectors @ qv))[:10]
            dense.append(_score(q, [_where(docs[i]) for i in order]))
            found = assistant.retrieve(q.question, 10).passages
            hybrid.append(_score(q, [(p.doc_id, p.section, p.page) for p in found]))
        d, h = np.array(dense), np.array(hybrid)
        return {"dense_recall_at_5": round(float(d[:, 0].mean()), 4),
                "dense_mrr_at_10": round(float(d[:, 1].mean()), 4),
                "recall_at_5": round(float(h[:, 0].mean()), 4),
                "mrr_at_10": round(float(h[:, 1].mean()), 4)}

    def measure_grid(self) -> dict:
        """Chunks/s for each batch size and thread count, per backend, on a sample of chunks."""
        if not self.plan.batch_sizes or not self.plan.thread_counts:
            return {}
        import torch  # lazy: the thread count set below is torch's process-wide setting

        sample = _sample([c["text"] for c in self.chunks], self.plan.grid_chunks)
        default_threads = torch.get_num_threads()
        rows = []
        try:
            for backend in self.plan.backends:
                for threads in self.plan.thread_counts:
                    self.say(f"grid: {backend}, {threads} thread(s)")
                    emb = MiniLMEmbeddings(replace(self.settings.embedding, backend=backend,
                                                   threads=threads)).load()
                    emb.encode(sample[:8])
                    for bs in self.plan.batch_sizes:
                        emb.settings = replace(emb.settings, batch_size=bs)
                        t0 = time.perf_counter()
                        emb.encode(sample)
                        rate = len(sample) / (time.perf_counter() - t0)
                        rows.append({"backend": backend, "threads": threads, "batch_size": bs,
                                     "chunks_per_s": round(rate, 1)})
        finally:
            torch.set_num_threads(default_threads)
        best = {}
        for backend in self.plan.backends:
            mine = [r for r in rows if r["backend"] == backend]
            top = max(mine, key=lambda r: r["chunks_per_s"])
            best[backend] = {"batch_size": top["batch_size"], "threads": top["threads"],
                             "chunks_per_s": top["chunks_per_s"]}
        return {"rows": rows, "chunks": len(sample), "best": best}

    # ----- the store and keyword index at scale, each size in its own process
    def measure_scale(self, n: int) -> dict:
        self.say(f"scale: {n:,} synthetic chunks")
        folder = self.work / f"scale-{n}"
        done = subprocess.run([sys.executable, "-m", "assistant.bench_scale", str(n),
                               str(folder), str(self.plan.scale_queries)],
                              capture_output=True, text=True, timeout=3600, env=_child_env())
        if done.returncode:
            raise RuntimeError(f"the scale process ({n}) failed: {done.stderr[-2000:]}")
        shutil.rmtree(folder, ignore_errors=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def _ingest_row(name, documents, failed, chunks, pages, secs, total, encode_s) -> dict:
    pipeline = chunks / total if total else 0.0
    encoder = chunks / encode_s if encode_s else 0.0
    return {"source": name, "documents": documents, "failed": failed, "chunks": chunks,
            "pages": pages, "seconds": secs, "seconds_total": round(total, 3),
            "pipeline_chunks_per_s": round(pipeline, 1),
            "pages_per_s": round(pages / total, 2) if total and pages else None,
            "encoder_seconds": round(encode_s, 3), "encoder_chunks_per_s": round(encoder, 1),
            "ingest_ratio": round(pipeline / encoder, 3) if encoder else None}


def _sample(texts: list[str], n: int) -> list[str]:
    """n texts spread evenly over the list (so long and short chunks both appear)."""
    step = max(1, len(texts) // max(n, 1))
    return texts[::step][:n]


def _where(meta: dict) -> tuple:
    return meta.get("doc_id", ""), meta.get("section"), meta.get("page")


def _score(q: LabelledQuestion, ranked: list[tuple]) -> tuple[float, float]:
    """(recall@5, reciprocal rank within 10) by the question's own matcher or its doc ids."""
    if q.match:
        return q.match(ranked)
    wanted = set(q.doc_ids)
    recall = len(wanted & {d for d, _, _ in ranked[:5]}) / max(len(wanted), 1)
    rr = next((1.0 / r for r, (d, _, _) in enumerate(ranked[:10], 1) if d in wanted), 0.0)
    return recall, rr


def _child_env() -> dict:
    root = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root}


def _plan_dict(plan: BenchPlan) -> dict:
    return {"sources": [[n, str(p)] for n, p in plan.sources], "questions": plan.questions,
            "scales": list(plan.scales), "backends": list(plan.backends),
            "batch_sizes": list(plan.batch_sizes), "thread_counts": list(plan.thread_counts),
            "grid_chunks": plan.grid_chunks, "rounds": plan.rounds}


def headline(result: dict) -> dict:
    total = result["ingest"]["rows"][-1]
    q = result["queries"]
    return {"encoder_chunks_per_s": total["encoder_chunks_per_s"],
            "pipeline_chunks_per_s": total["pipeline_chunks_per_s"],
            "ingest_ratio": total["ingest_ratio"],
            "retrieval_p50_ms": q["retrieval"]["p50_ms"], "retrieval_p95_ms": q["retrieval"]["p95_ms"],
            "answer_p50_ms": q["answer"]["p50_ms"], "answer_p95_ms": q["answer"]["p95_ms"],
            "cold_start_s": result["cold_start"].get("seconds")}


QUALITY = ("recall_at_5", "mrr_at_10", "dense_recall_at_5", "dense_mrr_at_10")
RULE = (">= 1.5x torch chunks/s; recall@5 and MRR@10 (hybrid and dense) within 0.01 of torch; "
        "a text's vector the same whatever it is batched with (cosine >= 0.999)")


def decide(result: dict) -> dict:
    """Which backend the measurements make the default: ONNX only if it is at least 1.5x faster
    and as good as PyTorch.

    "As good" is read strictly: recall@5 and MRR@10, through the assistant and through the
    embeddings alone, each within one point; and batch invariance, because a vector that
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
                  "as_good": all(d >= -0.01 for d in deltas.values()),
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
