"""`hrdd ask` and `hrdd chat`: cited answers from the library in the terminal, or as JSON lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable

import typer
from rich.console import Group
from rich.live import Live
from rich.markdown import Markdown
from rich.padding import Padding
from rich.spinner import Spinner
from rich.text import Text

from assistant.answer import UNSUPPORTED, Answer
from assistant.settings import Settings
from ui.cli.common import err, out

EMPTY_LIBRARY = ("The library is empty. Add the starter documents with `hrdd ingest corpus/` "
                 "(or start everything with `./run app`), then ask again.")
MODES = ("extractive", "llm")
QUIT = {"/quit", "/exit", "/q"}

ModeOption = typer.Option(None, "--mode", help="extractive (default without an LLM) or llm.")
KOption = typer.Option(None, "--k", min=1, max=50, help="Passages to retrieve (default 6).")
KindOption = typer.Option(None, "--kind", help="Only documents of this kind (repeatable): "
                                               "guidance, checklist, case-study.")
TopicOption = typer.Option(None, "--topic", help="Only documents with this topic (repeatable).")


class Stop(Exception):
    """A problem that ends the command with a message (plain, or as a JSON object)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def ask(
    question: str = typer.Argument(..., help="The question, in quotes; or - to read one "
                                             "question per line from standard input."),
    mode: str | None = ModeOption,
    k: int | None = KOption,
    kind: list[str] | None = KindOption,
    topic: list[str] | None = TopicOption,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per answer on stdout."),
):
    """Answer a question from the library, with numbered citations."""
    try:
        session = Session.open(Settings(), mode, k, kind or [], topic or [])
        many = question == "-"
        failures = 0
        for q in _stdin_lines() if many else [question]:
            ok = session.print_json(q) if as_json else session.print_answer(q, many)
            failures += not ok
    except Stop as e:
        if as_json:
            print(json.dumps({"question": None if question == "-" else question, "error": str(e)}))
        else:
            err.print(f"[bold red]Error:[/] {e}", highlight=False)
        raise typer.Exit(e.code) from None
    if question != "-" and failures:
        raise typer.Exit(2)


def chat(
    mode: str | None = ModeOption,
    k: int | None = KOption,
    kind: list[str] | None = KindOption,
    topic: list[str] | None = TopicOption,
):
    """A conversation in the terminal: follow-up questions build on the earlier ones."""
    from assistant.engine import QuestionError

    try:
        session = Session.open(Settings(), mode, k, kind or [], topic or [])
    except Stop as e:
        err.print(f"[bold red]Error:[/] {e}", highlight=False)
        raise typer.Exit(e.code) from None
    out.print("Ask about a human-rights dilemma; follow-up questions use the conversation so far. "
              "Type /quit to leave.", highlight=False)
    history: list[Answer] = []
    try:
        while True:
            try:
                q = input("\nYou: ")
            except EOFError:
                out.print()
                break
            if q.strip().lower() in QUIT:
                break
            if not q.strip():
                continue
            try:
                answer = session.answer(q, history, live=True)
            except QuestionError as e:
                err.print(f"[yellow]{e}[/]", highlight=False)
                continue
            out.print()
            show(answer)
            history.append(answer)
    except KeyboardInterrupt:
        out.print()


class Session:
    """The assistant, opened once, with the command's options; answers many questions."""

    def __init__(self, assistant, mode: str | None, k: int | None, filters):
        self.assistant = assistant
        self.mode = mode
        self.k = k
        self.filters = filters

    @classmethod
    def open(cls, settings: Settings, mode: str | None, k: int | None, kinds: list[str],
             topics: list[str]) -> Session:
        # Imported late: `hrdd --help` should not pay for the embedding model and Chroma.
        from assistant.composition import build_assistant
        from assistant.library.retriever import Filters
        from assistant.library.store import LibraryMismatch

        if mode is not None and mode not in MODES:
            raise Stop(f"--mode must be one of {', '.join(MODES)}, not {mode!r}.", 2)
        if mode == "llm" and settings.llm_provider == "none":
            raise Stop("No language model is configured. Set HRDD_LLM_PROVIDER (openai, ollama or "
                       "fake) with HRDD_LLM_BASE_URL and HRDD_LLM_MODEL, or use --mode "
                       "extractive.", 2)
        assistant = build_assistant(settings)
        docs = assistant.library.store.documents()
        if not docs:
            raise Stop(EMPTY_LIBRARY, 1)
        _check_known("kind", kinds, {d.kind for d in docs})
        _check_known("topic", topics, {t for d in docs for t in d.topics})
        try:
            assistant.warm_up()
        except LibraryMismatch as e:
            raise Stop(str(e), 1) from None
        return cls(assistant, mode, k, Filters(kinds=tuple(kinds), topics=tuple(topics)))

    def answer(self, question: str, history=(), live: bool = False) -> Answer:
        """The answer; on a terminal, a spinner and then the tokens as they arrive."""
        from assistant.chain import AnswerPipeline

        request = {"question": question, "history": history, "mode": self.mode, "k": self.k,
                   "filters": self.filters}
        pipeline = AnswerPipeline(self.assistant)
        if not (live and out.is_terminal):
            return pipeline.invoke(request)
        tokens: list[str] = []
        with Live(Spinner("dots", text="Searching the library..."), console=out,
                  transient=True, refresh_per_second=8) as screen:
            for piece in pipeline.stream(request):
                if isinstance(piece, Answer):
                    return piece
                tokens.append(piece)
                screen.update(Text("".join(tokens), style="dim"))
        raise RuntimeError("the answer pipeline ended without an answer")

    def print_answer(self, question: str, many: bool = False) -> bool:
        from assistant.engine import QuestionError

        if many:
            out.rule(Text(question[:80]))
        try:
            show(self.answer(question, live=True))
            return True
        except QuestionError as e:
            err.print(f"[bold red]Error:[/] {e}", highlight=False)
            return False

    def print_json(self, question: str) -> bool:
        """One JSON line; a question that cannot be answered gives an object with `error`."""
        from assistant.engine import QuestionError

        try:
            obj, ok = self.answer(question).to_dict(), True
        except QuestionError as e:
            obj, ok = {"question": question, "error": str(e)}, False
        print(json.dumps(obj), flush=True)
        return ok


def show(answer: Answer) -> None:
    """The answer as Markdown, warnings in yellow, then the numbered sources with their quotes."""
    for warning in answer.warnings:
        out.print(Text(warning, style="yellow"))
    out.print(Markdown(answer.text))
    if answer.unsupported:
        out.print(Text(UNSUPPORTED, style="yellow"))
        for sentence in answer.unsupported:
            out.print(Text(f"  - {sentence}", style="yellow"))
    if not answer.citations:
        return
    out.print(Text("\nSources", style="bold"))
    for c in answer.citations:
        head = Text.assemble((f"[{c.n}] ", "bold"), (c.title, "bold"), f", {c.location}",
                             (f"  ({c.doc_id})", "dim"))
        out.print(Group(head, Padding(Text(c.quote, style="italic"), (0, 0, 0, 4))))


def _check_known(what: str, asked: Iterable[str], known: set[str]) -> None:
    unknown = sorted(set(asked) - known)
    if unknown:
        raise Stop(f"No document in the library has the {what} {', '.join(map(repr, unknown))}; "
                   f"known: {', '.join(sorted(known))}.", 2)


def _stdin_lines() -> Iterable[str]:
    for line in sys.stdin:
        yield line.rstrip("\r\n")
