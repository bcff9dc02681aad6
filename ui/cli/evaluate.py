"""`hrdd eval`: the golden set over the starter library, a report, and the regression gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assistant.settings import Settings
from ui.cli.common import err, fail, out

SHOWN = ("hit_at_5", "recall_at_5", "mrr_at_10", "ndcg_at_10", "keypoint_coverage",
         "citation_precision", "citation_support", "decline_precision", "decline_recall",
         "decline_accuracy", "out_of_scope_flagged", "answerable_weak_match", "deal_accuracy",
         "retrieval_p50_ms", "retrieval_p95_ms",
         "answer_p50_ms", "answer_p95_ms")


def evaluate(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of metrics on stdout.")]
    = False,
    compare: Annotated[bool, typer.Option(
        "--compare", help="Also run the naive LangChain, keyword-only and dense-only baselines.")]
    = False,
    category: Annotated[list[str] | None, typer.Option(
        "--category", help="Only this category (repeatable): factual, dilemma, out_of_scope, "
                           "deal, pdf.")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, help="At most N items from each category (a quick smoke run).")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder for the timestamped report (default: evals/reports).")] = None,
    golden: Annotated[Path | None, typer.Option(
        "--golden", help="Another folder of question files, e.g. evals/dev (the regression "
                         "gate is then not checked).")] = None,
) -> None:
    """Measure retrieval, answers, declines and deal decisions on the golden set."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from evals.evaluation import EvaluationError, metrics_json, run_evaluation

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"Evaluating {name}", total=total)
            bar.update(tasks[name], completed=done, total=total)

        try:
            result = run_evaluation(Settings(), compare=compare, categories=tuple(category or ()),
                                    limit=limit, out_dir=out_dir, golden_dir=golden,
                                    status=bar.console.print,
                                    progress=progress)
        except EvaluationError as e:
            bar.stop()
            fail(str(e))
    run = result.run
    if as_json:
        print(json.dumps(metrics_json(result), indent=2))
        if len(run["pipelines"]) > 1:
            err.print(_table(run))
        return
    out.print(_table(run))
    for note in result.skipped:
        out.print(f"[yellow]Skipped {note}[/]")
    out.print(f"Wall time {run['seconds']:.0f} s. Report: {result.folder / 'report.md'}")
    if not result.gated:
        out.print("Regression gate not checked (only part of the golden set, or another "
                  "question set, ran).")
    elif result.failures:
        out.print("[red]Below the regression gate (evals/thresholds.json):[/] "
                  + "; ".join(result.failures))
    else:
        out.print("[green]At or above every regression-gate threshold.[/]")


def _table(run: dict) -> Table:
    from evals.report import fmt

    pipelines = run["pipelines"]
    table = Table(title="Evaluation" + (" (ours against the baselines)" if len(pipelines) > 1
                                        else ""))
    table.add_column("metric")
    for name in pipelines:
        table.add_column(name, justify="right")
    for metric in SHOWN:
        table.add_row(metric, *(fmt(metric, p["summary"].get(metric)) for p in
                                pipelines.values()))
    return table
