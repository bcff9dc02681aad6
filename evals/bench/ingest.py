"""Ingest against the raw encoder: the pipeline's wall time next to `encode` on the same texts.

Called by `evals.bench.run.Benchmark`, whose sources and chunk list it fills. Since ingest also
embeds each chunk's sentences and section questions (for the composer and the retriever), the
encoder's work per chunk is the chunk plus those texts; both are timed, each in one call.
"""

from __future__ import annotations

import threading
import time

from assistant.library.embedder import MiniLMEmbeddings, TokenCounter
from ingest.pipeline import ingest


class RecordingEmbedder:
    """The embedder the pipeline uses, keeping the texts it was asked to embed: chunks
    (`embed_documents`) apart from the sentences and section questions (`encode`)."""

    def __init__(self, inner: MiniLMEmbeddings):
        self.inner = inner
        self.batches: list[list[str]] = []
        self.sentences: list[str] = []
        self.calls: list[list[str]] = []  # every call, in order, as the pipeline made it

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        self.calls.append(list(texts))
        return self.inner.embed_documents(texts)

    def encode(self, texts: list[str]):
        self.sentences += texts
        self.calls.append(list(texts))
        return self.inner.encode(texts)

    def replay(self, calls: list[list[str]]) -> None:
        for texts in calls:
            self.inner.encode(texts)



def measure_ingest(bench, library, recorder: RecordingEmbedder) -> dict:
    """Each source through one `ingest()`, then the raw encoder on the very texts it embedded
    (its chunks, then the sentences and section questions they brought), one call each."""
    rows = []
    for name, paths in bench.plan.sources:
        recorder.batches, recorder.sentences, recorder.calls = [], [], []
        bench.say(f"ingest: {name}")
        cpu = time.process_time()  # every thread's: what the other stages add to the encoder's
        report = ingest(library, list(paths))
        cpu = time.process_time() - cpu
        added = [o for o in report.outcomes if o.outcome in ("added", "updated")]
        texts = [t for batch in recorder.batches for t in batch]
        start = 0  # documents are embedded in file order, several to a call
        for outcome in added:
            own = texts[start:start + outcome.chunks]
            start += outcome.chunks
            bench.chunks += [{"text": t, "doc_id": outcome.doc_id, "ordinal": i}
                            for i, t in enumerate(own)]
        if start != len(texts):
            raise RuntimeError(f"{name}: {len(texts)} chunks embedded, {start} stored")
        sentences = list(recorder.sentences)
        bench.say(f"encoder: {len(texts)} chunks and {len(sentences)} sentences of {name}")
        encoder = {"chunks": in_a_thread(recorder.inner.encode, texts),
                   "sentences": in_a_thread(recorder.inner.encode, sentences) if sentences else 0.0,
                   "pipeline_cpu": cpu}
        # The same calls the pipeline made (a group's chunks, then its sentences), with nothing
        # beside them: what is left between this and the pipeline is the other stages' CPU.
        cpu = time.process_time()
        encoder["same_calls"] = in_a_thread(recorder.replay, list(recorder.calls))
        encoder["same_calls_cpu"] = time.process_time() - cpu
        # what grouping costs, counted rather than timed (the load cannot move it)
        counter = Padding(library.settings.embedding.model, recorder.inner.settings.batch_size,
                          recorder.inner.max_tokens + 2)
        encoder["padded"] = (sum(counter.padded(c) for c in recorder.calls),
                             counter.padded(texts) + counter.padded(sentences))
        rows.append(_ingest_row(name, len(added), len(report.failed), len(texts),
                                len(sentences), report, encoder))
    bench._attach_metadata(library.store)
    return {"rows": [*rows, _total_row(rows)]}


def in_a_thread(fn, *args) -> float:
    """Seconds `fn(*args)` takes on a thread of its own, as the pipeline's encoder runs: on
    a busy 2-core machine PyTorch ran up to a quarter faster there than on the main thread,
    which would flatter the pipeline."""
    took: list[float] = []

    def run() -> None:
        t0 = time.perf_counter()
        fn(*args)
        took.append(time.perf_counter() - t0)

    worker = threading.Thread(target=run, name="bench-encoder")
    worker.start()
    worker.join()
    if not took:
        raise RuntimeError("the raw encoder failed (see the error above)")
    return took[0]


