"""`hrdd assess`: guided assessments from the terminal (new, resume, reassess, decide, list,
report, export, run).

Every answer is saved as soon as it is given, so an interrupted session loses nothing
already answered; `hrdd assess resume ID` picks it up again. An escalated session waits for
senior management's decision (`hrdd assess decide ID`); a deal with new facts starts again
from its earlier session (`hrdd assess reassess ID`). The prompts are in `ui.cli.assess_walk`.
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.prompt import Prompt
from rich.table import Table

from assistant.settings import Settings
from ui.cli.assess_walk import show_decision, walk, write_report
from ui.cli.common import out as console

if TYPE_CHECKING:  # the assessment modules load SQLAlchemy and YAML: imported in the commands
    from assistant.assessments.assessment import Assessment
    from assistant.assessments.country_indicators import CountryIndicators
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
    with closing(_records(settings, guidance.library_version)) as records:
        assessment = start_session(records, assessment, assessor, guidance)
        console.print(f"Session [bold]{assessment.id}[/bold] created; resume it with "
                      f"`hrdd assess resume {assessment.id}`.")
        walk(assessment, records, assessor, guidance, _indicators(indicators))


@app.command()
def resume(
    session_id: Annotated[str, typer.Argument(help="The session id from `hrdd assess list`.")],
    who: Annotated[str | None, typer.Option(help="Your name (default: the assessor).")] = None,
    indicators: IndicatorsOption = None,
) -> None:
    """Continue a saved session where it stopped."""
    settings = Settings()
    guidance = _guidance_source(settings)
    with closing(_records(settings, guidance.library_version)) as records:
        assessment = _load(records, session_id)
        if assessment.closed_by is not None:
            closed = assessment.closed_by
            console.print(f"[red]Session {session_id} was closed when {closed.approver} decided "
                          f"'{closed.verdict}'; start a re-assessment from it: "
                          f"`hrdd assess reassess {session_id}`.[/red]", highlight=False)
            raise typer.Exit(1)
        walk(assessment, records, who or assessment.assessor, guidance, _indicators(indicators))


@app.command()
def reassess(
    session_id: Annotated[str, typer.Argument(help="The earlier session of the same deal.")],
    assessor: Annotated[str | None, typer.Option(help="Your name (default: ask).")] = None,
    indicators: IndicatorsOption = None,
) -> None:
    """Start a new assessment of a deal from an earlier session, and review what changed."""
    from assistant.assessments.start import start_reassessment

    settings = Settings()
    guidance = _guidance_source(settings)
    with closing(_records(settings, guidance.library_version)) as records:
        _load(records, session_id)
        assessor = assessor or Prompt.ask("Your name (recorded in the audit trail)",
                                          console=console)
        try:
            assessment = start_reassessment(records, session_id, assessor, guidance)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        console.print(f"Session [bold]{assessment.id}[/bold] re-assesses {session_id}; resume it "
                      f"with `hrdd assess resume {assessment.id}`.")
        walk(assessment, records, assessor, guidance, _indicators(indicators), review=True)


@app.command()
def decide(
    session_id: Annotated[str, typer.Argument(help="The escalated session.")],
    approver: Annotated[str | None, typer.Option(help="Your name: senior management, not "
                                                      "the assessor (default: ask).")] = None,
    verdict: Annotated[str | None, typer.Option(help="approve, reject or more-information "
                                                     "(default: ask).")] = None,
    rationale: Annotated[str | None, typer.Option(help="Why (default: ask).")] = None,
    drop: Annotated[list[int] | None, typer.Option(help="Approve: number of a proposed "
                                                        "condition to drop (repeatable).")] = None,
    add: Annotated[list[str] | None, typer.Option(help="Approve: a condition to add "
                                                       "(repeatable).")] = None,
    review_by: Annotated[str | None, typer.Option(help="Approve: review date, YYYY-MM-DD "
                                                       "(default: ask).")] = None,
    question: Annotated[list[str] | None, typer.Option(help="More information: a question "
                                                            "for the assessor (repeatable).")]
    = None,
) -> None:
    """Record senior management's decision on an escalated assessment."""
    from assistant.assessments.signoff import VERDICT_TITLES, Verdict, check_awaiting

    with closing(_records(Settings(), "unknown")) as records:
        a = _load(records, session_id)
        show_decision(a)
        try:
            proposed = check_awaiting(a).conditions
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        for n, condition in enumerate(proposed, start=1):
            console.print(f"  {n}. {condition}", markup=False)
        interactive = verdict is None
        approver = approver or Prompt.ask("Your name (senior management)", console=console)
        verdict = verdict or Prompt.ask("Decision", choices=[v.value for v in Verdict],
                                        console=console)
        rationale = rationale or Prompt.ask("Rationale (recorded in the audit trail and report)",
                                            console=console)
        if interactive and verdict == Verdict.APPROVE and proposed:
            drop = [int(n) for n in Prompt.ask(
                "Numbers of proposed conditions to drop, comma-separated (Enter: none)",
                default="", show_default=False, console=console).replace(" ", "").split(",")
                if n.isdigit()]
            add = []
            while extra := Prompt.ask("A condition to add (Enter: done)", default="",
                                      show_default=False, console=console).strip():
                add.append(extra)
        if verdict == Verdict.APPROVE and review_by is None:
            review_by = Prompt.ask("Review by (YYYY-MM-DD, before renewal, upgrade or expansion)",
                                   console=console)
        if verdict == Verdict.MORE_INFORMATION and not question:
            question = [Prompt.ask("What must the assessor find out?", console=console)]
        try:
            signed = records.sign_off(
                session_id, verdict, approver, rationale, questions=question or (),
                drop=[_numbered(proposed, n) for n in drop or ()], add=add or (),
                review_by=_date(review_by))
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        last = signed.signoffs[-1]
        console.print(f"[bold]{VERDICT_TITLES[last.verdict]}[/bold] by {last.approver}; "
                      "recorded in the audit trail.", highlight=False)
        for condition in last.conditions:
            console.print(f"  - {condition}", markup=False)
        if last.review_by:
            console.print(f"Review by {last.review_by.isoformat()}.")


