"""The last three screens of a deal assessment: ratings, mitigations and the decision.

Each change is saved at once through the session records (with its audit entry); navigation
between screens is the step index in `st.session_state`.
"""

from __future__ import annotations

import re

import streamlit as st

from assistant.assessments.assessment import Assessment
from assistant.assessments.decision import Outcome, Risk
from assistant.assessments.report import OUTCOME_TITLES, render_html, render_markdown
from ui.web import components as ui

BANNERS = {Outcome.PROCEED: (st.success, ":material/check_circle:"),
           Outcome.PROCEED_WITH_CONDITIONS: (st.info, ":material/rule:"),
           Outcome.ESCALATE: (st.warning, ":material/priority_high:"),
           Outcome.NO_GO: (st.error, ":material/block:")}
S = st.session_state


def go(index: int) -> None:
    S["assess_step"] = index
    st.rerun()


def save_session(records, a: Assessment) -> None:
    records.save(a, S.get("assess_who") or a.assessor)


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
                        save_session(records, a.override(r.dimension_id, risk, reason))
                        st.rerun()
                    except ValueError as exc:
                        st.error(ui.inline(exc))
                if r.override and st.button("Remove the override",
                                            key=f"ovr-clear-{r.dimension_id}"):
                    save_session(records, a.clear_override(r.dimension_id))
                    st.rerun()
    _nav(index)


def mitigations_screen(records, a: Assessment, index: int) -> None:
    st.subheader("Choose mitigations", anchor=False)
    st.caption("Mitigations chosen for a medium or high dimension become the conditions of "
               "the decision. A dimension counts as mitigable when a chosen mitigation "
               "serves it.")
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
                st.checkbox(ui.inline(m.text), value=m.id in a.mitigations,
                            key=f"mit-{a.id}-{m.id}", help=f"{m.kind}; serves {serves}")
        back, save = st.columns(2)
        went_back = back.form_submit_button("Back", icon=":material/arrow_back:",
                                            width="stretch")
        saved = save.form_submit_button("Save and continue", type="primary",
                                        icon=":material/arrow_forward:", width="stretch")
    if went_back or saved:
        chosen = [m.id for m in a.playbook.mitigations if S.get(f"mit-{a.id}-{m.id}")]
        save_session(records, a.choose_mitigations(chosen))
        go(index - 1 if went_back else index + 1)
    with st.expander("Say explicitly whether a dimension can be mitigated (optional)"):
        with st.form(f"mitflag-{a.id}", border=False):
            dim = st.selectbox("Dimension", list(titles), format_func=titles.get)
            value = st.radio("Can it be mitigated?", ["yes", "no"], horizontal=True)
            reason = st.text_input("Reason (required)", max_chars=2000)
            apply = st.form_submit_button("Record")
        if apply:
            try:
                save_session(records, a.set_mitigable(dim, value == "yes", reason))
                st.rerun()
            except ValueError as exc:
                st.error(ui.inline(exc))


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
        if decision.outcome is not Outcome.NO_GO and a.playbook.standard_safeguards:
            st.markdown("#### Standard safeguards\n\n" + "\n".join(
                f"- {ui.inline(s)}" for s in a.playbook.standard_safeguards))
    with right:
        st.markdown("#### Report")
        name = f"assessment-{_slug(a.deal)}-{a.id}"
        st.download_button("Download report (Markdown)", render_markdown(a),
                           file_name=f"{name}.md", mime="text/markdown",
                           icon=":material/download:", type="primary", width="stretch",
                           key="report-md")
        st.download_button("Download report (HTML)", render_html(a), file_name=f"{name}.html",
                           mime="text/html", icon=":material/download:", width="stretch",
                           key="report-html")
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
    _nav(index, forward=False)


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
