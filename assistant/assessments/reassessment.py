"""Re-assessment: a new session on the same deal that starts from an earlier one.

A deal comes back with new facts (a renewal, an upgrade, an answer senior management asked
for after an approval closed the session). `reassess` copies the earlier session's inputs
into a new one, which keeps the link (`Previous`: a snapshot of the earlier session and its
last decision) so that the report can say what changed since that decision.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from assistant.assessments.values import checked_name

if TYPE_CHECKING:  # a re-assessment is built from an assessment; this module only reads one
    from assistant.assessments.assessment import Assessment
    from assistant.assessments.playbook_records import Playbook


@dataclass(frozen=True)
class Previous:
    """The earlier session a re-assessment started from, as it stood then."""

    session_id: str
    assessor: str
    outcome: str | None  # what the decision rule gave
    verdict: str | None = None  # senior management's last decision, if any
    approver: str = ""
    decided: datetime | None = None
    review_by: date | None = None
    conditions: tuple[str, ...] = ()  # the approved ones, else the rule's
    answers: dict[str, str] = field(default_factory=dict)
    ratings: dict[str, str | None] = field(default_factory=dict)
    mitigations: tuple[str, ...] = ()
    not_carried: tuple[str, ...] = ()  # inputs the current playbook no longer accepts

    @classmethod
    def of(cls, earlier: Assessment) -> Previous:
        decision = earlier.decision()
        last = earlier.signoffs[-1] if earlier.signoffs else None
        conditions = (last.conditions if last and last.conditions else
                      decision.conditions if decision else ())
        return cls(earlier.id, earlier.assessor, decision and str(decision.outcome),
                   last and str(last.verdict), last.approver if last else "",
                   last.at if last else None, last.review_by if last else None,
                   tuple(conditions), dict(earlier.answers),
                   {r.dimension_id: r.effective and str(r.effective)
                    for r in earlier.ratings()}, tuple(earlier.mitigations))

    def to_dict(self) -> dict:
        return {"session_id": self.session_id, "assessor": self.assessor,
                "outcome": self.outcome, "verdict": self.verdict, "approver": self.approver,
                "decided": self.decided.isoformat() if self.decided else None,
                "review_by": self.review_by.isoformat() if self.review_by else None,
                "conditions": list(self.conditions), "answers": dict(self.answers),
                "ratings": dict(self.ratings), "mitigations": list(self.mitigations),
                "not_carried": list(self.not_carried)}

    @classmethod
    def from_dict(cls, d: dict) -> Previous:
        return cls(d["session_id"], d["assessor"], d.get("outcome"), d.get("verdict"),
                   d.get("approver", ""),
                   datetime.fromisoformat(d["decided"]) if d.get("decided") else None,
                   date.fromisoformat(d["review_by"]) if d.get("review_by") else None,
                   tuple(d.get("conditions", ())), dict(d.get("answers", {})),
                   dict(d.get("ratings", {})), tuple(d.get("mitigations", ())),
                   tuple(d.get("not_carried", ())))


def reassess(earlier: Assessment, assessor: str, playbook: Playbook | None = None,
             now: datetime | None = None) -> Assessment:
    """A new session on the earlier one's deal, with its answers, overrides, mitigations
    and flags, under `playbook` (default: the earlier one's). Inputs the playbook no longer
    accepts are left out and listed; guidance is fetched again; no sign-off is carried."""
    blank = replace(earlier, id=uuid.uuid4().hex[:12], assessor=checked_name(
        assessor, "the assessor's name"), created=now or datetime.now(UTC),
        playbook=playbook or earlier.playbook, answers={}, country_facts={}, overrides={},
        mitigations=(), mitigable={}, guidance={}, signoffs=(), previous=None)
    fresh, left_out = blank, []
    for qid, value in earlier.answers.items():
        try:
            fresh = fresh.answer(qid, value)
        except ValueError as exc:
            left_out.append(f"answer {qid}: {exc}")
    facts = {q: v for q, v in earlier.country_facts.items() if fresh.answers.get(q)
             == earlier.answers.get(q)}
    fresh = replace(fresh, country_facts={**fresh.country_facts, **facts})
    steps = [(f"override {d}", lambda a, d=d, o=o: a.override(d, o.risk, o.reason))
             for d, o in earlier.overrides.items()]
    steps += [(f"mitigation {m}", lambda a, m=m: a.choose_mitigations([*a.mitigations, m]))
              for m in earlier.mitigations]
    steps += [(f"can-be-mitigated {d}", lambda a, d=d, f=f: a.set_mitigable(d, f.value, f.reason))
              for d, f in earlier.mitigable.items()]
    for what, apply in steps:
        try:
            fresh = apply(fresh)
        except ValueError as exc:
            left_out.append(f"{what}: {exc}")
    return replace(fresh, previous=replace(Previous.of(earlier), not_carried=tuple(left_out)))


def changes_since(assessment: Assessment) -> list[str]:
    """What changed since the earlier session's last decision, one line each (empty when the
    assessment is not a re-assessment)."""
    before = assessment.previous
    if before is None:
        return []
    a, lines = assessment, []
    decision = a.decision()
    now = str(decision.outcome) if decision else "not decided yet"
    lines.append(f"Outcome: {before.outcome or 'not decided'} then, {now} now"
                 if (before.outcome or "not decided yet") != now else
                 f"Outcome unchanged: {now}")
    for r in a.ratings():
        then, current = before.ratings.get(r.dimension_id), r.effective and str(r.effective)
        if then != current:
            lines.append(f"Rating of {r.title}: {then or 'not rated'} then, "
                         f"{current or 'not rated'} now")
    for q in a.playbook.questions:
        then, current = before.answers.get(q.id), a.answers.get(q.id)
        if then != current:
            lines.append(f"{q.text} {_label(q, then)} then, {_label(q, current)} now")
    texts = {m.id: m.text for m in a.playbook.mitigations}
    for mid in dict.fromkeys([*before.mitigations, *a.mitigations]):
        if (mid in before.mitigations) != (mid in a.mitigations):
            lines.append(f"Mitigation {'added' if mid in a.mitigations else 'removed'}: "
                         f"{texts.get(mid, mid)}")
    current_conditions = decision.conditions if decision else ()
    lines += [f"Condition no longer proposed: {c}" for c in before.conditions
              if c not in current_conditions]
    lines += [f"New condition: {c}" for c in current_conditions if c not in before.conditions]
    lines += [f"Not carried over: {item}" for item in before.not_carried]
    return lines


def _label(question, value: str | None) -> str:
    if value is None:
        return "(not answered)"
    option = question.option(value)
    return f"'{option.label if option else value}'"
