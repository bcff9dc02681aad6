"""`hrdd assess`: guided assessments from the terminal (new, resume, list, report, export, run).

Every answer is saved as soon as it is given, so an interrupted session loses nothing
already answered; `hrdd assess resume ID` picks it up again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.prompt import Confirm, Prompt
from rich.table import Table

from assistant.settings import Settings
from ui.cli.common import out as console

if TYPE_CHECKING:  # the assessment modules load SQLAlchemy and YAML: imported in the commands
    from assistant.assessments.assessment import Assessment
    from assistant.assessments.country_indicators import CountryIndicators
    from assistant.assessments.playbook_records import Question, Step
    from assistant.assessments.sessions import SessionRecords
    from assistant.assessments.start import GuidanceSource

app = typer.Typer(help="Guided human-rights assessments: export deals, venues, postings.",
                  no_args_is_help=True)

IndicatorsOption = Annotated[Path | None, typer.Option(
    "--indicators", help="Country-indicator CSV (country_code, indicator, value, year, "
                         "source, licence).", exists=True, dir_okay=False)]
FormatOption = Annotated[str, typer.Option("--format", help="md or html.")]


@app.command()
def new(
    playbook: Annotated[str | None, typer.Option(help="Playbook id (default: ask).")] = None,
    deal: Annotated[str | None, typer.Option(help="Deal name (default: ask).")] = None,
    assessor: Annotated[str | None, typer.Option(help="Your name (default: ask).")] = None,
    indicators: IndicatorsOption = None,
) -> None:
    """Start a guided assessment and walk through every step."""
    from assistant.assessments.assessment import start_assessment
    from assistant.assessments.playbook import find_playbook, list_playbooks
    from assistant.assessments.start import start_session

    settings = Settings()
    if playbook is None:
        ids = [p.id for p in list_playbooks()]
        playbook = Prompt.ask("Playbook", choices=ids, default=ids[0], console=console)
    chosen = find_playbook(playbook)
    deal = deal or Prompt.ask("Deal name", console=console)
    assessor = assessor or Prompt.ask("Your name (recorded in the audit trail)", console=console)
    summary = Prompt.ask("One-line summary of the deal (optional)", default="",
                         show_default=False, console=console)
    try:
        assessment = start_assessment(chosen, deal, assessor, summary)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    guidance = _guidance_source(settings)
    records = _records(settings, guidance.library_version)
    assessment = start_session(records, assessment, assessor, guidance)
    console.print(f"Session [bold]{assessment.id}[/bold] created; resume it with "
                  f"`hrdd assess resume {assessment.id}`.")
    _walk(assessment, records, assessor, guidance, _indicators(indicators))


@app.command()
def resume(
    session_id: Annotated[str, typer.Argument(help="The session id from `hrdd assess list`.")],
    who: Annotated[str | None, typer.Option(help="Your name (default: the assessor).")] = None,
    indicators: IndicatorsOption = None,
) -> None:
    """Continue a saved session where it stopped."""
    settings = Settings()
    guidance = _guidance_source(settings)
    records = _records(settings, guidance.library_version)
    assessment = _load(records, session_id)
    _walk(assessment, records, who or assessment.assessor, guidance, _indicators(indicators))


@app.command("list")
def list_sessions() -> None:
    """List saved sessions, the most recent first."""
    table = Table("deal", "assessor", "playbook", "updated (UTC)", "outcome")
    table.add_column("id", no_wrap=True)
    for s in _records(Settings(), "unknown").list():
        table.add_row(s.deal, s.assessor, s.playbook_id, s.updated.strftime("%Y-%m-%d %H:%M"),
                      s.outcome or "not decided", s.id)
    console.print(table)


@app.command()
def report(
    session_id: Annotated[str, typer.Argument(help="The session id.")],
    fmt: FormatOption = "md",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
) -> None:
    """Write a session's report in Markdown or HTML."""
    _write_report(_load(_records(Settings(), "unknown"), session_id), fmt, out)


