"""The interactive walk of `hrdd assess new`, `resume` and `reassess`: the steps' questions,
then the ratings, the mitigations, the "can be mitigated" flags and the decision.

Every change is saved as soon as it is given, with its audit entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.prompt import Confirm, Prompt
from rich.table import Table

from ui.cli.common import out as console

if TYPE_CHECKING:  # the assessment modules load SQLAlchemy and YAML: imported when used
    from assistant.assessments.assessment import Assessment
    from assistant.assessments.country_indicators import CountryIndicators
    from assistant.assessments.playbook_records import Question, Step
    from assistant.assessments.sessions import SessionRecords
    from assistant.assessments.start import GuidanceSource


def walk(assessment: Assessment, records: SessionRecords, who: str, guidance: GuidanceSource,
         indicators: CountryIndicators | None, review: bool = False) -> Assessment:
    """Ask every open question step by step (with `review`, offer to change the answers
    already given too), then ratings, mitigations, flags and the decision."""
    # A resumed session may have steps whose guidance was never fetched (library unavailable).
    assessment = save(records, assessment.fetch_guidance(guidance.find), who)
    if assessment.signoffs and not assessment.signoffs[-1].closes:
        console.print("[yellow]Senior management sent this assessment back and asks:[/]")
        for question in assessment.signoffs[-1].questions:
            console.print(f"  - {question}", markup=False)
    for step in assessment.playbook.steps:
        unanswered = [q for q in step.questions if q.id not in assessment.answers]
        if review and not any(not q.optional for q in unanswered):
            if not Confirm.ask(f"Has anything changed in {step.title}?", default=False,
                               console=console):
                continue
        elif not unanswered:
            continue
        show_step(assessment, step)
        for question in step.questions:
            if question.id in assessment.answers and not review:
                continue
            value = ask(question, indicators, assessment.answers.get(question.id))
            if value is not None and value != assessment.answers.get(question.id):
                assessment = save(records, assessment.answer(question.id, value, indicators),
                                  who)
    assessment = review_ratings(assessment, records, who)
    assessment = choose_mitigations(assessment, records, who)
    assessment = set_flags(assessment, records, who)
    show_decision(assessment)
    if Confirm.ask("Write the report now?", default=True, console=console):
        write_report(assessment, "md", Path(f"assessment-{assessment.id}.md"))
    return assessment


def show_step(assessment: Assessment, step: Step) -> None:
    console.rule(step.title)
    if step.intro:
        console.print(step.intro)
    citations = assessment.guidance.get(step.id, ())
    if citations:
        console.print("[bold]Guidance[/bold]")
    for c in citations:
        quote = c.quote if len(c.quote) <= 300 else c.quote[:300].rsplit(" ", 1)[0] + " ..."
        console.print(f"  [{c.n}] {c.title} ({c.location}): \"{quote}\"", markup=False)


def ask(question: Question, indicators: CountryIndicators | None,
        current: str | None = None) -> str | None:
    """One question; an empty answer keeps the current one, or leaves it open for later."""
    console.print(f"\n[bold]{question.text}[/bold]" + (f"\n{question.help}" if question.help
                                                       else ""))
    for n, option in enumerate(question.options, start=1):
        console.print(f"  {n}. {option.label}", markup=False)
    keep = "Enter to leave open" if current is None else f"Enter to keep {current!r}"
    while True:
        raw = Prompt.ask(f"Answer ({keep})", default="", show_default=False,
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


def review_ratings(assessment: Assessment, records: SessionRecords, who: str) -> Assessment:
    from assistant.assessments.decision import Risk

    table = Table("dimension", "from the answers", "rating")
    for r in assessment.ratings():
        table.add_row(r.title, str(r.computed or "not rated"), str(r.effective or "not rated"))
    console.print(table)
    for r in assessment.ratings():
        if Confirm.ask(f"Override the rating of {r.title}?", default=False, console=console):
            risk = Prompt.ask("New rating", choices=[str(x) for x in Risk], console=console)
            reason = Prompt.ask("Reason (recorded in the audit trail)", console=console)
            assessment = save(records, assessment.override(r.dimension_id, risk, reason), who)
    return assessment


def choose_mitigations(assessment: Assessment, records: SessionRecords, who: str) -> Assessment:
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
            for c in m.contradicted_by:
                if assessment.answers.get(c.question) in c.answers:
                    console.print(f"       would not count: {c.reason}", markup=False)
        raw = Prompt.ask("Numbers to adopt, comma-separated (Enter: keep as is)", default="",
                         show_default=False, console=console)
        chosen += [options[int(n) - 1].id for n in raw.replace(" ", "").split(",")
                   if n.isdigit() and 1 <= int(n) <= len(options)]
    return save(records, assessment.choose_mitigations(chosen), who)


def set_flags(assessment: Assessment, records: SessionRecords, who: str) -> Assessment:
    """Let the assessor say, with a reason, whether each high dimension can be mitigated."""
    from assistant.assessments.decision import Risk

    high = [r for r in assessment.ratings() if r.effective is Risk.HIGH]
    if not high:
        return assessment
    if len(high) == len(assessment.ratings()):
        console.print("[yellow]Every dimension is rated high: the deal is a no-go unless you "
                      "record, with a reason, that a dimension can be mitigated.[/yellow]")
    for r in high:
        now = "yes" if assessment.is_mitigable(r.dimension_id) else "no"
        answer = Prompt.ask(f"Can {r.title} be mitigated? (now: {now}; Enter to leave as is)",
                            choices=["yes", "no", ""], default="", show_choices=False,
                            show_default=False, console=console)
        if answer:
            reason = Prompt.ask("Reason (recorded in the audit trail)", console=console)
            try:
                assessment = save(records, assessment.set_mitigable(
                    r.dimension_id, answer == "yes", reason), who)
            except ValueError as exc:
                console.print(f"[red]{exc}[/red]", highlight=False)
    return assessment


def show_decision(assessment: Assessment) -> None:
    from assistant.assessments.report import OUTCOME_TITLES
    from assistant.assessments.signoff import VERDICT_TITLES, Verdict, signoff_status

    decision = assessment.decision()
    if decision is None:
        console.print("[yellow]No decision yet: some dimensions have no rating.[/yellow]")
        return
    console.rule(f"Decision: {OUTCOME_TITLES[decision.outcome]}")
    console.print(decision.reason, markup=False)
    console.print(decision.recommendation, markup=False)
    for condition in decision.conditions:
        console.print(f"  - {condition}", markup=False)
    for mitigation, why in assessment.discounted():
        console.print(f"  Not counted: {mitigation.text} ({why})", markup=False)
    if assessment.open_questions():
        console.print(f"[yellow]{len(assessment.open_questions())} question(s) still open.[/]")
    status = signoff_status(str(decision.outcome), assessment.signoffs)
    if status == "awaiting":
        console.print(f"Awaiting senior management: `hrdd assess decide {assessment.id} "
                      "--approver NAME`.", markup=False)
    elif status is not None:
        last = assessment.signoffs[-1]
        console.print(f"{VERDICT_TITLES[Verdict(status)]} by {last.approver} on "
                      f"{last.at:%Y-%m-%d}: {last.rationale}", markup=False)


def write_report(assessment: Assessment, fmt: str, out: Path | None) -> None:
    if fmt not in ("md", "html"):
        raise typer.BadParameter("--format must be md or html")
    from assistant.assessments.report import render_html, render_markdown

    text = render_html(assessment) if fmt == "html" else render_markdown(assessment)
    if out is None:
        typer.echo(text)
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"Report written to {out}")


def save(records: SessionRecords, assessment: Assessment, who: str) -> Assessment:
    records.save(assessment, who)
    return assessment
