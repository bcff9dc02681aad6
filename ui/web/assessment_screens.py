"""The last three screens of a deal assessment: ratings, mitigations and the decision.

Each change is saved at once through the session records (with its audit entry); navigation
between screens is the step index in `st.session_state`.
"""

from __future__ import annotations

import re

import streamlit as st

from assistant.assessments.assessment import Assessment
from assistant.assessments.decision import Outcome, Risk
from assistant.assessments.reassessment import changes_since
from assistant.assessments.report import OUTCOME_TITLES, render_html, render_markdown
from ui.web import components as ui
from ui.web import resources, signin
from ui.web.signoff_screen import reassess_panel, signoff_panel

BANNERS = {Outcome.PROCEED: (st.success, ":material/check_circle:"),
           Outcome.PROCEED_WITH_CONDITIONS: (st.info, ":material/rule:"),
           Outcome.ESCALATE: (st.warning, ":material/priority_high:"),
           Outcome.NO_GO: (st.error, ":material/block:"),
           Outcome.BLOCKED: (st.error, ":material/gavel:")}
S = st.session_state


def go(index: int) -> None:
    S["assess_step"] = index
    st.rerun()


def _exported(a: Assessment, kind: str) -> None:
    """Who downloaded a deal report goes into the shared audit log."""
    resources.access().record(signin.current_user(), "deal-export", f"{a.deal} ({a.id})", kind)


def save_session(records, a: Assessment) -> bool:
    """Save the session; a refused change (a closed session) is shown and nothing is saved."""
    try:
        records.save(a, S.get("assess_who") or a.assessor)
    except ValueError as exc:
        st.error(ui.inline(exc), icon=":material/lock:")
        return False
    return True


def ratings_screen(records, a: Assessment, index: int) -> None:
    st.subheader("Review the ratings", anchor=False)
    st.caption("Each dimension takes the highest risk among its answers. Override a rating "
               "when the answers miss something; the reason goes into the report and the "
               "audit trail.")
    for r in a.ratings():
        dim = a.playbook.dimension(r.dimension_id)
        with st.container(border=True):
            text, badges = st.columns([3, 2])
            with text:
                st.markdown(f"**{ui.inline(r.title)}** · {ui.inline(dim.description)}")
                for driver in r.drivers:
                    st.caption(f"Because: {ui.inline(driver)}")
                if r.override:
                    st.caption(f"Overridden from {r.computed or 'not rated'}: "
                               f"{ui.inline(r.override.reason)}")
            with badges:
                ui.risk_badge(r.effective, prefix="Rating: ")
                if r.override:
                    ui.risk_badge(r.computed, prefix="From the answers: ")
            with st.expander("Override this rating"):
                with st.form(f"ovr-{a.id}-{r.dimension_id}", border=False):
                    risk = st.selectbox("New rating", [str(x) for x in Risk],
                                        key=f"ovr-risk-{r.dimension_id}")
                    reason = st.text_input("Reason (required)", max_chars=2000,
                                           key=f"ovr-reason-{r.dimension_id}")
                    apply = st.form_submit_button("Apply override",
                                                  key=f"ovr-apply-{r.dimension_id}")
                if apply:
                    try:
                        if save_session(records, a.override(r.dimension_id, risk, reason)):
                            st.rerun()
                    except ValueError as exc:
                        st.error(ui.inline(exc))
                if r.override and st.button("Remove the override",
                                            key=f"ovr-clear-{r.dimension_id}"):
                    _try(records, lambda d=r.dimension_id: a.clear_override(d))
    _nav(index)


def mitigations_screen(records, a: Assessment, index: int) -> None:
    st.subheader("Choose mitigations", anchor=False)
    st.caption("Mitigations chosen for a medium or high dimension become the conditions of "
               "the decision; a medium dimension with none that counts goes to senior "
               "management. A mitigation the answers contradict (a refused clause) does not "
               "count. When every dimension is high, only a flag set below with a reason "
               "makes a dimension mitigable.")
    titles = {d.id: d.title for d in a.playbook.dimensions}
    rated = {r.dimension_id: r.effective for r in a.ratings()}
    with st.form(f"mit-{a.id}", border=False):
        for step in a.playbook.steps:
            if not step.mitigations:
                continue
            st.markdown(f"**{ui.inline(step.title)}**")
            for m in step.mitigations:
                serves = ", ".join(f"{titles[d]} ({rated.get(d) or 'not rated'})"
                                   for d in m.mitigates)
                against = [c.reason for c in m.contradicted_by
                           if a.answers.get(c.question) in c.answers]
                st.checkbox(ui.inline(m.text), value=m.id in a.mitigations,
                            key=f"mit-{a.id}-{m.id}", help=f"{m.kind}; serves {serves}")
                if against:
                    st.caption(f":material/block: Would not count: {ui.inline(' '.join(against))}")
        back, save = st.columns(2)
        went_back = back.form_submit_button("Back", icon=":material/arrow_back:",
                                            width="stretch")
        saved = save.form_submit_button("Save and continue", type="primary",
                                        icon=":material/arrow_forward:", width="stretch")
    if went_back or saved:
        chosen = [m.id for m in a.playbook.mitigations if S.get(f"mit-{a.id}-{m.id}")]
        if a.closed_by is not None or save_session(records, a.choose_mitigations(chosen)):
            go(index - 1 if went_back else index + 1)
    with st.expander("Say explicitly whether a dimension can be mitigated (optional)"):
        with st.form(f"mitflag-{a.id}", border=False):
            dim = st.selectbox("Dimension", list(titles), format_func=titles.get)
            value = st.radio("Can it be mitigated?", ["yes", "no"], horizontal=True)
            reason = st.text_input("Reason (required)", max_chars=2000)
            apply = st.form_submit_button("Record")
        if apply:
            _try(records, lambda: a.set_mitigable(dim, value == "yes", reason))


