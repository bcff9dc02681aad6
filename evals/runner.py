"""Run pipelines over the golden set and compute the report: per item, per category, overall.

What each headline metric averages over:

- retrieval (hit@5, recall@5, MRR@10, nDCG@10): factual and dilemma questions, on a top-10
  ranking from every pipeline (the naive baseline answers from its top 4, but is ranked at
  10 like the others so the cut-offs mean the same thing);
- key-point coverage: factual and dilemma answers (a wrong decline covers nothing);
- citation precision and support: answers that were given (not declined) and cite something;
- declines: factual, dilemma and out-of-scope questions ("should decline" is positive);
- deals: the deal scenarios, for pipelines that assess deals (only "ours");
- latency: every question of those three categories.

Questions on the PDF fixture ("pdf") are reported in their own category only, so the
headline numbers do not depend on whether the fixture is present.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import yaml

from evals.golden_set import ANSWERABLE, DECLINE, SPLITS, GoldenItem
from evals.metrics import (
    citation_precision,
    deal_scores,
    decline_scores,
    hit_at_k,
    keypoint_coverage,
    keypoints_found,
    mean,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    recall_at_k,
    support_counts,
)
from evals.uncertainty import uncertainty

RANK_K = 10
GATED = ("recall_at_5", "keypoint_coverage", "citation_support", "decline_accuracy")

Progress = Callable[[str, int, int], None]


def run_questions(pipeline, items: Sequence[GoldenItem],
                  progress: Progress | None = None) -> list[dict]:
    """One record per question: what was retrieved, what was answered, and its scores."""
    records = []
    for n, item in enumerate(items):
        if progress:
            progress(pipeline.name, n, len(items))
        records.append(_question_record(pipeline, item))
    if progress:
        progress(pipeline.name, len(items), len(items))
    return records


def _question_record(pipeline, item: GoldenItem) -> dict:
    t0 = time.perf_counter()
    ranked = pipeline.retrieve(item.question, RANK_K)
    t1 = time.perf_counter()
    answer = pipeline.answer(item.question)
    t2 = time.perf_counter()
    where = [pipeline.where(p) for p in ranked]
    record = {
        "id": item.id, "category": item.category, "question": item.question,
        "retrieved": [{"doc_id": p.doc_id, "title": p.title, "sections": list(w.sections),
                       "page": w.page} for p, w in zip(ranked, where, strict=True)],
        "declined": answer.declined, "expect_decline": item.expect_decline,
        "weak_match": answer.weak_match,
        "mode": answer.mode, "retrieval_ms": (t1 - t0) * 1000, "answer_ms": (t2 - t1) * 1000,
        "answer": answer.text[:1500],
        "cited": [c.doc_id for c in answer.citations],
    }
    if item.labels:
        record.update(
            expected=[{"doc_id": lab.doc_id, "sections": list(lab.sections),
                       "pages": list(lab.pages)} for lab in item.labels],
            hit_at_5=hit_at_k(where, item.labels, 5),
            recall_at_5=recall_at_k(where, item.labels, 5),
            mrr_at_10=mrr_at_k(where, item.labels, 10),
            ndcg_at_10=ndcg_at_k(where, item.labels, 10),
        )
    if item.key_points:
        found = keypoints_found(answer.text, item.key_points)
        record["keypoint_coverage"] = keypoint_coverage(answer.text, item.key_points)
        record["missing_key_points"] = [kp[0] for kp, ok in zip(item.key_points, found,
                                                                strict=True) if not ok]
    if answer.mode == "llm" or answer.fallback:  # asked of a language model
        record["fallback"] = answer.fallback
    record.update(split=item.split, area=item.area, **_shape(item, answer))
    if not answer.declined and answer.citations:
        record["citation_precision"] = (citation_precision(record["cited"],
                                                           item.relevant_doc_ids)
                                        if item.labels else None)
        supported, total = _support(answer)
        record["support"] = [supported, total]
    return record


def _shape(item: GoldenItem, answer) -> dict:
    """Whether the answer has the shape its question needs: a bottom line (and the right
    verdict) for a yes/no dilemma, steps for a how-to, no facts of one case under another's
    name, and a checklist only from a document labelled relevant."""
    from assistant.question import HOW_TO, YES_NO, question_type

    kind = question_type(item.question)
    out: dict = {"question_type": kind}
    parts = answer.parts
    if answer.declined or item.expect_decline or parts is None:
        return out
    if kind == YES_NO:
        out["bottom_line"] = bool(parts.bottom_line)
    if item.direction:
        out["direction_ok"] = parts.direction == item.direction
        out["direction"] = parts.direction
    if kind == HOW_TO:
        out["steps"] = bool(parts.steps)
    kinds = {p.doc_id: p.kind for p in answer.passages}
    out["case_bleed"] = any(kinds.get(c.doc_id) == "case-study" and c.doc_id != _case_id(answer)
                            for c in answer.citations)
    if parts.checklist_doc:
        out["checklist_fit"] = parts.checklist_doc in item.relevant_doc_ids
    return out


def _case_id(answer) -> str | None:
    """The related case's document id (the case part names it by title)."""
    if not answer.parts or not answer.parts.case:
        return None
    return next((p.doc_id for p in answer.passages if p.title == answer.parts.case), None)


