"""The assessment report a manager signs, in Markdown or HTML.

Both formats render the same list of blocks, so they never drift apart. Every piece of
user or document text is escaped: `html.escape` in HTML, backslash escapes in Markdown,
so no document can inject markup into the report. The sign-off section is filled in from
the record: who prepared the assessment, and senior management's decision on an escalated
one (who, when, the verdict, the rationale, the conditions and the review date).
"""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import UTC, datetime

from assistant.answer import Citation
from assistant.assessments.assessment import Assessment
from assistant.assessments.decision import Decision, Outcome
from assistant.assessments.playbook_records import Step
from assistant.assessments.reassessment import changes_since
from assistant.assessments.signoff import VERDICT_TITLES, SignOff, Verdict, signoff_status
from assistant.markdown import citation_line
from assistant.markdown import escape as _md

NOT_LEGAL_ADVICE = ("This report is guidance, not legal advice. It records a human-rights "
                    "assessment; it does not replace legal, export-control or sanctions advice.")
MAX_QUOTE_CHARS = 600  # a chunk can be long; the report keeps its opening words
OUTCOME_TITLES = {
    Outcome.PROCEED: "Proceed, with the standard safeguards",
    Outcome.PROCEED_WITH_CONDITIONS: "Proceed with conditions",
    Outcome.ESCALATE: "Escalate to senior management",
    Outcome.NO_GO: "No-go",
    Outcome.BLOCKED: "Blocked by a legal bar",
}

# A block is (kind, payload): h1/h2/h3/p/note take a str; ul takes items, each a str or a
# (bold, rest) pair; table takes (headers, rows); cites takes a tuple of Citations;
# signoff takes rows of (role, name, date, what was signed), all filled in.
Block = tuple[str, object]


def render_markdown(assessment: Assessment, generated: datetime | None = None) -> str:
    """The report as Markdown."""
    return "\n".join(_markdown(b) for b in build_blocks(assessment, generated)) + "\n"


def render_html(assessment: Assessment, generated: datetime | None = None) -> str:
    """The report as a standalone HTML page."""
    body = "\n".join(_html(b) for b in build_blocks(assessment, generated))
    title = html.escape(f"Assessment report: {assessment.deal}")
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n"
            "</body>\n</html>\n")


def build_blocks(assessment: Assessment, generated: datetime | None = None) -> list[Block]:
    """The report's content, in order, independent of the output format."""
    a = assessment
    generated = generated or datetime.now(UTC)
    blocks: list[Block] = [
        ("h1", f"Assessment report: {a.deal}"),
        ("note", NOT_LEGAL_ADVICE),
        ("h2", "Deal summary"),
        ("ul", [("Deal: ", a.deal), ("Assessor: ", a.assessor),
                ("Playbook: ", f"{a.playbook.title} (version {a.playbook.version})"),
                ("Session: ", a.id), ("Started: ", a.created.strftime("%Y-%m-%d %H:%M UTC")),
                ("Report generated: ", generated.strftime("%Y-%m-%d %H:%M UTC"))]),
    ]
    if a.summary:
        blocks.append(("p", a.summary))
    if a.previous is not None:
        blocks += [("h2", f"Changes since the last decision (session {a.previous.session_id})"),
                   ("ul", [_last_decision(a)] + changes_since(a))]
    blocks += _decision_blocks(a)
    blocks += [("h2", "Ratings"), ("table", (
        ("Dimension", "From the answers", "Override", "Rating", "Can be mitigated"),
        [(r.title, str(r.computed or "not rated"),
          f"{r.override.risk}: {r.override.reason}" if r.override else "none",
          str(r.effective or "not rated"),
          _mitigable_text(a, r.dimension_id)) for r in a.ratings()]))]
    for step in a.playbook.steps:
        blocks += _step_blocks(a, step)
    blocks += [("h2", "Open questions"),
               ("ul", [f"{a.playbook.step_of(q.id).title}: {q.text}" for q in a.open_questions()]
                or ["None: every question has an answer."])]
    blocks += _signoff_blocks(a)
    blocks.append(("note", NOT_LEGAL_ADVICE))
    return blocks


def _last_decision(a: Assessment) -> str:
    before = a.previous
    said = f"Then: '{before.outcome or 'not decided'}' (assessor {before.assessor})"
    if before.verdict:
        said += (f"; senior management: {VERDICT_TITLES[Verdict(before.verdict)].lower()} by "
                 f"{before.approver} on {before.decided:%Y-%m-%d}")
    return said + (f"; review by {before.review_by.isoformat()}." if before.review_by else ".")


