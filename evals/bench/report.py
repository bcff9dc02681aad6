"""A benchmark run written down: bench.json and bench.md, and the golden questions it scores.

The Markdown tables are what docs/performance.md quotes; the JSON keeps every figure.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path


def golden_questions() -> tuple[list, str]:
    """The golden set's answerable questions with their labels, scored by evals.metrics."""
    from evals.bench.run import LabelledQuestion

    try:
        from evals.golden_set import ANSWERABLE, load_golden_set
        from evals.metrics import Retrieved, mrr_at_k, recall_at_k, section_number

        items = load_golden_set().by_category(*ANSWERABLE)
    except Exception as exc:  # noqa: BLE001 - the benchmark still runs without quality numbers
        return [], f"No retrieval-quality numbers: the golden set cannot be loaded ({exc})."

    def matcher(labels):
        def match(ranked):
            where = [Retrieved(d, (n,) if (n := section_number(s)) else (), p)
                     for d, s, p in ranked]
            return recall_at_k(where, labels, 5), mrr_at_k(where, labels, 10)
        return match

    return [LabelledQuestion(i.question, i.relevant_doc_ids, matcher(i.labels))
            for i in items if i.labels], ""


def save(result: dict, out_dir: Path) -> Path:
    """Write bench.json and bench.md to `out_dir/<run id>/` (the run's start time)."""
    result.setdefault("run_id", datetime.now().strftime("%Y%m%d-%H%M%S"))
    folder = out_dir / result["run_id"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    (folder / "bench.md").write_text(to_markdown(result))
    return folder


def _timed_out(rows: list[dict]) -> list[str]:
    return [f"{x['chunks']:,} chunks: stopped after {x['timed_out_s']} s (no figures)."
            for x in rows if "timed_out_s" in x]


def _pair(p: dict | None) -> str:
    return f"{p['p50_ms']} / {p['p95_ms']}" if p else ""


def _table(headers: list[str], rows: list[list]) -> str:
    def cell(v):
        return "" if v is None else f"{v:,}" if isinstance(v, int) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(r: dict) -> str:
    m, s = r["machine"], r["settings"]
    load = " / ".join(str(x) for x in m["load_average"])
    end = " / ".join(str(x) for x in m.get("load_average_end", []))
    parts = [f"# HRDD Assistant benchmark, run {r.get('run_id', '-')} ({m['date']})",
             f"Load average (1 / 5 / 15 min) at the start {load}, at the end {end or '-'}; "
             f"{m.get('busy_note', '')}",
             f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, "
             f"torch {m.get('torch', '-')}, onnxruntime {m['onnxruntime']}, chromadb "
             f"{m['chromadb']}. Embedding: backend {s['backend']}, batch {s['batch_size']}, "
             f"threads {s['threads'] or 'auto'}; model load {r['model_load_s']} s.",
             "## Headline", _table(["metric", "value"], [[k, v] for k, v in r["headline"].items()]),
             "## Ingest, next to the raw encoder on the same texts",
             "The pipeline's wall time (parse and chunk on one thread, embedding and store "
             "writes each on another) against `encode` alone on the texts it embedded: the "
             "chunks, then the sentences and section questions they bring (one call each). "
             "Stage seconds overlap, so they add up to more than the wall time. The "
             "same-calls ratio replays the pipeline's own encoder calls alone (so what it "
             "lacks of 1.0 is the other stages' share of the CPU); the grouping ratio is the "
             "two-call encoder against those calls (below 1.0: grouping costs padding, counted "
             "apart in the padding ratio: padded tokens of the two calls / of the pipeline's). CPU "
             "seconds (every thread's) tell the other stages' cost apart from the load: the "
             "pipeline's against its encoder calls replayed alone.",
             _table(["source", "docs", "chunks", "sentences", "pages", "parse s", "chunk s",
                     "embed s", "store s", "wall s", "encoder s (chunks + sentences)",
                     "embed share of wall", "pipeline chunks/s", "pages/s", "encoder chunks/s",
                     "ingest ratio", "encoder s, the pipeline's calls", "same-calls ratio",
                     "grouping ratio", "padding ratio", "CPU s, pipeline / its calls alone"],
                    [[x["source"], x["documents"], x["chunks"], x["sentences"], x["pages"],
                      x["seconds"]["parse"], x["seconds"]["chunk"], x["seconds"]["embed"],
                      x["seconds"]["store"], x["seconds_wall"],
                      f"{x['encoder_seconds']} ({x['encoder_seconds_chunks']} + "
                      f"{x['encoder_seconds_sentences']})", x["embed_share_of_wall"],
                      x["pipeline_chunks_per_s"],
                      x["pages_per_s"], x["encoder_chunks_per_s"], x["ingest_ratio"],
                      x.get("encoder_seconds_same_calls"), x.get("same_calls_ratio"),
                      x.get("grouping_ratio"), x.get("padding_ratio"),
                      f"{x.get('cpu_seconds_pipeline')} / {x.get('cpu_seconds_same_calls')}"]
                     for x in r["ingest"]["rows"]])]
    q = r["queries"]
    parts += [f"## Warm queries ({q['questions']} questions, {q['declined']} declined)",
              _table(["", "p50 ms", "p95 ms"],
                     [["retrieval", q["retrieval"]["p50_ms"], q["retrieval"]["p95_ms"]],
                      ["extractive answer", q["answer"]["p50_ms"], q["answer"]["p95_ms"]]]),
              "Retrieval stages, p50 ms: " + ", ".join(
                  f"{k} {v}" for k, v in q.get("retrieval_stages_p50_ms", {}).items()) + ".",
              f"Cold start (new process to first answer): {r['cold_start'].get('seconds')} s."]
    parts += ["## Scale (synthetic chunks, random unit vectors; each size in its own process)",
              _table(["chunks", "store writes/s", "read the retriever's holding s", "its RSS MB",
                      "keyword index build s", "dense p50/p95 ms",
                      "keyword p50/p95 ms", "both p50/p95 ms", "RSS MB", "disk MB"],
                     [[x["chunks"], x["store_writes_per_s"], x.get("read_chunks_s"),
                       x.get("chunk_list_rss_mb"), x["keyword_build_s"],
                       f"{x['dense']['p50_ms']} / {x['dense']['p95_ms']}",
                       f"{x['keyword']['p50_ms']} / {x['keyword']['p95_ms']}",
                       f"{x['query']['p50_ms']} / {x['query']['p95_ms']}", x["rss_mb"],
                       x["disk_mb"]] for x in r["scale"] if "timed_out_s" not in x]),
              *_timed_out(r["scale"])]
    if ld := r.get("load"):
        a = ld.get("answer") or {}
        parts += [f"## Load: {ld['processes']} app processes x {ld['askers_per_process']} "
                  f"askers, one Chroma server on 127.0.0.1, {ld['seconds']} s",
                  _table(["answers", "answers/s", "p50 ms", "p95 ms", "errors",
                          "processes ready after s"],
                         [[ld["answers"], ld["answers_per_s"], a.get("p50_ms"), a.get("p95_ms"),
                           ld["errors"], " / ".join(str(x) for x in ld["ready_s"])]])]
        if ld["error_sample"]:
            parts.append("Errors, first ones: " + "; ".join(ld["error_sample"]))
    if r.get("large_scale"):
        parts += ["## Larger libraries: what the retriever holds (the keyword index over a "
                  "table of chunk ids and documents, the section map; built from a stream of "
                  "synthetic chunks, their texts read by id from an SQLite file) and exact "
                  "dense search (one matrix product over random unit vectors; Chroma's HNSW "
                  "index is approximate and faster)",
                  _table(["chunks", "build s", "index arrays MB", "chunk table MB",
                          "holding RSS over base MB", "texts as Python str MB",
                          "a chunk list would hold MB (from a 20k sample)",
                          "keyword + 30 texts read p50/p95 ms", "a section read p50/p95 ms",
                          "exact dense p50/p95 ms", "RSS MB", "peak RSS MB"],
                         [[x["chunks"], x["keyword_build_s"], x["keyword_index_mb"],
                           x.get("chunk_table_mb"), x.get("retriever_holding_rss_mb"),
                           x["texts_as_python_str_mb"], x.get("retriever_chunk_list_mb"),
                           f"{x['keyword']['p50_ms']} / {x['keyword']['p95_ms']}",
                           _pair(x.get("section_read")),
                           f"{x['exact_dense']['p50_ms']} / {x['exact_dense']['p95_ms']}",
                           x["rss_mb"], x["peak_rss_mb"]] for x in r["large_scale"]
                          if "timed_out_s" not in x]), *_timed_out(r["large_scale"])]
    b = r["backends"]
    parts += [f"## Backends: speed on the same {b['rows'][0]['chunks']} chunks (best of "
              f"{r['plan'].get('rounds', 1)} interleaved rounds); quality over the whole "
              f"library ({r.get('quality_source', '') if b['questions'] else 'not measured'})",
              _table(["backend", "load s", "chunks/s", "rounds", "speed-up",
                      "full-library chunks/s", "recall@5", "MRR@10", "dense recall@5",
                      "dense MRR@10", "batch invariance"],
                     [[x["backend"], x["load_s"], x["chunks_per_s"],
                       " / ".join(str(v) for v in x.get("rounds", [])), x["speedup"],
                       x.get("full_pass_chunks_per_s"), x.get("recall_at_5"), x.get("mrr_at_10"),
                       x.get("dense_recall_at_5"), x.get("dense_mrr_at_10"),
                       x.get("batch_invariance")]
                      for x in b["rows"]])]
    d = r["decision"]
    parts.append(f"Default-backend rule ({d['rule']}): **{d['default_backend']}** (the "
                 f"settings' backend, used for every other figure here: {s['backend']})."
                 if d["candidates"] else "Default-backend rule: not applied (no quality pass "
                 f"in this run); the settings' backend, used for every figure here: {s['backend']}.")
    for name, v in d["candidates"].items():
        failed = [k.replace("_", " ") for k, ok in v["checks"].items() if not ok]
        parts.append(f"- {name}: {v['speedup']}x; " + ("qualifies" if v["qualifies"]
                                                        else "fails: " + ", ".join(failed)))
    g = r.get("grid") or {}
    if g:
        parts += [f"## Batch size and threads ({g['chunks']} chunks, chunks/s)",
                  _table(["backend", "threads", *[f"batch {b}" for b in r["plan"]["batch_sizes"]]],
                         [[be, t, *[next(x["chunks_per_s"] for x in g["rows"]
                                         if (x["backend"], x["threads"], x["batch_size"])
                                         == (be, t, bs)) for bs in r["plan"]["batch_sizes"]]]
                          for be in r["plan"]["backends"] for t in r["plan"]["thread_counts"]]),
                  "Best: " + "; ".join(f"{k}: batch {v['batch_size']}, {v['threads']} thread(s) "
                                       f"({v['chunks_per_s']} chunks/s)"
                                       for k, v in g["best"].items()) + "."]
    return "\n\n".join(parts) + "\n"