def _support(answer) -> tuple[int, int]:
    """Supported and total statements: verbatim containment for extractive answers; for an
    LLM answer, the claims its verifier checked less those it flagged as unsupported."""
    if answer.mode == "llm":
        from assistant.llm import read_claims

        checked = sum(c.checked for c in read_claims(answer.text, len(answer.passages)))
        removed = sum(u not in answer.text for u in answer.unsupported)  # dropped from the text
        total = checked + removed
        return max(total - len(answer.unsupported), 0), total
    return support_counts(answer.text, {c.n: c.passage for c in answer.citations})


def run_deals(items: Sequence[GoldenItem], find_guidance) -> list[dict]:
    """Run each deal script through the assessment engine and record its decision."""
    from assistant.assessments.answers_file import run_script

    # Every deal asks the same six step queries: ask the library once per query, not per deal.
    answers: dict[str, list] = {}

    def guidance(query: str) -> list:
        if query not in answers:
            answers[query] = list(find_guidance(query))
        return answers[query]

    records = []
    with tempfile.TemporaryDirectory(prefix="hrdd-eval-deals-") as tmp:
        for item in items:
            path = Path(tmp) / f"{item.id}.yaml"
            path.write_text(yaml.safe_dump(item.script, sort_keys=False), encoding="utf-8")
            t0 = time.perf_counter()
            try:
                assessment = run_script(path, guidance)
                decision = assessment.decision()
                predicted = str(decision.outcome) if decision else "incomplete"
                detail = {r.dimension_id: r.effective and str(r.effective)
                          for r in assessment.ratings()}
                error = None
            except ValueError as exc:  # a script the engine refuses is a wrong answer, shown
                predicted, detail, error = "error", {}, str(exc)
            records.append({
                "id": item.id, "category": "deal", "question": item.question,
                "expected_decision": item.expected_decision, "predicted_decision": predicted,
                "correct": predicted == item.expected_decision, "ratings": detail,
                "error": error, "answer_ms": (time.perf_counter() - t0) * 1000,
            })
    return records


