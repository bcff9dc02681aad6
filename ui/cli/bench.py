"""`hrdd bench`: the performance benchmark, saved as bench/<timestamp>/bench.json and bench.md."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import typer

from assistant.settings import STARTER_CORPUS, Settings
from ui.cli.common import err


def bench(
    as_json: bool = typer.Option(False, "--json", help="Print the headline numbers as JSON."),
    quick: bool = typer.Option(False, "--quick", help="Case studies only, 1k and 10k chunks, "
                                                      "20 questions, no batch/thread grid."),
    pdfs: list[Path] | None = typer.Option(
        None, "--pdfs", exists=True, help="Also ingest these PDF files or folders (repeatable), "
                                          "for pages per second on real PDFs."),
    out_dir: Path = typer.Option(Path("bench"), "--out", help="Folder for the run's results."),
    large: bool = typer.Option(False, "--large", help="Also the keyword index and exact dense "
                                                      "search at 300k and 1M synthetic chunks "
                                                      "(about 10 more minutes idle)."),
    load: bool = typer.Option(False, "--load", help="Also 8 concurrent askers (2 app processes "
                                                    "x 4) against one Chroma server, 30 s."),
):
    """Measure ingest, query latency, scale and embedding backends (in a temporary library)."""
    from evals.bench.report import golden_questions, save, to_markdown
    from evals.bench.run import Benchmark, BenchPlan

    # --quick ingests the case studies only (about 200 chunks) to stay near two minutes. PDFs go
    # in the same ingest, as a user adds a folder holding both: one ingest, one ratio.
    name, folder = ("case studies", STARTER_CORPUS / "case-studies") if quick else \
        ("starter corpus", STARTER_CORPUS)
    pdfs = list(pdfs or ())
    if pdfs:
        name += " + PDFs: " + ", ".join(p.name for p in pdfs)
    plan = (BenchPlan.quick if quick else BenchPlan.full)([(name, (folder, *pdfs))])
    if large:
        plan = replace(plan, large_scales=(300_000, 1_000_000))
    if load:
        plan = replace(plan, load_seconds=30)
    labelled, note = golden_questions()
    if note:
        err.print(f"[yellow]{note}[/]")
    result = Benchmark(Settings(), plan, labelled,
                       progress=lambda msg: err.print(f"[dim]{msg}[/]")).run()
    result["quality_source"] = note or f"evals/golden (factual + dilemma, {len(labelled)})"
    folder = save(result, out_dir)
    if as_json:
        print(json.dumps(result["headline"], indent=2))
    else:
        print(to_markdown(result))
    err.print(f"Saved {folder / 'bench.json'} and {folder / 'bench.md'}")