def _signoff_blocks(a: Assessment) -> list[Block]:
    decision = a.decision()
    status = signoff_status(decision and str(decision.outcome), a.signoffs)
    rows = [("Prepared by", a.assessor, a.created.strftime("%Y-%m-%d"),
             f"the assessment ({decision.outcome if decision else 'no decision yet'})")]
    blocks: list[Block] = [("h2", "Sign-off")]
    if status is None:
        blocks.append(("p", "Senior-management sign-off is not required: only an escalated "
                            "assessment waits for one."))
    elif status in ("awaiting", str(Verdict.MORE_INFORMATION)):
        blocks.append(("note", "Awaiting the decision of senior management: approve (with "
                               "conditions), reject, or send back for more information."))
    for n, signoff in enumerate(a.signoffs, start=1):
        blocks += _signoff_record(n, signoff)
        rows.append(("Decided by", signoff.approver, signoff.at.strftime("%Y-%m-%d %H:%M UTC"),
                     VERDICT_TITLES[signoff.verdict]))
    return blocks + [("signoff", rows)]


def _signoff_record(n: int, s: SignOff) -> list[Block]:
    items = [("Verdict: ", VERDICT_TITLES[s.verdict]), ("Approver: ", s.approver),
             ("When: ", s.at.strftime("%Y-%m-%d %H:%M UTC")), ("Rationale: ", s.rationale)]
    if s.review_by:
        items.append(("Review by: ", f"{s.review_by.isoformat()}, and before any renewal, "
                                     "upgrade or expansion of the deal"))
    items.append(("Assessment fingerprint: ", s.fingerprint))
    blocks: list[Block] = [("h3", f"Decision {n} of senior management"), ("ul", items)]
    if s.verdict is Verdict.APPROVE:
        blocks += [("h3", "Conditions approved"),
                   ("ul", [c if c in s.proposed else _marked(c, "added by the approver")
                           for c in s.conditions])]
        dropped = [c for c in s.proposed if c not in s.conditions]
        if dropped:
            blocks += [("h3", "Proposed conditions the approver dropped"), ("ul", dropped)]
    if s.questions:
        blocks += [("h3", "Information requested"), ("ul", list(s.questions))]
    return blocks


def _decision_blocks(a: Assessment) -> list[Block]:
    decision = a.decision()
    if decision is None:
        missing = [r.title for r in a.ratings() if r.effective is None]
        return [("h2", "Decision"),
                ("p", f"No decision yet: {', '.join(missing)} not rated.")]
    blocks: list[Block] = [
        ("h2", f"Decision: {OUTCOME_TITLES[decision.outcome]}"),
        ("ul", [("Outcome: ", str(decision.outcome)), ("Reason: ", decision.reason),
                ("Recommendation: ", decision.recommendation)]),
    ]
    if a.signoffs:
        last = a.signoffs[-1]
        blocks[-1][1].append(("Senior management: ", f"{VERDICT_TITLES[last.verdict]} by "
                              f"{last.approver} on {last.at:%Y-%m-%d} (see Sign-off)."))
    if decision.outcome is Outcome.BLOCKED:
        blocks += [("h3", "Legal bar"), ("ul", list(decision.legal_bars)),
                   ("p", "A legal bar is not a human-rights finding: without it, the 4 Ps "
                         f"rule gives '{decision.human_rights}'.")]
    if a.open_questions():
        blocks.append(("note", f"Provisional: {len(a.open_questions())} question(s) are "
                               "still open; the decision may change when they are answered."))
    blocks += _condition_blocks(a, decision)
    if decision.outcome not in (Outcome.NO_GO, Outcome.BLOCKED) and a.playbook.standard_safeguards:
        blocks += [("h3", "Standard safeguards"), ("ul", list(a.playbook.standard_safeguards))]
    return blocks


def _condition_blocks(a: Assessment, decision: Decision) -> list[Block]:
    blocks: list[Block] = []
    if decision.conditions:
        heading = ("Proposed conditions for senior management"
                   if decision.outcome is Outcome.ESCALATE else "Conditions")
        blocks += [("h3", heading), ("ul", [_marked(c, "required by the answers") if c in
                                            decision.required else c
                                            for c in decision.conditions])]
    if decision.outcome is Outcome.ESCALATE and decision.unserved:
        blocks += [("h3", "Without a mitigation that counts"),
                   ("ul", [f"{d}: rated {'high' if d in decision.high else 'medium'}"
                           for d in decision.unserved])]
    if a.discounted():
        blocks += [("h3", "Chosen mitigations that do not count"),
                   ("ul", [(f"{m.text} ", f"Not counted: {why}") for m, why in a.discounted()])]
    return blocks