def decision_screen(records, a: Assessment, index: int) -> None:
    decision = a.decision()
    if decision is None:
        missing = [r.title for r in a.ratings() if r.effective is None]
        st.warning(f"No decision yet: {ui.inline(', '.join(missing))} not rated. Answer the "
                   "open questions first.", icon=":material/hourglass_empty:")
        _open_questions(a)
        _nav(index, forward=False)
        return
    show, icon = BANNERS[decision.outcome]
    show(f"**Decision: {ui.inline(OUTCOME_TITLES[decision.outcome])}**\n\n"
         f"{ui.inline(decision.reason)}", icon=icon)
    st.markdown(f"**Recommendation.** {ui.inline(decision.recommendation)}")
    if a.open_questions():
        st.warning(f"Provisional: {len(a.open_questions())} question(s) are still open; the "
                   "decision may change when they are answered.", icon=":material/pending:")
    if decision.legal_bars:
        st.markdown("**Legal bar.** " + " ".join(ui.inline(b) for b in decision.legal_bars)
                    + f" Without it, the 4 Ps rule gives '{decision.human_rights}'.")
    if a.previous is not None:
        with st.expander(f"Changes since the last decision (session {a.previous.session_id})"):
            st.markdown("\n".join(f"- {ui.inline(line)}" for line in changes_since(a)))
    st.markdown("#### Ratings")
    st.dataframe(ui.cells([{"Dimension": r.title, "Rating": str(r.effective or "not rated"),
                   "From the answers": str(r.computed or "not rated"),
                   "Override": f"{r.override.risk}: {r.override.reason}" if r.override else "",
                   "Can be mitigated": "yes" if a.is_mitigable(r.dimension_id) else "no"}
                  for r in a.ratings()]), hide_index=True, width="stretch",
                 column_config={"Override": st.column_config.TextColumn(width="large")})
    left, right = st.columns([3, 2], gap="large")
    with left:
        if decision.conditions:
            heading = ("Proposed conditions for senior management"
                       if decision.outcome is Outcome.ESCALATE else "Conditions")
            st.markdown(f"#### {heading}\n\n"
                        + "\n".join(f"- {ui.inline(c)}" for c in decision.conditions))
        if decision.outcome is Outcome.ESCALATE and decision.unserved:
            st.markdown("**Without a mitigation that counts:** "
                        + ui.inline(", ".join(decision.unserved)))
        for m, why in a.discounted():
            st.caption(f":material/block: Not counted: {ui.inline(m.text)} ({ui.inline(why)})")
        signoff_panel(records, a, decision)
        if decision.outcome not in (Outcome.NO_GO, Outcome.BLOCKED) and \
                a.playbook.standard_safeguards:
            st.markdown("#### Standard safeguards\n\n" + "\n".join(
                f"- {ui.inline(s)}" for s in a.playbook.standard_safeguards))
    with right:
        st.markdown("#### Report")
        name = f"assessment-{_slug(a.deal)}-{a.id}"
        st.download_button("Download report (Markdown)", render_markdown(a),
                           file_name=f"{name}.md", mime="text/markdown",
                           icon=":material/download:", type="primary", width="stretch",
                           key="report-md", on_click=_exported, args=(a, "Markdown"))
        st.download_button("Download report (HTML)", render_html(a), file_name=f"{name}.html",
                           mime="text/html", icon=":material/download:", width="stretch",
                           key="report-html", on_click=_exported, args=(a, "HTML"))
        st.markdown("#### Red flags")
        flags = a.red_flags()
        if not flags:
            st.caption("None raised by the answers.")
        for flag in flags:
            st.markdown(f":material/flag: {ui.inline(flag.text)}  \n"
                        f":gray[{ui.inline(flag.step)}]")
        _open_questions(a)
    with st.expander("Audit trail"):
        st.dataframe(ui.cells([{"When (UTC)": e.at.strftime("%Y-%m-%d %H:%M:%S"), "Who": e.who,
                       "Change": e.field, "From": _short(e.old), "To": _short(e.new),
                       "Reason": e.reason} for e in records.audit_trail(a.id)]),
                     hide_index=True, width="stretch")
    reassess_panel(records, a)
    _nav(index, forward=False)


def _try(records, change) -> None:
    """Apply a change that may be refused (a missing reason, a closed session), then save."""
    try:
        updated = change()
    except ValueError as exc:
        st.error(ui.inline(exc))
        return
    if save_session(records, updated):
        st.rerun()


def _open_questions(a: Assessment) -> None:
    open_qs = a.open_questions()
    if not open_qs:
        return
    st.markdown("#### Open questions")
    for q in open_qs:
        step = a.playbook.step_of(q.id)
        st.markdown(f"- {ui.inline(step.title)}: {ui.inline(q.text)}")


def _nav(index: int, forward: bool = True) -> None:
    back, ahead = st.columns(2)
    if back.button("Back", icon=":material/arrow_back:", width="stretch", key="nav-back"):
        go(index - 1)
    if forward and ahead.button("Continue", type="primary", icon=":material/arrow_forward:",
                                width="stretch", key="nav-next"):
        go(index + 1)


def _short(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "deal"
