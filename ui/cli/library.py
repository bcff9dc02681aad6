"""`hrdd ingest`, `hrdd library list|remove` and `hrdd up`: what the library holds, and the app."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from assistant.settings import PROJECT_ROOT, STARTER_CORPUS, Settings
from ui.cli.common import err, fail, ingest_with_progress, open_library, out
from ui.cli.users import require

library_app = typer.Typer(help="List or remove documents in the library.", no_args_is_help=True)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders (PDF, Markdown, text)."),
    prune: bool = typer.Option(False, help="Remove documents whose files left these folders."),
    rebuild: bool = typer.Option(False, help="Empty the library first (after a model change)."),
    wait: bool = typer.Option(False, help="If another ingest is running, wait for it."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file on stdout."),
):
    """Add or update documents in the library."""
    settings = Settings()
    user, records = require(settings, "curate", "ingest", " ".join(map(str, paths)), log=False)
    report = ingest_with_progress(settings, paths, prune=prune, rebuild=rebuild, wait=wait,
                                  quiet=as_json)
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
            rate = report.chunks_embedded / max(report.wall_seconds, 1e-9)
            out.print(f"{report.chunks_embedded} chunks embedded at {rate:.1f} chunks/s in "
                      f"{report.wall_seconds:.1f}s (stages, side by side: parse "
                      f"{secs['parse']:.1f}s, chunk {secs['chunk']:.1f}s, embed "
                      f"{secs['embed']:.1f}s, store {secs['store']:.1f}s)")
        if report.ignored:
            out.print(f"Ignored {len(report.ignored)} file(s) of other types in folders.")
        for o in report.failed:  # one line each, never wrapped: the file and why
            err.print(f"Not added: {o.path}: {o.reason}", soft_wrap=True, highlight=False,
                      markup=False)
    if records is not None:
        records.record(user, "rebuild" if rebuild else "ingest", " ".join(map(str, paths)),
                       f"{len(report.outcomes) - len(report.failed)} files in, "
                       f"{len(report.failed)} failed")
    raise typer.Exit(1 if report.failed else 0)


@library_app.command("list")
def library_list(as_json: bool = typer.Option(False, "--json", help="JSON on stdout.")):
    """Documents in the library."""
    docs = open_library(Settings()).store.documents()
    if as_json:
        print(json.dumps([{"doc_id": d.doc_id, "title": d.title, "kind": d.kind,
                           "source": d.source, "chunks": d.chunks, "topics": list(d.topics),
                           "instructions_to_ai": d.instructions}
                          for d in docs], indent=2))
        return
    table = Table(title=f"Library: {len(docs)} documents")
    for col in ("doc_id", "kind", "title", "topics", "units", "chunks", "ingested"):
        table.add_column(col)
    for d in docs:
        table.add_row(d.doc_id, d.kind, d.title, ", ".join(d.topics), f"{d.units} {d.unit_name}",
                      str(d.chunks), d.ingested_at[:16].replace("T", " "))
    out.print(table)
    for d in docs:
        if d.instructions:
            out.print(f"Warning: {d.doc_id} has {d.instructions} sentence(s) addressed to an AI "
                      "or giving it orders; they are kept from the language model and never "
                      "count as support. Check the document.", soft_wrap=True, highlight=False,
                      markup=False)


@library_app.command("remove")
def library_remove(
    doc_id: str,
    wait: bool = typer.Option(False, help="If an ingest is running, wait for it."),
):
    """Remove one document and its chunks (and its file, if it was uploaded in the app)."""
    from ingest.lock import IngestBusy
    from ingest.pipeline import remove

    settings = Settings()
    user, records = require(settings, "curate", "remove", doc_id, log=False)
    try:
        record = remove(open_library(settings), doc_id, wait=wait)
    except IngestBusy as e:  # an update of this document may be half-way: never remove then
        fail(str(e))
    if record is None:
        fail(f"no document '{doc_id}' in the library (see: hrdd library list)", 1)
    if records is not None:
        from assistant.access.reviews import DocumentReviews

        DocumentReviews(records).removed(doc_id)
        records.record(user, "remove", f"{record.title} ({doc_id})")
    out.print(f"Removed {doc_id}.")


def up(
    no_browser: bool = typer.Option(False, "--no-app", help="Only prepare the library."),
    port: int = typer.Option(8501, help="Port for the app."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (another than this "
                             "machine's only with sign-in configured)."),
):
    """Ingest the starter library if it is missing or out of date, then open the app."""
    settings = Settings()
    problem = sign_in_problem(settings)
    if problem:
        fail(problem, 2)
    if host not in LOOPBACK and settings.sign_in == "none":
        fail(f"refusing to listen on {host}: no sign-in is configured, so anyone who reached "
             "the app could read every deal assessment and change the library. Set "
             "HRDD_SIGN_IN=oidc (with your identity provider in .streamlit/secrets.toml) or "
             "HRDD_SIGN_IN=proxy (with HRDD_TRUSTED_PROXIES); see docs/deployment.md. Without "
             "sign-in the app listens on this machine only (127.0.0.1).", 2)
    report = ingest_with_progress(settings, [STARTER_CORPUS], prune=True)
    changed = [o for o in report.outcomes if o.outcome != "unchanged"]
    docs = open_library(settings).store.documents()
    out.print(f"Library ready: {len(docs)} documents, {sum(d.chunks for d in docs)} chunks "
              f"({len(changed)} changed now) in {settings.data_dir}.")
    if no_browser:
        return
    _launch_app(port, host)


def sign_in_problem(settings: Settings) -> str | None:
    """What is missing from the sign-in configuration, or None."""
    if settings.sign_in == "proxy" and not settings.access.trusted_proxies:
        return ("HRDD_SIGN_IN=proxy needs HRDD_TRUSTED_PROXIES: the address of the "
                "authenticating proxy whose identity header the app may believe")
    if settings.sign_in == "oidc":
        import tomllib

        secrets = PROJECT_ROOT / ".streamlit" / "secrets.toml"
        try:
            auth = tomllib.loads(secrets.read_text(encoding="utf-8")).get("auth", {})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            return f"HRDD_SIGN_IN=oidc needs {secrets} with an [auth] section: {exc}"
        missing = [k for k in ("redirect_uri", "cookie_secret", "client_id", "client_secret",
                               "server_metadata_url") if not auth.get(k)]
        if missing:
            return f"{secrets} [auth] is missing {', '.join(missing)} (see docs/deployment.md)"
    return None


def _launch_app(port: int, host: str) -> None:
    import os
    import subprocess

    app_file = Path(__file__).resolve().parent.parent / "web" / "app.py"
    out.print(f"Opening the app on http://{host}:{port} (Ctrl-C to stop) ...")
    # FORWARDED_ALLOW_IPS empty: the server reports the real peer of each connection (not an
    # X-Forwarded-For it was sent), which is what HRDD_TRUSTED_PROXIES is checked against.
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
           "FORWARDED_ALLOW_IPS": ""}
    sys.exit(subprocess.call([sys.executable, "-m", "streamlit", "run", str(app_file),
                              "--server.port", str(port), "--server.address", host],
                             env=env, cwd=PROJECT_ROOT))  # .streamlit/config.toml
