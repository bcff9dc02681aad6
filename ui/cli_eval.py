"""`hrdd eval`: run the golden set over the starter library and write a report.

The starter corpus is ingested into its own data directory (<data_dir>/eval-library) so an
evaluation never depends on, or changes, the user's library; ingest skips unchanged files, so
later runs start at once. Questions on the real GNI PDF run when ../shared/fixtures has it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from assistant.settings import Settings

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
THRESHOLDS = Path(__file__).resolve().parent.parent / "evals" / "thresholds.json"
out = Console()
err = Console(stderr=True)
SHOWN = ("hit_at_5", "recall_at_5", "mrr_at_10", "ndcg_at_10", "keypoint_coverage",
         "citation_precision", "citation_support", "decline_precision", "decline_recall",
         "decline_accuracy", "out_of_scope_flagged", "answerable_weak_match", "deal_accuracy",
         "retrieval_p50_ms", "retrieval_p95_ms",
         "answer_p50_ms", "answer_p95_ms")


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate_command)


def evaluate_command(
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
) -> None:
    """Measure retrieval, answers, declines and deal decisions on the golden set."""
    from evals.baselines import PIPELINES, OursPipeline, build_pipelines
    from evals.golden_set import CATEGORIES, GoldenSetError, load_golden_set
    from evals.report import REPORTS_DIR, write_report
    from evals.runner import evaluate, gate

    unknown = [c for c in category or [] if c not in CATEGORIES]
    if unknown:
        _fail(f"unknown category {unknown[0]!r} (one of: {', '.join(CATEGORIES)})")
    try:
        golden = load_golden_set().select(tuple(category or ()), limit)
    except GoldenSetError as e:
        _fail(str(e))
    settings = Settings()
    eval_settings = settings.model_copy(update={"data_dir": settings.data_dir / "eval-library"})
    library = _prepare_library(eval_settings, [CORPUS])
    from assistant.service import build_assistant

    assistant = build_assistant(eval_settings, library).warm_up()
    names = PIPELINES if compare else ("ours",)
    pipelines = build_pipelines(names, assistant, CORPUS, progress=lambda m: err.print(m))
    extra, skipped = {}, []
    for fixture, items in _by_fixture(golden.by_category("pdf")).items():
        if not fixture.is_file():
            skipped.append(f"{len(items)} pdf questions: {fixture} not found")
            continue
        fixture_settings = settings.model_copy(
            update={"data_dir": settings.data_dir / f"eval-fixture-{fixture.stem}"})
        fixture_library = _prepare_library(fixture_settings, [fixture], library.embedder)
        fixture_pipeline = OursPipeline(build_assistant(fixture_settings, fixture_library),
                                        name=f"ours on {fixture.name}")
        extra.setdefault("ours", []).append((fixture_pipeline, items))
    run = _run_with_progress(evaluate, pipelines, golden, extra)
    docs = library.store.documents()
    run.update(
        library={"documents": len(docs), "chunks": sum(d.chunks for d in docs),
                 "data_dir": str(eval_settings.data_dir)},
        settings={"retrieval": asdict(eval_settings.retrieval), "llm_provider":
                  eval_settings.llm_provider, "embedding_backend":
                  eval_settings.embedding_backend},
        skipped=skipped,
        naive_build_seconds=next((p.build_seconds for p in pipelines if p.name == "naive"),
                                 None),
    )
    folder = write_report(run, out_dir or REPORTS_DIR)
    thresholds = json.loads(THRESHOLDS.read_text(encoding="utf-8")) if THRESHOLDS.is_file() else {}
    main = run["pipelines"]["ours"]["summary"]
    failures = gate(main, thresholds) if not category and not limit else []
    if as_json:
        print(json.dumps(_metrics_json(run, folder), indent=2))
        if len(run["pipelines"]) > 1:
            err.print(_table(run))
        return
    out.print(_table(run))
    for note in skipped:
        out.print(f"[yellow]Skipped {note}[/]")
    out.print(f"Wall time {run['seconds']:.0f} s. Report: {folder / 'report.md'}")
    if category or limit:
        out.print("Regression gate not checked (only part of the golden set ran).")
    elif failures:
        out.print("[red]Below the regression gate (evals/thresholds.json):[/] "
                  + "; ".join(failures))
    else:
        out.print("[green]At or above every regression-gate threshold.[/]")


def _prepare_library(settings: Settings, paths: list[Path], embedder=None):
    """The library in `settings.data_dir`, brought up to date with `paths` (rebuilt if it was
    built with another model or chunking: it is the evaluation's own)."""
    from assistant.service import Library
    from assistant.store import LibraryMismatch
    from ingest.pipeline import Ingestor

    library = Library(settings, embedder=embedder)
    with err.status(f"Preparing the evaluation library in {settings.data_dir} ..."):
        ingestor = Ingestor(settings, library.store, library.embedder)
        try:
            report = ingestor.run(paths, prune=True, wait=True)
        except LibraryMismatch:
            report = ingestor.run(paths, prune=True, rebuild=True, wait=True)
    if report.failed:
        _fail("could not ingest: " + "; ".join(f"{o.path}: {o.reason}" for o in report.failed))
    return library


def _by_fixture(items) -> dict[Path, list]:
    groups: dict[Path, list] = {}
    for item in items:
        groups.setdefault(item.fixture, []).append(item)
    return groups


def _run_with_progress(evaluate, pipelines, golden, extra) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"Evaluating {name}", total=total)
            bar.update(tasks[name], completed=done, total=total)

        return evaluate(pipelines, golden, extra, progress)


def _metrics_json(run: dict, folder: Path) -> dict:
    """The headline metrics of "ours", plus every pipeline's under `pipelines` when several ran."""
    def flat(summary: dict) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}

    pipelines = run["pipelines"]
    result = {**flat(pipelines["ours"]["summary"]),
              "categories": {c: flat(s) for c, s in pipelines["ours"]["categories"].items()},
              "seconds": round(run["seconds"], 1), "report": str(folder)}
    if len(pipelines) > 1:
        result["pipelines"] = {n: flat(p["summary"]) for n, p in pipelines.items()}
        from evals.report import compare

        comparison = compare(run)
        result["ours_wins_on"] = [w["metric"] for w in comparison["wins"]]
        result["ours_loses_on"] = {x["metric"]: x["better"] for x in comparison["losses"]}
    return result


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


def _fail(message: str) -> None:
    err.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(2)
