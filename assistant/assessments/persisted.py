"""How an assessment is read back from its stored state, and exported with what follows
from it (ratings, red flags, open questions, discounted mitigations, the decision)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from assistant.answer import Citation
from assistant.assessments.assessment import Assessment, MitigableFlag, Override
from assistant.assessments.country_indicators import IndicatorValue
from assistant.assessments.decision import Risk
from assistant.assessments.playbook_records import Playbook
from assistant.assessments.reassessment import Previous, changes_since
from assistant.assessments.signoff import SignOff, signoff_status


def restore_assessment(playbook: Playbook, state: dict) -> Assessment:
    """Rebuild an assessment from its persisted `state()`."""
    citation_fields = {f.name for f in fields(Citation)}
    return Assessment(
        state["id"], playbook, state["deal"], state["assessor"],
        datetime.fromisoformat(state["created"]), state.get("summary", ""),
        dict(state.get("answers", {})),
        {k: tuple(IndicatorValue(**f) for f in v)
         for k, v in state.get("country_facts", {}).items()},
        {k: Override(Risk(o["risk"]), o["reason"]) for k, o in state.get("overrides", {}).items()},
        tuple(state.get("mitigations", ())),
        {k: MitigableFlag(f["value"], f["reason"]) for k, f in state.get("mitigable", {}).items()},
        {k: tuple(Citation(**{n: c[n] for n in c if n in citation_fields}) for c in v)
         for k, v in state.get("guidance", {}).items()},
        tuple(SignOff.from_dict(s) for s in state.get("signoffs") or ()),
        Previous.from_dict(state["previous"]) if state.get("previous") else None,
    )


def exported(a: Assessment) -> dict:
    """The stored state plus what follows from it, as JSON-ready data."""
    decision = a.decision()
    return {
        **a.state(),
        "ratings": {r.dimension_id: {"computed": r.computed and str(r.computed),
                                     "effective": r.effective and str(r.effective),
                                     "overridden": r.override is not None,
                                     "can_be_mitigated": a.is_mitigable(r.dimension_id)}
                    for r in a.ratings()},
        "red_flags": [f.text for f in a.red_flags()],
        "open_questions": [q.id for q in a.open_questions()],
        "discounted_mitigations": {m.id: why for m, why in a.discounted()},
        "decision": None if decision is None else {
            "outcome": str(decision.outcome), "reason": decision.reason,
            "recommendation": decision.recommendation,
            "conditions": list(decision.conditions),
            "legal_bars": list(decision.legal_bars)},
        "signoff_status": signoff_status(decision and str(decision.outcome), a.signoffs),
        "changes_since_last_decision": changes_since(a),
    }
