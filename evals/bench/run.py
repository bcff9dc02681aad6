"""Measures what users wait for: ingest against the raw encoder, query latency, scale, backends.

Everything runs in a temporary data directory (never the user's library). Numbers are printed
and saved, never asserted: a 2-core machine under other load gives other numbers. Ingest goes
through `ingest.pipeline.ingest`, as every surface's does; the labelled questions for the
quality figures come from the caller (`evals.bench.report.golden_questions`). Each store size
is measured in a child process (`evals.bench.scale`), so each size's memory is its own.
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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assistant.library.embedder import MiniLMEmbeddings
from assistant.settings import PROJECT_ROOT, Settings
from evals.bench.backends import decide, measure_backends, measure_grid
from evals.bench.ingest import RecordingEmbedder, measure_ingest
from evals.bench.scale import percentiles_ms

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
CHILD_TIMEOUT_S = 1500  # one scale size's child process at most (25 min)


@dataclass(frozen=True)
class LabelledQuestion:
    """A question and the documents a good retrieval finds (for recall@5 and MRR@10)."""

    question: str
    doc_ids: tuple[str, ...]
    match: Callable | None = None  # (ranked [(doc_id, section, page)], k) -> (recall, rr)


@dataclass(frozen=True)
class BenchPlan:
    """What one run measures; `full()` and `quick()` are the two the CLI offers."""

    # (name, folders or files): each source is one ingest, as a user adds them; the sources one
    # after another
    sources: tuple[tuple[str, tuple[Path, ...]], ...]
    questions: int = 100
    scales: tuple[int, ...] = (1_000, 10_000, 100_000)
    large_scales: tuple[int, ...] = ()  # keyword index and exact dense search only (--large)
    load_seconds: int = 0  # concurrent askers against a Chroma server, for so long (--load)
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
        """Under two minutes on a quiet 2-core machine: backends on a sample, no grid, the
        store at 1k chunks only (10k took 35 s of 150 on the slower of our VMs)."""
        return cls(tuple(sources), questions=20, scales=(1_000,), scale_queries=100,
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


def busy_note(m: dict) -> str:
    """Whether the figures come from a quiet machine: a load average above half the cores at
    the start, or above the cores at the end, means other work shared the CPU."""
    start, end = m["load_average"][0], m.get("load_average_end", [0])[0]
    cores = m.get("cores") or 1
    if start > cores / 2 or end > cores:
        return (f"LOADED machine (other work shared the {cores} cores): the figures are not "
                "those of an idle machine.")
    return "quiet machine."


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


class Benchmark:
    """One benchmark run over a temporary library built from the plan's sources."""

    def __init__(self, settings: Settings, plan: BenchPlan,
                 labelled: Sequence[LabelledQuestion] = (), progress: Progress | None = None):
        self.work = Path(tempfile.mkdtemp(prefix="hrdd-bench-"))
        self.settings = settings.model_copy(update={"data_dir": self.work / "data",
                                                    "chroma_url": None, "collection": "bench"})
        self.plan = plan
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
        from assistant.composition import Library, build_assistant

        try:
            result: dict = {"run_id": datetime.now().strftime("%Y%m%d-%H%M%S"),
                            "machine": machine(), "plan": _plan_dict(self.plan),
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
            recorder = RecordingEmbedder(embedder)
            ingesting = Library(self.settings, embedder=recorder)
            result["ingest"] = self._phase("ingest", measure_ingest, self, ingesting, recorder)
            # The same Chroma client (one per folder and process), the plain embedder.
            library = Library(self.settings, client=ingesting.store.client, embedder=embedder)
            assistant = build_assistant(self.settings, library).warm_up()
            result["queries"] = self._phase("queries", self.measure_queries, assistant)
            result["backends"] = self._phase("backends", measure_backends, self, library)
            result["grid"] = self._phase("grid", measure_grid, self)
            library.store.client.close()  # the cold-start child opens the same folder
            result["cold_start"] = self._phase("cold_start", self.measure_cold_start,
                                               result["queries"]["sample"])
            result["load"] = self._phase("load", self.measure_load) if self.plan.load_seconds \
                else {}
            result["scale"] = [self._phase(f"scale_{n}", self.measure_scale, n)
                               for n in self.plan.scales]
            result["large_scale"] = [self._phase(f"large_{n}", self.measure_large, n)
                                     for n in self.plan.large_scales]
            result["phase_s"] = self.phases
            result["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
            result["machine"]["busy_note"] = busy_note(result["machine"])
            result["headline"] = headline(result)
            result["decision"] = decide(result)
            return result
        finally:
            shutil.rmtree(self.work, ignore_errors=True)

    # ----- ingest, next to the raw encoder on the very same chunks
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
                  "from assistant.offline import prepare_process; "
                  "from assistant.composition import build_assistant; "
                  "s = Settings(_env_file=None, **json.loads(sys.argv[1])); "
                  "prepare_process(s.embedding_threads); "
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

    # ----- the store and keyword index at scale, each size in its own process
    def measure_scale(self, n: int) -> dict:
        self.say(f"scale: {n:,} synthetic chunks")
        return self._child(n, ["-m", "evals.bench.scale", str(n), str(self.work / f"scale-{n}"),
                               str(self.plan.scale_queries)], self.work / f"scale-{n}")

    def measure_load(self) -> dict:
        from evals.bench.load import measure_load

        self.say(f"load: 2 app processes x 4 askers, one Chroma server, "
                 f"{self.plan.load_seconds} s")
        return measure_load(self, self.questions(40), self.plan.load_seconds)

    def measure_large(self, n: int) -> dict:
        self.say(f"large scale: the retriever's holding and exact dense search over {n:,} chunks")
        folder = self.work / f"large-{n}"
        return self._child(n, ["-m", "evals.bench.scale", "--keyword", str(n),
                               str(self.plan.scale_queries), str(folder)], folder)

    def _child(self, n: int, args: list[str], folder: Path) -> dict:
        """One size's child process; one that outlives CHILD_TIMEOUT_S is stopped and its
        row says so, so that a run always ends (an idle machine needs 5 minutes at 1M)."""
        try:
            done = subprocess.run([sys.executable, *args], capture_output=True, text=True,
                                  timeout=CHILD_TIMEOUT_S, env=_child_env())
        except subprocess.TimeoutExpired:
            self.say(f"{n:,} chunks: stopped after {CHILD_TIMEOUT_S} s")
            return {"chunks": n, "timed_out_s": CHILD_TIMEOUT_S}
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if done.returncode:
            raise RuntimeError(f"the scale process ({n}) failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def _child_env() -> dict:
    root = str(PROJECT_ROOT)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root}


def _plan_dict(plan: BenchPlan) -> dict:
    return {"sources": [[n, [str(p) for p in paths]] for n, paths in plan.sources],
            "questions": plan.questions,
            "scales": list(plan.scales), "large_scales": list(plan.large_scales),
            "load_seconds": plan.load_seconds,
            "backends": list(plan.backends),
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