def _step_blocks(a: Assessment, step: Step) -> list[Block]:
    blocks: list[Block] = [("h2", step.title)]
    if step.rates:
        rating = a.rating(step.rates)
        line = f"Counts towards {rating.title}, rated {rating.effective or 'not rated'}"
        if rating.override:
            line += (f" (overridden from {rating.computed or 'not rated'}: "
                     f"{rating.override.reason})")
        blocks.append(("p", line + "."))
    else:
        blocks.append(("p", "Rates no dimension: raises red flags and offers conditions."))
    blocks.append(("table", (("Question", "Answer"),
                             [(q.text, a.label_of(q)) for q in step.questions])))
    facts = [f for q in step.questions for f in a.country_facts.get(q.id, ())]
    if any(q.type == "country" and q.id in a.answers for q in step.questions):
        blocks += [("h3", "Country indicators"),
                   ("ul", [f.describe() for f in facts] or ["No indicator values for this "
                                                             "country in the indicator file."])]
    flags = [flag for q in step.questions if (option := q.option(a.answers.get(q.id, "")))
             for flag in option.red_flags]
    if flags:
        blocks += [("h3", "Red flags"), ("ul", flags)]
    chosen = [m for m in a.chosen_mitigations() if m in step.mitigations]
    discounted = dict((m.id, why) for m, why in a.discounted())
    if chosen:
        blocks += [("h3", "Mitigations chosen"),
                   ("ul", [f"{m.text} ({m.kind})" + (f"; not counted: {discounted[m.id]}"
                                                     if m.id in discounted else "")
                           for m in chosen])]
    blocks.append(("h3", "Guidance relied on"))
    if step.id not in a.guidance:
        blocks.append(("p", "Guidance was not fetched for this step."))
    elif not a.guidance[step.id]:
        blocks.append(("p", "The library has nothing on this step."))
    else:
        blocks.append(("cites", a.guidance[step.id]))
    return blocks


def _marked(condition: str, note: str) -> str:
    return f"{condition.rstrip('.')} ({note})."


def _mitigable_text(a: Assessment, dimension_id: str) -> str:
    flag = a.mitigable.get(dimension_id)
    answer = "yes" if a.is_mitigable(dimension_id) else "no"
    return f"{answer} ({flag.reason})" if flag else answer


def _markdown(block: Block) -> str:
    kind, payload = block
    if kind in ("h1", "h2", "h3"):
        return f"{'#' * int(kind[1])} {_md(payload)}\n"
    if kind == "p":
        return f"{_md(payload)}\n"
    if kind == "note":
        return f"> {_md(payload)}\n"
    if kind == "ul":
        return "\n".join(f"- **{_md(i[0]).strip()}** {_md(i[1])}" if isinstance(i, tuple)
                         else f"- {_md(i)}" for i in payload) + "\n"
    if kind == "table":
        headers, rows = payload
        lines = ["| " + " | ".join(_md(h) for h in headers) + " |",
                 "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    if kind == "signoff":
        return _markdown(("table", (("Role", "Name", "Date", "Signed for"), payload)))
    if kind == "cites":
        return "\n".join(citation_line(c) for c in _cites(payload)) + "\n"
    raise ValueError(f"unknown block kind {kind!r}")


def _html(block: Block) -> str:
    kind, payload = block
    e = html.escape
    if kind in ("h1", "h2", "h3", "p"):
        return f"<{kind}>{e(str(payload))}</{kind}>"
    if kind == "note":
        return f"<p class=\"note\">{e(str(payload))}</p>"
    if kind == "ul":
        items = "".join(f"<li><strong>{e(i[0])}</strong>{e(i[1])}</li>" if isinstance(i, tuple)
                        else f"<li>{e(i)}</li>" for i in payload)
        return f"<ul>{items}</ul>"
    if kind == "table":
        headers, rows = payload
        head = "".join(f"<th>{e(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                       for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if kind == "signoff":
        return _html(("table", (("Role", "Name", "Date", "Signed for"), payload))).replace(
            "<table>", "<table class=\"signoff\">", 1)
    if kind == "cites":
        items = "".join(f"<li value=\"{int(c.n)}\"><strong>{e(c.title)}</strong> "
                        f"({e(c.location)}): <q>{e(c.quote)}</q></li>"
                        for c in _cites(payload))
        return f"<ol>{items}</ol>"
    raise ValueError(f"unknown block kind {kind!r}")


def _cites(payload: object) -> tuple[Citation, ...]:
    """The citations, each quote cut at a word boundary near MAX_QUOTE_CHARS."""
    return tuple(c if len(c.quote) <= MAX_QUOTE_CHARS else
                 replace(c, quote=c.quote[:MAX_QUOTE_CHARS].rsplit(" ", 1)[0] + " ...")
                 for c in payload)  # type: ignore[union-attr]


_CSS = ("body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem;"
        "vertical-align:top}.signoff td{min-width:9rem}"
        ".note{border-left:4px solid #c60;padding-left:.6rem}")