@app.command("list")
def list_sessions() -> None:
    """List saved sessions, the most recent first, with sign-offs and reviews that are due."""
    table = Table("deal", "assessor", "playbook", "updated (UTC)", "outcome", "sign-off",
                  "review by")
    table.add_column("id", no_wrap=True)
    today = datetime.now(UTC).date()
    with closing(_records(Settings(), "unknown")) as records:
        sessions = records.list()
    for s in sessions:
        review = ""
        if s.review_by:
            review = s.review_by.isoformat() + (" [bold red]DUE[/]" if s.review_by <= today
                                                else "")
        table.add_row(s.deal, s.assessor, s.playbook_id, s.updated.strftime("%Y-%m-%d %H:%M"),
                      s.outcome or "not decided", s.signoff or "", review,
                      s.id + (f" (re-assesses {s.previous_id})" if s.previous_id else ""))
    console.print(table)


@app.command()
def report(
    session_id: Annotated[str, typer.Argument(help="The session id.")],
    fmt: FormatOption = "md",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
) -> None:
    """Write a session's report in Markdown or HTML."""
    with closing(_records(Settings(), "unknown")) as records:
        write_report(_load(records, session_id), fmt, out)


@app.command()
def export(
    session_id: Annotated[str, typer.Argument(help="The session id.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
) -> None:
    """Export a session with its decision and audit trail as JSON."""
    with closing(_records(Settings(), "unknown")) as records:
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
    with closing(_records(settings, guidance.library_version)) as records:
        try:
            filled = apply_script(script, assessment, guidance.find, _indicators(indicators))
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        done = start_session(records, assessment, script.assessor, guidance, filled)
        console.print(f"Session [bold]{done.id}[/bold] saved.")
        show_decision(done)
        if report_path:
            write_report(done, fmt, report_path)


def _load(records: SessionRecords, session_id: str) -> Assessment:
    try:
        return records.load(session_id)
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(1) from None


def _numbered(proposed: tuple[str, ...], n: int) -> str:
    if not 1 <= n <= len(proposed):
        raise typer.BadParameter(f"--drop {n}: there are {len(proposed)} proposed conditions")
    return proposed[n - 1]


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"review_by: {text!r} is not a date (YYYY-MM-DD)") from None


def _records(settings: Settings, library_version: str) -> SessionRecords:
    """The session records; close them (`contextlib.closing`) to release the connections.

    With sign-in configured, deal records are private to their people: the command line,
    which reads them all, needs the admin role (see `hrdd users`)."""
    from assistant.assessments.sessions import open_records
    from assistant.datadir import private_sessions_file
    from ui.cli.users import require

    require(settings, "administer", "assess-cli", log=False)

    private_sessions_file(settings)
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
