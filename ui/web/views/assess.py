"""Deal assessment: a playbook as a step-by-step form, ending with a decision and a report.

The session lives in the records database: every step saved is written at once (with an
audit entry per change), and each run of the page reads it back, so a session can be left
and resumed from the list at any time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from assistant.access.deals import may_open, visible
from assistant.access.identity import Refused
from assistant.access.roles import Permission
from assistant.assessments.assessment import Assessment, start_assessment
from assistant.assessments.country_indicators import IndicatorError, parse_country_indicators
from assistant.assessments.playbook import PlaybookError, list_playbooks
from assistant.assessments.playbook_records import Question, Step
from assistant.assessments.start import library_guidance, start_session
from ui.web import assessment_screens as screens
from ui.web import components as ui
from ui.web import resources, signin

EXTRA_STEPS = ("Ratings", "Mitigations", "Decision")
S = st.session_state


def main() -> None:
    user = signin.current_user()
    linked = st.query_params.get("session")
    if not any(user.may(p) for p in (Permission.ASSESS, Permission.DECIDE)):
        signin.require(user, Permission.ASSESS, "deal-view", linked or "")
    records = resources.records()
    if linked and linked != S.get("assess_link"):  # a link to one session (/assess?session=ID)
        S.update(assess_id=linked, assess_link=linked, assess_who="", assess_step=0,
                 assess_indicators=None)
    if signin.owner_id(user):  # signed in: every change is recorded under their name
        S["assess_who"] = user.label
    session_id = S.get("assess_id")
    if session_id is None:
        _start(records, user)
        return
    try:
        _check_access(records, user, session_id)
        a = records.load(session_id)
    except (KeyError, PlaybookError, Refused) as exc:
        S["assess_id"] = None
        st.query_params.pop("session", None)
        st.error(ui.inline(exc.args[0] if exc.args else exc))
        _start(records, user)
        return
    st.query_params["session"] = S["assess_link"] = a.id  # the address bar links to it
    _session(records, a, user)


def _check_access(records, user, session_id: str) -> None:
    """Raise Refused (logged) unless `user` may open this deal; log each first view."""
    deal = records.summary(session_id)
    audit = resources.access()
    if not may_open(user, deal):
        audit.record(user, "deal-view", session_id, "refused: a deal is private to its "
                     "assessor, those it is shared with and the approvers", allowed=False)
        raise Refused(f"You may not open deal session {session_id}: it is private to its "
                      "assessor, the people they shared it with and the approvers.")
    if S.get("assess_viewed") != session_id:
        audit.record(user, "deal-view", f"{deal.deal} ({session_id})")
        S["assess_viewed"] = session_id


# ----- starting or resuming

def _start(records, user) -> None:
    ui.page_header("Deal assessment", "Walk a playbook step by step, with the library's "
                   "guidance beside each question, and end with a decision a manager can sign.",
                   ":material/fact_check:")
    ui.legal_note()
    new, resume = st.tabs([":material/add_circle: New assessment",
                           ":material/history: Resume a session"])
    with new:
        if user.may(Permission.ASSESS):
            _new_form(records, user)
        else:
            st.info("Starting an assessment needs the assessor role.", icon=":material/info:")
    with resume:
        _resume_form(records, user)


def _new_form(records, user) -> None:
    try:
        playbooks = {p.id: p for p in list_playbooks()}
    except PlaybookError as exc:
        st.error(ui.inline(exc))
        return
    ids = list(playbooks)
    default = ids.index("export-deal") if "export-deal" in ids else 0
    chosen = st.selectbox("Playbook", ids, index=default, key="assess_playbook",
                          format_func=lambda i: playbooks[i].title)
    playbook = playbooks[chosen]
    st.caption(ui.inline(playbook.description))
    st.caption(f"{len(playbook.steps)} steps · rates "
               + ", ".join(ui.inline(d.title) for d in playbook.dimensions))
    with st.form("assess_new"):
        deal = st.text_input("Deal name", max_chars=200,
                             placeholder="e.g. Core network upgrade for Borduria Telecom")
        who = signin.who_field(user, "Your name (recorded in the audit trail)")
        summary = st.text_area("One-paragraph summary of the deal (optional)", max_chars=2000)
        csv = st.file_uploader("Country indicators (optional CSV: country_code, indicator, "
                               "value, year, source, licence)", type=["csv"])
        started = st.form_submit_button("Start the assessment", type="primary",
                                        icon=":material/play_arrow:")
    if not started:
        return
    indicators = None
    if csv is not None:
        try:
            indicators = parse_country_indicators(csv.getvalue().decode("utf-8-sig"),
                                                  csv.name)
        except (IndicatorError, UnicodeDecodeError) as exc:
            st.error(ui.inline(exc))
            return
    try:
        a = start_assessment(playbook, deal, who, summary)
    except ValueError as exc:
        st.error(f"Cannot start: {ui.inline(exc)}")
        return
    with st.spinner("Finding the guidance for each step ..."):
        a = start_session(records, a, who, library_guidance(resources.assistant),
                          owner=signin.owner_id(user))
    _open(a.id, who.strip(), indicators)


def _resume_form(records, user) -> None:
    sessions = visible(user, records.list())
    if not sessions:
        st.info("No saved sessions yet.", icon=":material/info:")
        return
    st.dataframe(ui.cells([{"Deal": s.deal, "Playbook": s.playbook_id, "Assessor": s.assessor,
                   "Updated (UTC)": s.updated.strftime("%Y-%m-%d %H:%M"),
                   "Outcome": s.outcome or "not decided", "Sign-off": s.signoff or "",
                   "Review by": _review(s.review_by), "ID": s.id} for s in sessions]),
                 hide_index=True, width="stretch")
    by_id = {s.id: s for s in sessions}
    with st.form("assess_resume"):
        chosen = st.selectbox("Session", list(by_id), key="assess_resume_id",
                              format_func=lambda i: f"{by_id[i].deal} ({i})")
        who = signin.who_field(user, "Who is resuming (recorded in the audit trail); leave "
                               "empty to continue as the assessor")
        go = st.form_submit_button("Resume", type="primary", icon=":material/play_arrow:")
    if go and chosen:
        _open(chosen, who.strip() or by_id[chosen].assessor, None)


def _review(review_by) -> str:
    if review_by is None:
        return ""
    due = review_by <= datetime.now(UTC).date()
    return review_by.isoformat() + (" (due)" if due else "")


def _open(session_id: str, who: str, indicators) -> None:
    S.update(assess_id=session_id, assess_who=who, assess_step=0,
             assess_indicators=indicators)
    st.rerun()


# ----- an open session

def _sharing(records, session_id: str, user) -> None:
    """Who else may open this deal (signed-in installs; the deal's owner or an admin)."""
    deal = records.summary(session_id)
    if deal.owner is None or not (user.id == deal.owner or user.may(Permission.ADMINISTER)):
        return
    with st.popover("Share", icon=":material/share:"):
        st.caption("The deal is private to you, the approvers and the people you add here.")
        with st.form(f"share-{session_id}", border=False):
            text = st.text_area("E-mail addresses, one per line",
                                value="\n".join(deal.shared_with), key="assess_share")
            if st.form_submit_button("Save", icon=":material/save:"):
                records.share(session_id, text.splitlines(), user.label)
                resources.access().record(user, "deal-share", session_id,
                                          ", ".join(text.split()))
                st.rerun()


def _session(records, a: Assessment, user) -> None:
    steps = [s.title for s in a.playbook.steps] + list(EXTRA_STEPS)
    index = min(S.get("assess_step", 0), len(steps) - 1)
    ui.page_header("Deal assessment", icon=":material/fact_check:")
    with st.container(border=True):
        head, close = st.columns([5, 1], vertical_alignment="center")
        with head:
            st.subheader(ui.inline(a.deal), anchor=False)
            st.caption(f"{ui.inline(a.playbook.title)} (version {a.playbook.version}) · "
                       f"assessor {ui.inline(a.assessor)} · session {a.id}"
                       + (f" · re-assesses {a.previous.session_id}" if a.previous else "")
                       + (" · closed by sign-off" if a.closed_by else ""))
            st.caption(f"Link to this session: `/assess?session={a.id}`")
            _sharing(records, a.id, user)
        if close.button("Close session", icon=":material/close:", width="stretch"):
            S["assess_id"] = None
            st.query_params.pop("session", None)
            st.rerun()
    required = [q for q in a.playbook.questions if not q.optional]
    answered = sum(q.id in a.answers for q in required)
    st.progress((index + 1) / len(steps),
                text=f"Step {index + 1} of {len(steps)}: {ui.inline(steps[index])} · "
                     f"{answered} of {len(required)} questions answered")
    _step_list(a, steps, index)
    if index < len(a.playbook.steps):
        _playbook_step(records, a, a.playbook.steps[index], index)
    elif steps[index] == "Ratings":
        screens.ratings_screen(records, a, index)
    elif steps[index] == "Mitigations":
        screens.mitigations_screen(records, a, index)
    else:
        screens.decision_screen(records, a, index)
    ui.legal_note()


def _step_list(a: Assessment, steps: list[str], index: int) -> None:
    with st.sidebar:
        st.markdown("**Assessment steps**")
        for i, title in enumerate(steps):
            if i < len(a.playbook.steps):
                done = all(q.id in a.answers or q.optional
                           for q in a.playbook.steps[i].questions)
            else:
                done = i < index or (title == "Decision" and a.decision() is not None)
            if i == index:
                st.markdown(f":material/arrow_right: **{ui.inline(title)}**")
                continue
            icon = ":material/check_circle:" if done else ":material/radio_button_unchecked:"
            if st.button(ui.inline(title), key=f"goto-{i}", icon=icon, type="tertiary"):
                screens.go(i)


def _playbook_step(records, a: Assessment, step: Step, index: int) -> None:
    form_col, guide_col = st.columns([3, 2], gap="large")
    with form_col:
        st.subheader(step.title, anchor=False)
        if step.rates:
            rating = a.rating(step.rates)
            dim = a.playbook.dimension(step.rates)
            st.caption(f"Rates **{ui.inline(rating.title)}**: {ui.inline(dim.description)}")
            ui.risk_badge(rating.effective, prefix=f"{rating.title}: ")
        else:
            st.caption("This step rates no dimension: its answers raise red flags and its "
                       "mitigations can become conditions.")
        if step.intro:
            st.markdown(ui.md_escape(step.intro))
        with st.form(f"step-{a.id}-{step.id}", border=False):
            for q in step.questions:
                _question(a, q)
            back, save = st.columns(2)
            went_back = back.form_submit_button("Back", icon=":material/arrow_back:",
                                                disabled=index == 0, width="stretch")
            saved = save.form_submit_button("Save and continue", type="primary",
                                            icon=":material/arrow_forward:", width="stretch")
        if went_back or saved:
            updated, problems = _answers(a, step)
            for problem in problems:
                st.error(ui.inline(problem))
            if not problems and screens.save_session(records, updated):
                screens.go(index - 1 if went_back else index + 1)
        flags = [f for f in a.red_flags() if f.step == step.title]
        for flag in flags:
            st.warning(ui.inline(flag.text), icon=":material/flag:")
    with guide_col:
        _guidance(records, a, step)


def _question(a: Assessment, q: Question) -> None:
    key = f"q-{a.id}-{q.id}"
    label = ui.label(q.text) + (" (optional)" if q.optional else "")
    current = a.answers.get(q.id)
    help_text = q.help or None
    if q.type in ("choice", "yesno"):
        values = [o.value for o in q.options]
        st.radio(label, values, index=values.index(current) if current in values else None,
                 format_func=lambda v: q.option(v).label, key=key, help=help_text,
                 horizontal=q.type == "yesno")
    elif q.type == "country":
        st.text_input(label, value=current or "", max_chars=2, key=key, help=help_text,
                      placeholder="Two-letter code, e.g. XF")
        for fact in a.country_facts.get(q.id, ()):
            st.caption(f":material/public: {ui.inline(fact.describe())}")
    else:
        st.text_area(label, value=current or "", max_chars=q.max_chars, key=key,
                     help=help_text, height=90)


def _answers(a: Assessment, step: Step) -> tuple[Assessment, list[str]]:
    """The step's answers from the form; empty ones stay open."""
    problems = []
    for q in step.questions:
        value = S.get(f"q-{a.id}-{q.id}")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if a.answers.get(q.id) == (value.strip().upper() if q.type == "country" else value):
            continue
        try:
            a = a.answer(q.id, value, S.get("assess_indicators"))
        except ValueError as exc:
            problems.append(f"{q.text}: {exc}")
    return a, problems


def _guidance(records, a: Assessment, step: Step) -> None:
    st.markdown("#### :material/menu_book: Guidance from the library")
    cites = a.guidance.get(step.id)
    if cites is None:
        st.caption("Guidance was not fetched for this step.")
    elif not cites:
        st.caption("The library has nothing on this step.")
    for i, c in enumerate(cites or ()):
        ui.citation(c, expanded=i == 0)
    if st.button("Refresh guidance", icon=":material/refresh:", type="tertiary",
                 key=f"refresh-{step.id}", disabled=a.closed_by is not None):
        screens.save_session(records, a.fetch_guidance(library_guidance(resources.assistant).find,
                                             refresh=True))
        st.rerun()


main()
