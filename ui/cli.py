"""The `hrdd` command line: ingest, library, ask, chat, assess, eval, bench, up."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from assistant.settings import Settings

app = typer.Typer(help="HRDD Assistant: human-rights due diligence guidance with citations.",
                  no_args_is_help=True, add_completion=False)
library_app = typer.Typer(help="List or remove documents in the library.", no_args_is_help=True)
app.add_typer(library_app, name="library")
out = Console()
err = Console(stderr=True)
CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _library(settings: Settings):
    from assistant.service import build_library

    return build_library(settings)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(code)


def run_ingest(settings: Settings, paths: list[Path], prune=False, rebuild=False, wait=False,
               quiet=False):
    """Ingest with a progress bar on stderr; returns the IngestReport."""
    from assistant.store import LibraryMismatch
    from ingest.lock import IngestBusy, ingest_lock

    # The lock comes before the store: a second client on a folder another process is
    # writing can hang, where the lock says plainly that an ingest is running.
    try:
        with ingest_lock(settings.data_dir, wait=wait):
            lib = _library(settings)
            return _ingest_with_progress(settings, lib, paths, prune, rebuild, quiet)
    except (LibraryMismatch, IngestBusy) as e:
        _fail(str(e))


def _ingest_with_progress(settings: Settings, lib, paths: list[Path], prune: bool, rebuild: bool,
                          quiet: bool):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ingest.pipeline import Ingestor

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                  TimeElapsedColumn(), console=err, disable=quiet, transient=True) as bar:
        parse = bar.add_task("Reading files", total=None, info="")
        embed = bar.add_task("Embedding chunks", total=None, info="")
        started = {}

        def progress(stage, done, total, detail):
            import time

            if stage == "parse":
                bar.update(parse, completed=done, total=total, info=detail)
            else:
                started.setdefault("t", time.perf_counter())
                rate = done / max(time.perf_counter() - started["t"], 1e-6)
                bar.update(embed, completed=done, total=None, info=f"{done} chunks, {rate:.1f}/s")

        return Ingestor(settings, lib.store, lib.embedder).run(
            paths, prune=prune, rebuild=rebuild, progress=progress)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders (PDF, Markdown, text)."),
    prune: bool = typer.Option(False, help="Remove documents whose files left these folders."),
    rebuild: bool = typer.Option(False, help="Empty the library first (after a model change)."),
    wait: bool = typer.Option(False, help="If another ingest is running, wait for it."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file on stdout."),
):
    """Add or update documents in the library."""
    settings = Settings()
    report = run_ingest(settings, paths, prune, rebuild, wait, quiet=as_json)
    if as_json:
        for o in report.outcomes:
            print(json.dumps(o.to_dict()))
    else:
        for doc_id in report.recovered:
            err.print(f"[yellow]Rolled back an interrupted write of {doc_id}[/]")
        table = Table(title="Ingest summary")
        for col in ("file", "outcome", "document", "chunks", "reason"):
            table.add_column(col)
        colour = {"failed": "red", "added": "green", "updated": "cyan", "removed": "yellow"}
        for o in report.outcomes:
            c = colour.get(o.outcome, "white")
            table.add_row(o.path, f"[{c}]{o.outcome}[/]", o.doc_id, str(o.chunks or ""), o.reason)
        out.print(table)
        secs = report.seconds
        if report.chunks_embedded:
            rate = report.chunks_embedded / max(sum(secs.values()), 1e-9)
            out.print(f"{report.chunks_embedded} chunks embedded at {rate:.1f} chunks/s "
                      f"(parse {secs['parse']:.1f}s, chunk {secs['chunk']:.1f}s, "
                      f"embed {secs['embed']:.1f}s, store {secs['store']:.1f}s)")
        if report.ignored:
            out.print(f"Ignored {len(report.ignored)} file(s) of other types in folders.")
    raise typer.Exit(1 if report.failed else 0)


@library_app.command("list")
def library_list(as_json: bool = typer.Option(False, "--json", help="JSON on stdout.")):
    """Documents in the library."""
    docs = _library(Settings()).store.documents()
    if as_json:
        print(json.dumps([{"doc_id": d.doc_id, "title": d.title, "kind": d.kind,
                           "source": d.source, "chunks": d.chunks, "topics": list(d.topics)}
                          for d in docs], indent=2))
        return
    table = Table(title=f"Library: {len(docs)} documents")
    for col in ("doc_id", "kind", "title", "topics", "units", "chunks", "ingested"):
        table.add_column(col)
    for d in docs:
        table.add_row(d.doc_id, d.kind, d.title, ", ".join(d.topics), f"{d.units} {d.unit_name}",
                      str(d.chunks), d.ingested_at[:16].replace("T", " "))
    out.print(table)


@library_app.command("remove")
def library_remove(doc_id: str):
    """Remove one document and its chunks."""
    if not _library(Settings()).store.remove(doc_id):
        _fail(f"no document '{doc_id}' in the library (see: hrdd library list)", 1)
    out.print(f"Removed {doc_id}.")


@app.command()
def up(
    no_browser: bool = typer.Option(False, "--no-app", help="Only prepare the library."),
    port: int = typer.Option(8501, help="Port for the app."),
):
    """Ingest the starter library if it is missing or out of date, then open the app."""
    settings = Settings()
    report = run_ingest(settings, [CORPUS], prune=True)
    changed = [o for o in report.outcomes if o.outcome != "unchanged"]
    docs = _library(settings).store.documents()
    out.print(f"Library ready: {len(docs)} documents, {sum(d.chunks for d in docs)} chunks "
              f"({len(changed)} changed now) in {settings.data_dir}.")
    if no_browser:
        return
    _launch_app(port)


def _launch_app(port: int) -> None:
    import os
    import subprocess

    app_file = Path(__file__).resolve().parent / "app.py"
    out.print(f"Opening the app on http://127.0.0.1:{port} (Ctrl-C to stop) ...")
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    sys.exit(subprocess.call([sys.executable, "-m", "streamlit", "run", str(app_file),
                              "--server.port", str(port), "--server.address", "127.0.0.1"],
                             env=env, cwd=app_file.parent.parent))  # .streamlit/config.toml


def _mount() -> None:
    """Sub-commands that live in their own modules (each module has `register(app)`)."""
    import importlib

    for name in ("ui.cli_ask", "ui.cli_assess", "ui.cli_eval", "ui.cli_bench"):
        module = importlib.import_module(name)
        if hasattr(module, "register"):
            module.register(app)
        else:  # a sub-app: `hrdd assess ...`
            app.add_typer(module.app, name=name.rsplit("_", 1)[1])


_mount()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
