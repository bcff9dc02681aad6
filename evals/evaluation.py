"""One evaluation run, the same from every surface: prepare the libraries, run, report, gate.

The starter corpus is ingested into its own data directory (<data_dir>/eval-library), so an
evaluation never depends on, or changes, the user's library; ingest skips unchanged files, so
later runs start at once. Questions on a PDF fixture run when the fixture exists, each on a
library of its own. `hrdd eval` and the app's Evaluation page both call `run_evaluation`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.settings import STARTER_CORPUS, Settings
from evals.runner import Progress

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.json"
Status = Callable[[str], None]


class EvaluationError(RuntimeError):
    """An evaluation that cannot run (an unknown category, a file that will not ingest)."""


@dataclass(frozen=True)
class EvaluationResult:
    run: dict  # what evals.runner.evaluate returned, with the library and settings added
    folder: Path  # the report written: report.json, report.md, chart.png
    failures: tuple[str, ...] = ()  # gated metrics below evals/thresholds.json
    gated: bool = True  # False when only part of the golden set, or another set, ran
    skipped: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> dict:
        return self.run["pipelines"]["ours"]["summary"]


def prepare_library(settings: Settings, paths: Sequence[Path], embedder=None):
    """The library in `settings.data_dir`, brought up to date with `paths`; it is the
    evaluation's own, so one built with another model or chunking is rebuilt."""
    from assistant.composition import Library
    from ingest.pipeline import ingest

    library = Library(settings, embedder=embedder)
    report = ingest(library, paths, prune=True, wait=True, on_mismatch="rebuild")
    if report.failed:
        raise EvaluationError("could not ingest: " + "; ".join(f"{o.path}: {o.reason}"
                                                              for o in report.failed))
    return library


def run_evaluation(settings: Settings, *, compare: bool = False, categories: Sequence[str] = (),
                   limit: int | None = None, out_dir: Path | None = None, embedder=None,
                   golden_dir: Path | None = None, status: Status | None = None,
                   progress: Progress | None = None) -> EvaluationResult:
    """Run the golden set (or the `categories` asked, at most `limit` items each; or the
    question files in `golden_dir`, such as the development set in evals/dev), write the
    report under `out_dir` (default: HRDD_REPORTS_DIR, else evals/reports) and check the
    regression gate, which only the whole default golden set is held to."""
    from assistant.composition import build_assistant
    from evals.baselines import PIPELINES, OursPipeline, build_pipelines
    from evals.golden_set import CATEGORIES, GOLDEN_DIR, GoldenSetError, load_golden_set
    from evals.report import REPORTS_DIR, write_report
    from evals.runner import evaluate, gate

    say = status or (lambda _message: None)
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise EvaluationError(f"unknown category {unknown[0]!r} (one of: {', '.join(CATEGORIES)})")
    try:
        golden = load_golden_set(golden_dir or GOLDEN_DIR).select(tuple(categories), limit)
    except GoldenSetError as e:
        raise EvaluationError(str(e)) from e
    eval_settings = settings.model_copy(update={"data_dir": settings.data_dir / "eval-library"})
    say(f"Preparing the evaluation library in {eval_settings.data_dir} ...")
    library = prepare_library(eval_settings, [STARTER_CORPUS], embedder)
    assistant = build_assistant(eval_settings, library).warm_up()
    pipelines = build_pipelines(PIPELINES if compare else ("ours",), assistant, STARTER_CORPUS,
                                progress=say)
    extra, skipped = {}, []
    for fixture, items in _by_fixture(golden.by_category("pdf")).items():
        if not fixture.is_file():
            skipped.append(f"{len(items)} pdf questions: {fixture} not found")
            continue
        fixture_settings = settings.model_copy(
            update={"data_dir": settings.data_dir / f"eval-fixture-{fixture.stem}"})
        fixture_library = prepare_library(fixture_settings, [fixture], library.embedder)
        extra.setdefault("ours", []).append(
            (OursPipeline(build_assistant(fixture_settings, fixture_library),
                          name=f"ours on {fixture.name}"), items))
    run = evaluate(pipelines, golden, extra, progress)
    docs = library.store.documents()
    run.update(
        library={"documents": len(docs), "chunks": sum(d.chunks for d in docs),
                 "data_dir": str(eval_settings.data_dir)},
        settings={"retrieval": asdict(eval_settings.retrieval),
                  "llm_provider": eval_settings.llm_provider,
                  "embedding_backend": eval_settings.embedding_backend},
        skipped=skipped,
        naive_build_seconds=next((p.build_seconds for p in pipelines if p.name == "naive"), None),
    )
    folder = write_report(run, out_dir or settings.reports_dir or REPORTS_DIR)
    default_set = golden_dir is None or Path(golden_dir).resolve() == GOLDEN_DIR
    gated = not categories and not limit and default_set
    failures = gate(run["pipelines"]["ours"]["summary"], thresholds()) if gated else []
    return EvaluationResult(run, folder, tuple(failures), gated, tuple(skipped))


def thresholds() -> dict:
    """The regression gate: the lowest value each gated metric may take."""
    return json.loads(THRESHOLDS.read_text(encoding="utf-8")) if THRESHOLDS.is_file() else {}


def metrics_json(result: EvaluationResult) -> dict:
    """The headline metrics of "ours", plus every pipeline's under `pipelines` when several ran."""
    from evals.report import compare

    def flat(summary: dict) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}

    pipelines = result.run["pipelines"]
    out = {**flat(pipelines["ours"]["summary"]),
           "categories": {c: flat(s) for c, s in pipelines["ours"]["categories"].items()},
           "seconds": round(result.run["seconds"], 1), "report": str(result.folder)}
    if len(pipelines) > 1:
        out["pipelines"] = {n: flat(p["summary"]) for n, p in pipelines.items()}
        comparison = compare(result.run)
        out["ours_wins_on"] = [w["metric"] for w in comparison["wins"]]
        out["ours_loses_on"] = {x["metric"]: x["better"] for x in comparison["losses"]}
    return out


def _by_fixture(items) -> dict[Path, list]:
    groups: dict[Path, list] = {}
    for item in items:
        groups.setdefault(item.fixture, []).append(item)
    return groups