def summarise(records: Iterable[dict], headline: bool = True) -> dict:
    """Aggregate metrics over item records (see the module docstring for what counts where)."""
    records = list(records)
    scope = [r for r in records if r["category"] in ANSWERABLE] if headline else \
        [r for r in records if "recall_at_5" in r]
    asked = [r for r in records if r["category"] in ANSWERABLE + DECLINE] if headline else \
        [r for r in records if "declined" in r]
    answered = [r for r in asked if "support" in r]
    deals = [r for r in records if r["category"] == "deal"]
    out: dict = {
        "questions": len(asked),
        "hit_at_5": mean(r.get("hit_at_5") for r in scope),
        "recall_at_5": mean(r.get("recall_at_5") for r in scope),
        "mrr_at_10": mean(r.get("mrr_at_10") for r in scope),
        "ndcg_at_10": mean(r.get("ndcg_at_10") for r in scope),
        "keypoint_coverage": mean(r.get("keypoint_coverage") for r in scope),
        "citation_precision": mean(r.get("citation_precision") for r in answered),
        "citation_support": mean(r["support"][0] / r["support"][1]
                                 for r in answered if r["support"][1]),
        **decline_scores([r["expect_decline"] for r in asked], [r["declined"] for r in asked]),
        # Out-of-scope questions that were declined or answered with the weak-match note, and
        # answerable ones that carried the note needlessly.
        "out_of_scope_flagged": mean(float(r["declined"] or r.get("weak_match", False))
                                     for r in asked if r["expect_decline"]),
        "answerable_weak_match": mean(float(r.get("weak_match", False))
                                      for r in asked if not r["expect_decline"]),
        "bottom_line_rate": mean(float(r["bottom_line"]) for r in asked if "bottom_line" in r),
        "direction_accuracy": mean(float(r["direction_ok"]) for r in asked if "direction_ok" in r),
        # Worse than no verdict: a yes, no or "it depends" that is not the library's answer.
        "wrong_verdict_rate": mean(float(r["direction"] is not None and not r["direction_ok"])
                                   for r in asked if "direction_ok" in r),
        "steps_rate": mean(float(r["steps"]) for r in asked if "steps" in r),
        "case_bleed": mean(float(r["case_bleed"]) for r in asked if "case_bleed" in r),
        "checklist_fit": mean(float(r["checklist_fit"]) for r in asked if "checklist_fit" in r),
        # LLM mode: the share of answers where the extractive one was shown instead, and why
        "llm_fallback_rate": mean(float(r["fallback"] is not None) for r in asked
                                  if "fallback" in r),
        "llm_fallback_reasons": dict(Counter(r["fallback"] for r in asked if r.get("fallback"))),
        "retrieval_p50_ms": percentile([r["retrieval_ms"] for r in asked], 50),
        "retrieval_p95_ms": percentile([r["retrieval_ms"] for r in asked], 95),
        "answer_p50_ms": percentile([r["answer_ms"] for r in asked], 50),
        "answer_p95_ms": percentile([r["answer_ms"] for r in asked], 95),
    }
    scored = deal_scores([r["expected_decision"] for r in deals],
                         [r["predicted_decision"] for r in deals])
    out["deals"] = len(deals)
    out["deal_accuracy"] = scored["deal_accuracy"]
    out["deal_confusion"] = scored["confusion"]
    return out


def by_category(records: Iterable[dict]) -> dict[str, dict]:
    """The metrics of each category on its own."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r["category"], []).append(r)
    return {c: summarise(rs, headline=False) for c, rs in groups.items()}


def _finish(pipeline, records: list[dict], deals, extra, progress) -> dict:
    """Add the deals (for a pipeline that assesses them) and the runs on other libraries
    (`extra`: (pipeline, items) pairs, the PDF fixture), then compute the metrics."""
    if deals and getattr(pipeline, "assesses_deals", False):
        records += run_deals(deals, pipeline.guidance)
    for other, items in extra:
        records += run_questions(other, items, progress)
    splits = {s: summarise([r for r in records if r.get("split") == s]) for s in SPLITS}
    areas = {a: summarise([r for r in records if r.get("area") == a])
             for a in sorted({r["area"] for r in records if r.get("area")})}
    return {"summary": summarise(records), "categories": by_category(records), "splits": splits,
            "areas": areas, "uncertainty": uncertainty(records), "items": records}


def gate(summary: dict, thresholds: dict) -> list[str]:
    """The gated metrics that fell below their threshold, as readable lines (empty: passed)."""
    failures = []
    for name in GATED:
        want, got = thresholds.get(name), summary.get(name)
        if want is not None and (got is None or got < want):
            failures.append(f"{name} = {'none' if got is None else f'{got:.3f}'} "
                            f"< threshold {want:.3f}")
    return failures


def evaluate(pipelines: Sequence, golden, extra: dict | None = None,
             progress: Progress | None = None) -> dict:
    """Run every pipeline over the golden set; `extra` maps a pipeline name to (pipeline,
    items) pairs run on another library, whose records join that pipeline's per-category
    table but not its headline."""
    import os
    import platform
    from datetime import UTC, datetime

    started = time.perf_counter()
    questions = golden.by_category(*ANSWERABLE, *DECLINE)
    deals = golden.by_category("deal")
    # Question by question, every pipeline in turn: on a shared machine the load drifts, and
    # interleaving spreads the drift evenly so that the latencies stay comparable.
    records: dict[str, list[dict]] = {p.name: [] for p in pipelines}
    for n, item in enumerate(questions):
        for p in pipelines:
            if progress:
                progress(p.name, n, len(questions))
            records[p.name].append(_question_record(p, item))
    for p in pipelines:
        if progress:
            progress(p.name, len(questions), len(questions))
    results = {p.name: _finish(p, records[p.name], deals, (extra or {}).get(p.name, ()), progress)
               for p in pipelines}
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": time.perf_counter() - started,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(terse=True),
                    "python": platform.python_version()},
        "golden": golden.counts(),
        "pipelines": results,
    }