@app.command()
def export(
    session_id: Annotated[str, typer.Argument(help="The session id.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
) -> None:
    """Export a session with its decision and audit trail as JSON."""
    records = _records(Settings(), "unknown")
    _load(records, session_id)
    text = records.export_json(session_id)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"Exported to {out}")
    else:
        typer.echo(text)


@app.command()
def run(
    answers: Annotated[Path, typer.Argument(help="Answers YAML file.", exists=True,
                                            dir_okay=False)],
    report_path: Annotated[Path | None, typer.Option("--report", help="Write the report here.")]
    = None,
    fmt: FormatOption = "md",
    indicators: IndicatorsOption = None,
) -> None:
    """Run a whole session from an answers file, save it, and write its report."""
    from assistant.assessments.answers_file import apply_script, read_script, start_from_script
    from assistant.assessments.start import start_session

    settings = Settings()
    try:
        script = read_script(answers)
        assessment = start_from_script(script)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    guidance = _guidance_source(settings)
    records = _records(settings, guidance.library_version)
    try:
        filled = apply_script(script, assessment, guidance.find, _indicators(indicators))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    done = start_session(records, assessment, script.assessor, guidance, filled)
    console.print(f"Session [bold]{done.id}[/bold] saved.")
    _show_decision(done)
    if report_path:
        _write_report(done, fmt, report_path)


def _walk(assessment: Assessment, records: SessionRecords, who: str, guidance: GuidanceSource,
          indicators: CountryIndicators | None) -> None:
    """Ask every open question step by step, then ratings, mitigations and the decision."""
    # A resumed session may have steps whose guidance was never fetched (library unavailable).
    assessment = _save(records, assessment.fetch_guidance(guidance.find), who)
    for step in assessment.playbook.steps:
        if not any(q.id not in assessment.answers for q in step.questions):
            continue
        _show_step(assessment, step)
        for question in step.questions:
            if question.id in assessment.answers:
                continue
            value = _ask(question, indicators)
            if value is not None:
                assessment = _save(records, assessment.answer(question.id, value, indicators),
                                   who)
    assessment = _review_ratings(assessment, records, who)
    assessment = _choose_mitigations(assessment, records, who)
    _show_decision(assessment)
    if Confirm.ask("Write the report now?", default=True, console=console):
        _write_report(assessment, "md", Path(f"assessment-{assessment.id}.md"))


def _show_step(assessment: Assessment, step: Step) -> None:
    console.rule(step.title)
    if step.intro:
        console.print(step.intro)
    citations = assessment.guidance.get(step.id, ())
    if citations:
        console.print("[bold]Guidance[/bold]")
    for c in citations:
        quote = c.quote if len(c.quote) <= 300 else c.quote[:300].rsplit(" ", 1)[0] + " ..."
        console.print(f"  [{c.n}] {c.title} ({c.location}): \"{quote}\"", markup=False)


def _ask(question: Question, indicators: CountryIndicators | None) -> str | None:
    """One question; an empty answer leaves it open for later."""
    console.print(f"\n[bold]{question.text}[/bold]" + (f"\n{question.help}" if question.help
                                                       else ""))
    for n, option in enumerate(question.options, start=1):
        console.print(f"  {n}. {option.label}", markup=False)
    while True:
        raw = Prompt.ask("Answer (Enter to leave open)", default="", show_default=False,
                         console=console).strip()
        if not raw:
            return None
        if question.options and raw.isdigit() and 1 <= int(raw) <= len(question.options):
            raw = question.options[int(raw) - 1].value
        if question.type == "yesno":
            raw = {"y": "yes", "n": "no"}.get(raw.lower(), raw.lower())
        if question.type == "country" and indicators:
            for fact in indicators.for_country(raw):
                console.print(f"  {fact.describe()}", markup=False)
        problem = _problem(question, raw)
        if problem is None:
            return raw
        console.print(f"[red]{problem}[/red]")


def _problem(question: Question, raw: str) -> str | None:
    if question.options and question.option(raw.lower()) is None:
        return "Choose one of the numbers shown."
    if question.type == "country" and not (len(raw) == 2 and raw.isalpha()):
        return "Give a two-letter country code, such as XF."
    if len(raw) > question.max_chars:
        return f"At most {question.max_chars} characters."
    return None


def _review_ratings(assessment: Assessment, records: SessionRecords, who: str) -> Assessment:
    from assistant.assessments.decision import Risk

    table = Table("dimension", "from the answers", "rating")
    for r in assessment.ratings():
        table.add_row(r.title, str(r.computed or "not rated"), str(r.effective or "not rated"))
    console.print(table)
    for r in assessment.ratings():
        if Confirm.ask(f"Override the rating of {r.title}?", default=False, console=console):
            risk = Prompt.ask("New rating", choices=[str(x) for x in Risk], console=console)
            reason = Prompt.ask("Reason (recorded in the audit trail)", console=console)
            assessment = _save(records, assessment.override(r.dimension_id, risk, reason), who)
    return assessment


def _choose_mitigations(assessment: Assessment, records: SessionRecords, who: str) -> Assessment:
    from assistant.assessments.decision import Risk

    chosen = list(assessment.mitigations)
    for r in assessment.ratings():
        if r.effective in (None, Risk.LOW):
            continue
        options = [m for m in assessment.playbook.mitigations if r.dimension_id in m.mitigates]
        console.print(f"\n[bold]{r.title}[/bold] is rated {r.effective}. Mitigations:")
        for n, m in enumerate(options, start=1):
            mark = "x" if m.id in chosen else " "
            console.print(f"  {n}. [{mark}] {m.text} ({m.kind})", markup=False)
        raw = Prompt.ask("Numbers to adopt, comma-separated (Enter: keep as is)", default="",
                         show_default=False, console=console)
        chosen += [options[int(n) - 1].id for n in raw.replace(" ", "").split(",")
                   if n.isdigit() and 1 <= int(n) <= len(options)]
    return _save(records, assessment.choose_mitigations(chosen), who)


def _show_decision(assessment: Assessment) -> None:
    from assistant.assessments.report import OUTCOME_TITLES

    decision = assessment.decision()
    if decision is None:
        console.print("[yellow]No decision yet: some dimensions have no rating.[/yellow]")
        return
    console.rule(f"Decision: {OUTCOME_TITLES[decision.outcome]}")
    console.print(decision.reason, markup=False)
    console.print(decision.recommendation, markup=False)
    for condition in decision.conditions:
        console.print(f"  - {condition}", markup=False)
    if assessment.open_questions():
        console.print(f"[yellow]{len(assessment.open_questions())} question(s) still open.[/]")


def _write_report(assessment: Assessment, fmt: str, out: Path | None) -> None:
    if fmt not in ("md", "html"):
        raise typer.BadParameter("--format must be md or html")
    from assistant.assessments.report import render_html, render_markdown

    text = render_html(assessment) if fmt == "html" else render_markdown(assessment)
    if out is None:
        typer.echo(text)
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"Report written to {out}")


def _save(records: SessionRecords, assessment: Assessment, who: str) -> Assessment:
    records.save(assessment, who)
    return assessment


def _load(records: SessionRecords, session_id: str) -> Assessment:
    try:
        return records.load(session_id)
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(1) from None


def _records(settings: Settings, library_version: str) -> SessionRecords:
    from assistant.assessments.sessions import open_records

    return open_records(settings, library_version)


def _indicators(path: Path | None) -> CountryIndicators | None:
    from assistant.assessments.country_indicators import load_country_indicators

    return load_country_indicators(path) if path else None


def _guidance_source(settings: Settings) -> GuidanceSource:
    """The library's guidance for the steps, or none with a visible note saying why."""
    from assistant.assessments.start import library_guidance
    from assistant.composition import build_assistant

    guidance = library_guidance(lambda: build_assistant(settings))
    if guidance.missing:
        console.print(f"[yellow]Note: {guidance.missing}; steps will show no cited guidance."
                      "[/yellow]", highlight=False)
    return guidance