def _ingest_row(name, documents, failed, chunks, sentences, report, encoder: dict) -> dict:
    """One source: the pipeline's wall time against the raw encoder's on the same texts."""
    secs = {k: round(v, 3) for k, v in report.seconds.items()}
    return _rates({"source": name, "documents": documents, "failed": failed, "chunks": chunks,
                   "sentences": sentences, "pages": report.pages, "seconds": secs,
                   "seconds_wall": round(report.wall_seconds, 3),
                   "encoder_seconds_chunks": round(encoder["chunks"], 3),
                   "encoder_seconds_sentences": round(encoder["sentences"], 3),
                   "encoder_seconds_same_calls": round(encoder["same_calls"], 3),
                   "cpu_seconds_pipeline": round(encoder["pipeline_cpu"], 2),
                   "cpu_seconds_same_calls": round(encoder["same_calls_cpu"], 2),
                   "padded_tokens_pipeline": encoder["padded"][0],
                   "padded_tokens_two_calls": encoder["padded"][1]})


def _total_row(rows: list[dict]) -> dict:
    total = {"source": "total", "seconds": {k: round(sum(r["seconds"][k] for r in rows), 3)
                                            for k in rows[0]["seconds"]}}
    for key in ("documents", "failed", "chunks", "sentences", "pages", "seconds_wall",
                "encoder_seconds_chunks", "encoder_seconds_sentences",
                "encoder_seconds_same_calls", "cpu_seconds_pipeline", "cpu_seconds_same_calls",
                "padded_tokens_pipeline", "padded_tokens_two_calls"):
        total[key] = round(sum(r[key] for r in rows), 3)
    return _rates(total)


def _rates(row: dict) -> dict:
    """chunks/s of the pipeline (wall time) and of the encoder alone (all its texts), and
    their ratio: 1.0 would be ingest at the speed of the encoding it has to do."""
    wall, chunks = row["seconds_wall"], row["chunks"]
    encoder = row["encoder_seconds_chunks"] + row["encoder_seconds_sentences"]
    row.update({
        "sentences_per_chunk": round(row["sentences"] / chunks, 2) if chunks else None,
        "encoder_seconds": round(encoder, 3),
        "encoder_share_sentences": round(row["encoder_seconds_sentences"] / encoder, 3)
        if encoder else None,
        # the pipeline's own encoding step against its wall time, under the very same load:
        # 1.0 means parsing, chunking and writing are wholly hidden behind the encoder
        "embed_share_of_wall": round(row["seconds"]["embed"] / wall, 3) if wall else None,
        "pipeline_chunks_per_s": round(chunks / wall, 1) if wall else 0.0,
        "pages_per_s": round(row["pages"] / wall, 2) if wall and row["pages"] else None,
        "encoder_chunks_per_s": round(chunks / encoder, 1) if encoder else 0.0,
        "ingest_ratio": round(encoder / wall, 3) if wall and encoder else None,
        # the encoder alone on the pipeline's own calls against the texts in two calls: the cost
        # of embedding group by group (1.0: none), apart from the other stages' share of the CPU
        "grouping_ratio": round(encoder / same, 3) if (same := row["encoder_seconds_same_calls"])
        else None,
        "same_calls_ratio": round(same / wall, 3) if wall and same else None,
        # padded tokens of the two calls / of the pipeline's calls: grouping's padding alone
        "padding_ratio": round(row["padded_tokens_two_calls"] / row["padded_tokens_pipeline"], 3)
        if row.get("padded_tokens_pipeline") else None})
    return row


class Padding:
    """Tokens the encoder computes for a call, padding included: its texts sorted longest
    first (in characters) and cut into batches, each padded to its longest in tokens, as
    `PooledEncoder.encode` does."""

    def __init__(self, model: str, batch_size: int, max_length: int):
        self.counter = TokenCounter(model)
        self.batch, self.max = batch_size, max_length

    def padded(self, texts: list[str]) -> int:
        texts = sorted(texts, key=lambda t: -len(t))
        lengths = [min(n + 2, self.max) for n in self.counter.count_many(texts)]
        return sum(max(lengths[i:i + self.batch]) * len(lengths[i:i + self.batch])
                   for i in range(0, len(lengths), self.batch))
