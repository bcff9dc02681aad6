"""The `hrdd` command line. Each command group lives in its own module and is registered here.

Modules import only Typer and Rich at the top; whatever loads the model, Chroma, SQLAlchemy or
Streamlit is imported inside the command that needs it, so `hrdd --help` starts at once.
"""

from __future__ import annotations

import typer

from assistant import datadir
from assistant.offline import prepare_process
from assistant.settings import Settings
from ui.cli import ask, assess, bench, evaluate, library, users
from ui.cli.common import err

app = typer.Typer(help="HRDD Assistant: human-rights due diligence guidance with citations.",
                  no_args_is_help=True, add_completion=False)
app.command()(library.ingest)
app.add_typer(library.library_app, name="library")
app.command()(ask.ask)
app.command()(ask.chat)
app.add_typer(assess.app, name="assess")
app.command("eval")(evaluate.evaluate)
app.command("bench")(bench.bench)
app.command()(library.up)
app.add_typer(users.users_app, name="users")
app.command("audit")(users.audit)


def main() -> None:
    # The process edge: offline switches and encoder threads before anything loads a model.
    settings = Settings()
    prepare_process(settings.embedding_threads)
    for warning in datadir.warnings(settings.data_dir):  # a data folder others can read
        err.print(f"Warning: {warning}", soft_wrap=True, highlight=False, markup=False)
    app()


if __name__ == "__main__":
    main()
