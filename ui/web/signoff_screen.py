"""The end of a deal on the Deal page: senior management's decision on an escalated session,
and a re-assessment that starts from this one.

The decision is recorded through `SessionRecords.sign_off` (the checks and the audit entry
live there, the same as for `hrdd assess decide`); this screen only gathers the inputs and
shows the record.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from assistant.access.roles import Permission
from assistant.assessments.assessment import Assessment
from assistant.assessments.decision import Decision
from assistant.assessments.signoff import VERDICT_TITLES, SignOff, Verdict, signoff_status
from assistant.assessments.start import library_guidance, start_reassessment
from ui.web import components as ui
from ui.web import resources, signin

VERDICTS = {Verdict.APPROVE: "Approve with conditions", Verdict.REJECT: "Reject",
            Verdict.MORE_INFORMATION: "Send back for more information"}
S = st.session_state


def signoff_panel(records, a: Assessment, decision: Decision) -> None:
    """The sign-off record, and the form while an escalated session awaits a decision."""
    status = signoff_status(str(decision.outcome), a.signoffs)
    if status is None:
        return
    st.markdown("#### Senior-management sign-off")
    for n, record in enumerate(a.signoffs, start=1):
        _record(n, record)
    if a.closed_by is not None:
        st.caption("The session is closed: nothing in it can change. Start a re-assessment "
                   "below when the deal comes back with new facts.")
        return
    user = signin.current_user()
    if not user.may(Permission.DECIDE):
        st.info("This deal waits for a decision by senior management (an approver).",
                icon=":material/pending:")
        return
    st.caption(f"Escalated deals wait for a decision by senior management. The approver must "
               f"not be the assessor ({ui.inline(a.assessor)}); the decision, who, when and "
               "why go into the audit trail and the report.")
    with st.form(f"signoff-{a.id}"):
        approver = signin.who_field(user, "Approver (senior management)", "signoff-approver")
        verdict = st.radio("Decision", list(VERDICTS), format_func=VERDICTS.get,
                           horizontal=True, key="signoff-verdict")
        rationale = st.text_area("Rationale (required)", max_chars=2000, key="signoff-why")
        st.markdown("**Conditions of an approval** (untick to narrow; required ones stay)")
        kept = {c: st.checkbox(ui.inline(c), value=True, key=f"signoff-keep-{i}",
                               disabled=c in decision.required)
                for i, c in enumerate(decision.conditions)}
        added = st.text_area("Further conditions, one per line", key="signoff-add")
        review_by = st.date_input("Review by (before renewal, upgrade or expansion)",
                                  value=datetime.now(UTC).date() + timedelta(days=365),
                                  key="signoff-review")
        questions = st.text_area("Questions for the assessor, one per line (when sending "
                                 "back)", key="signoff-questions")
        recorded = st.form_submit_button("Record the decision", type="primary",
                                         icon=":material/approval:")
    if not recorded:
        return
    details = {}
    if verdict is Verdict.APPROVE:
        details = {"drop": [c for c, keep in kept.items() if not keep], "add":
                   added.splitlines(), "review_by": review_by}
    elif verdict is Verdict.MORE_INFORMATION:
        details = {"questions": questions.splitlines()}
    signin.require(user, Permission.DECIDE, "sign-off", a.id)  # checked again on submit
    try:
        records.sign_off(a.id, verdict, approver, rationale, **details)
    except ValueError as exc:
        st.error(ui.inline(exc), icon=":material/error:")
        return
    st.rerun()


def _record(n: int, s: SignOff) -> None:
    show = {Verdict.APPROVE: st.success, Verdict.REJECT: st.error,
            Verdict.MORE_INFORMATION: st.info}[s.verdict]
    lines = [f"**{n}. {VERDICT_TITLES[s.verdict]}** by {ui.inline(s.approver)} on "
             f"{s.at:%Y-%m-%d %H:%M} UTC", f"Rationale: {ui.inline(s.rationale)}"]
    if s.review_by:
        lines.append(f"Review by {s.review_by.isoformat()}")
    lines += [f"- {ui.inline(c)}" for c in s.conditions]
    lines += [f"- Question: {ui.inline(q)}" for q in s.questions]
    show("  \n".join(lines[:3]) + ("\n\n" + "\n".join(lines[3:]) if lines[3:] else ""),
         icon=":material/approval:")


def reassess_panel(records, a: Assessment) -> None:
    """Start a new session on this deal from this one (same deal, new facts)."""
    with st.expander("Re-assess this deal (new facts, renewal, upgrade)"):
        with st.form(f"reassess-{a.id}", border=False):
            user = signin.current_user()
            who = signin.who_field(user, "Your name (recorded in the audit trail)",
                                   "reassess-who")
            started = st.form_submit_button("Start a re-assessment", icon=":material/replay:")
        if not started:
            return
        try:
            signin.require(user, Permission.ASSESS, "reassess", a.id)
            new = start_reassessment(records, a.id, who, library_guidance(resources.assistant),
                                     owner=signin.owner_id(user))
        except ValueError as exc:
            st.error(ui.inline(exc))
            return
        S.update(assess_id=new.id, assess_who=who.strip(), assess_step=0)
        st.rerun()
