"""What every `hrdd` command shares: the two consoles, the error exit, ingest with a progress bar."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

from assistant.settings import Settings

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """End the command with `Error: message` on stderr."""
    err.print(f"[bold red]Error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def open_library(settings: Settings):
    """The library of the settings' data directory (its store opens on first use)."""
    from assistant.composition import build_library  # lazy: `hrdd --help` stays light

    return build_library(settings)


def check_database(settings: Settings) -> None:
    """Stop with the reason when the app's database schema is behind (`hrdd db upgrade`); a
    SQLite file is brought up to date instead."""
    from assistant.datadir import private_sessions_file
    from assistant.db import SchemaBehind, open_database

    private_sessions_file(settings)
    try:
        open_database(settings.sessions_url).dispose()
    except SchemaBehind as exc:
        fail(str(exc))


def ingest_with_progress(settings: Settings, paths: list[Path], *, prune: bool = False,
                         rebuild: bool = False, wait: bool = False, quiet: bool = False):
    """`ingest.pipeline.ingest` with a progress bar on stderr; the IngestReport, or an error exit."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.datadir import DiskFull
    from assistant.library.store import LibraryMismatch
    from ingest.lock import IngestBusy
    from ingest.pipeline import ingest

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                  TimeElapsedColumn(), console=err, disable=quiet, transient=True) as bar:
        parse = bar.add_task("Reading files", total=None, info="")
        embed = bar.add_task("Embedding chunks", total=None, info="")
        started: dict[str, float] = {}

        def progress(stage: str, done: int, total: int, detail: str) -> None:
            if stage == "parse":
                bar.update(parse, completed=done, total=total, info=detail)
            else:
                started.setdefault("t", time.perf_counter())
                rate = done / max(time.perf_counter() - started["t"], 1e-6)
                bar.update(embed, completed=done, total=None, info=f"{done} chunks, {rate:.1f}/s")

        try:
            return ingest(open_library(settings), paths, prune=prune, rebuild=rebuild, wait=wait,
                          progress=progress)
        except (LibraryMismatch, IngestBusy, DiskFull) as e:
            bar.stop()
            fail(str(e))
