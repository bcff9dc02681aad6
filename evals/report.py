"""Evaluation reports: evals/reports/<timestamp>/ with report.json, report.md and chart.png.

The UI's Evaluation page reads the newest one with `latest_report(reports_dir)`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from evals.uncertainty import render as render_uncertainty

REPORTS_DIR = Path(__file__).resolve().parent / "reports"
QUALITY = ("hit_at_5", "recall_at_5", "mrr_at_10", "ndcg_at_10", "keypoint_coverage",
           "citation_precision", "citation_support", "decline_precision", "decline_recall",
           "decline_accuracy", "out_of_scope_flagged", "answerable_weak_match", "bottom_line_rate",
           "direction_accuracy", "wrong_verdict_rate", "steps_rate", "case_bleed",
           "checklist_fit", "deal_accuracy", "llm_fallback_rate")
LATENCY = ("retrieval_p50_ms", "retrieval_p95_ms", "answer_p50_ms", "answer_p95_ms")
LOWER_IS_BETTER = (*LATENCY, "answerable_weak_match", "wrong_verdict_rate", "case_bleed",
                   "llm_fallback_rate")
CHARTED = ("recall_at_5", "mrr_at_10", "ndcg_at_10", "keypoint_coverage", "citation_support",
           "decline_accuracy", "deal_accuracy")
WORST = 12


def write_report(run: dict, reports_dir: str | Path = REPORTS_DIR) -> Path:
    """Write the run's report.json, report.md and chart.png into a new timestamped folder."""
    reports_dir = Path(reports_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder, n = reports_dir / stamp, 1
    while folder.exists():
        n += 1
        folder = reports_dir / f"{stamp}-{n}"
    folder.mkdir(parents=True)
    run = {**run, "comparison": compare(run)}
    (folder / "report.json").write_text(json.dumps(run, indent=2, default=str), encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(run), encoding="utf-8")
    draw_chart(run, folder / "chart.png")
    return folder


def latest_report(reports_dir: str | Path = REPORTS_DIR) -> dict | None:
    """The newest report in the folder (its report.json, plus where it is), or None."""
    reports_dir = Path(reports_dir)
    if not reports_dir.is_dir():
        return None
    folders = sorted((d for d in reports_dir.iterdir() if (d / "report.json").is_file()),
                     key=lambda d: d.name, reverse=True)
    for folder in folders:
        try:
            data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a half-written or damaged report: try the one before
        chart = folder / "chart.png"
        return {**data, "report_dir": str(folder),
                "chart": str(chart) if chart.is_file() else None}
    return None


def compare(run: dict) -> dict:
    """Where "ours" wins and loses against each other pipeline, by metric and by question."""
    pipelines = run.get("pipelines", {})
    if "ours" not in pipelines or len(pipelines) < 2:
        return {}
    ours = pipelines["ours"]
    others = {n: p for n, p in pipelines.items() if n != "ours"}
    wins, ties, losses = [], [], []
    for metric in QUALITY + LATENCY:
        mine = ours["summary"].get(metric)
        theirs = {n: p["summary"].get(metric) for n, p in others.items()
                  if p["summary"].get(metric) is not None}
        if mine is None or not theirs:
            continue
        lower_better = metric in LOWER_IS_BETTER
        better = {n: v for n, v in theirs.items() if (v < mine if lower_better else v > mine)}
        best = _best(theirs, lower_better)
        if better:
            losses.append({"metric": metric, "ours": mine, "better": better})
        elif best["value"] == mine:
            ties.append({"metric": metric, "ours": mine, "best_other": best})
        else:
            wins.append({"metric": metric, "ours": mine, "best_other": best})
    return {"wins": wins, "ties": ties, "losses": losses,
            "questions": _question_losses(ours, others)}


def _best(values: dict, lower_better: bool) -> dict:
    name = (min if lower_better else max)(values, key=values.get)
    return {"pipeline": name, "value": values[name]}


def _question_losses(ours: dict, others: dict) -> list[dict]:
    """Questions where another pipeline found more of the labels or covered more key points."""
    mine = {r["id"]: r for r in ours["items"]}
    out = []
    for name, p in others.items():
        for r in p["items"]:
            m = mine.get(r["id"])
            if not m or "recall_at_5" not in r:
                continue
            d_recall = r["recall_at_5"] - m.get("recall_at_5", 0)
            d_cover = r.get("keypoint_coverage", 0) - m.get("keypoint_coverage", 0)
            if d_recall > 0 or d_cover >= 0.25:
                out.append({"id": r["id"], "pipeline": name, "question": r["question"],
                            "recall_at_5": [m.get("recall_at_5"), r["recall_at_5"]],
                            "keypoint_coverage": [m.get("keypoint_coverage"),
                                                  r.get("keypoint_coverage")]})
    return sorted(out, key=lambda q: (q["pipeline"], q["id"]))


def fmt(metric: str, value) -> str:
    if value is None:
        return "—"
    if metric.endswith("_ms"):
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def render_markdown(run: dict) -> str:
    pipelines = run["pipelines"]
    names = list(pipelines)
    lines = [f"# Evaluation report, {run.get('created', '')}", ""]
    machine = run.get("machine", {})
    lines += [f"- Machine: {machine.get('cpus', '?')} cores, {machine.get('platform', '?')}, "
              f"Python {machine.get('python', '?')}",
              f"- Wall time: {run.get('seconds', 0):.0f} s"
              + (f" (naive baseline index built in {run['naive_build_seconds']:.0f} s)"
                 if run.get("naive_build_seconds") else ""),
              f"- Library: {run.get('library', {}).get('documents', '?')} documents, "
              f"{run.get('library', {}).get('chunks', '?')} chunks",
              "- Golden set: " + ", ".join(f"{n} {c}" for c, n in run.get("golden", {}).items()),
              ""]
    lines += ["## Summary", "", "| metric | " + " | ".join(names) + " |",
              "|---|" + "---|" * len(names)]
    for metric in QUALITY + LATENCY:
        lines.append(f"| {metric} | " + " | ".join(
            fmt(metric, pipelines[n]["summary"].get(metric)) for n in names) + " |")
    lines.append("")
    comparison = run.get("comparison") or {}
    if comparison:
        lines += ["## Where ours wins and loses", ""]
        for w in comparison["wins"]:
            best = w["best_other"]
            lines.append(f"- Wins on **{w['metric']}**: {fmt(w['metric'], w['ours'])} "
                         f"(best other: {best['pipeline']} {fmt(w['metric'], best['value'])})")
        for t in comparison.get("ties", []):
            lines.append(f"- Ties on **{t['metric']}**: {fmt(t['metric'], t['ours'])} "
                         f"(with {t['best_other']['pipeline']})")
        for loss in comparison["losses"]:
            others = ", ".join(f"{n} {fmt(loss['metric'], v)}" for n, v in loss["better"].items())
            lines.append(f"- Loses on **{loss['metric']}**: {fmt(loss['metric'], loss['ours'])} "
                         f"(better: {others})")
        if comparison["questions"]:
            lines += ["", "Questions where another pipeline found more labelled sources "
                      "(recall@5) or covered more key points (ours → other):", "",
                      "| question | other | recall@5 | key points |", "|---|---|---|---|"]
            for q in comparison["questions"]:
                r, c = q["recall_at_5"], q["keypoint_coverage"]
                lines.append(f"| {q['id']} | {q['pipeline']} | {fmt('', r[0])} → {fmt('', r[1])} "
                             f"| {fmt('', c[0])} → {fmt('', c[1])} |")
        lines.append("")
    main = "ours" if "ours" in pipelines else names[0]
    lines += _category_table(pipelines[main], main)
    lines += _split_table(pipelines[main], main)
    lines += render_uncertainty(pipelines[main].get("uncertainty"))
    lines += _deal_table(pipelines[main])
    lines += _worst(pipelines[main], main)
    return "\n".join(lines) + "\n"


def _category_table(p: dict, name: str) -> list[str]:
    cols = ("recall_at_5", "mrr_at_10", "ndcg_at_10", "keypoint_coverage", "citation_support",
            "decline_accuracy", "deal_accuracy", "answer_p95_ms")
    lines = [f"## By category ({name})", "", "| category | items | " + " | ".join(cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for cat, s in p["categories"].items():
        count = s["deals"] if cat == "deal" else s["questions"]
        lines.append(f"| {cat} | {count} | " + " | ".join(fmt(c, s.get(c)) for c in cols) + " |")
    return lines + [""]


def _split_table(p: dict, name: str) -> list[str]:
    """The tune and held-back halves side by side, then each area of the library."""
    cols = ("recall_at_5", "mrr_at_10", "keypoint_coverage", "decline_accuracy",
            "decline_recall", "bottom_line_rate", "direction_accuracy", "wrong_verdict_rate",
            "case_bleed")
    lines = []
    for title, groups in (("By half of the golden set", p.get("splits") or {}),
                          ("By area (items with an `area`)", p.get("areas") or {})):
        if not groups:
            continue
        lines += [f"## {title} ({name})", "", "| group | questions | " + " | ".join(cols) + " |",
                  "|---|---|" + "---|" * len(cols)]
        for group, s in groups.items():
            lines.append(f"| {group} | {s['questions']} | "
                         + " | ".join(fmt(c, s.get(c)) for c in cols) + " |")
        lines.append("")
    return lines


def _deal_table(p: dict) -> list[str]:
    confusion = p["summary"].get("deal_confusion") or {}
    if not confusion:
        return []
    predicted = sorted({k for row in confusion.values() for k in row})
    lines = ["## Deal decisions (rows: expected, columns: decided)", "",
             "| expected | " + " | ".join(predicted) + " |", "|---|" + "---|" * len(predicted)]
    for expected, row in sorted(confusion.items()):
        lines.append(f"| {expected} | " + " | ".join(str(row.get(k, 0)) for k in predicted) + " |")
    wrong = [r for r in p["items"] if r["category"] == "deal" and not r["correct"]]
    for r in wrong:
        error = f" — {r['error']}" if r["error"] else ""
        lines.append(f"\n- {r['id']}: expected {r['expected_decision']}, decided "
                     f"{r['predicted_decision']} (ratings {r['ratings']}){error}")
    return lines + [""]


def worst_questions(p: dict, n: int = WORST) -> list[dict]:
    """The questions answered worst: wrong declines first, then by recall and coverage."""
    def badness(r: dict) -> tuple:
        wrong_decline = r.get("declined") != r.get("expect_decline")
        parts = [r[k] for k in ("recall_at_5", "keypoint_coverage") if r.get(k) is not None]
        return (not wrong_decline, sum(parts) / len(parts) if parts else 1.0)

    asked = [r for r in p["items"] if "declined" in r]
    bad = [r for r in sorted(asked, key=badness)
           if r.get("declined") != r.get("expect_decline")
           or min(r.get("recall_at_5", 1), r.get("keypoint_coverage", 1)) < 1]
    return bad[:n]


def _worst(p: dict, name: str) -> list[str]:
    lines = [f"## Worst questions ({name})", ""]
    for r in worst_questions(p):
        verdict = ("answered, should have declined" if r["expect_decline"] and not r["declined"]
                   else "declined, should have answered" if r["declined"]
                   and not r["expect_decline"] else
                   f"recall@5 {fmt('', r.get('recall_at_5'))}, key points "
                   f"{fmt('', r.get('keypoint_coverage'))}")
        lines.append(f"### {r['id']} ({r['category']}): {verdict}")
        lines.append(f"> {r['question']}")
        lines.append("")
        if r.get("expected"):
            lines.append("- Expected: " + "; ".join(_place(e) for e in r["expected"]))
        lines.append("- Retrieved (top 5): " + "; ".join(
            _place(x) for x in r["retrieved"][:5]) if r["retrieved"] else "- Retrieved nothing")
        if r.get("missing_key_points"):
            lines.append("- Missing key points: " + ", ".join(r["missing_key_points"]))
        lines.append("")
    return lines


def _place(x: dict) -> str:
    where = x.get("sections") or []
    pages = x.get("pages") or ([x["page"]] if x.get("page") else [])
    suffix = f" §{','.join(where)}" if where else ""
    suffix += f" p.{','.join(map(str, pages))}" if pages else ""
    return f"{x['doc_id']}{suffix}"


def draw_chart(run: dict, path: Path) -> None:
    """Quality metrics per pipeline (left) and answer latency (right)."""
    import matplotlib  # lazy: only the report needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pipelines = run["pipelines"]
    names = list(pipelines)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8),
                                      gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        values = [pipelines[name]["summary"].get(m) or 0.0 for m in CHARTED]
        left.bar([x + i * width for x in range(len(CHARTED))], values, width, label=name)
    left.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(CHARTED))])
    left.set_xticklabels([m.replace("_", " ") for m in CHARTED], rotation=20, ha="right")
    left.set_ylim(0, 1.18)  # head room for the legend row above the bars
    left.set_title("Quality (higher is better)")
    left.legend(loc="upper center", ncol=len(names), fontsize="small", frameon=False)
    p50 = [pipelines[n]["summary"].get("answer_p50_ms") or 0 for n in names]
    p95 = [pipelines[n]["summary"].get("answer_p95_ms") or 0 for n in names]
    right.bar(names, p95, color="#bbbbbb", label="p95")
    right.bar(names, p50, color="#4c72b0", label="p50")
    right.set_title("Answer latency (ms)")
    right.legend(fontsize="small")
    right.tick_params(axis="x", rotation=20)
    fig.suptitle(f"HRDD Assistant evaluation, {run.get('created', '')}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
