"""Senior management's decision on an escalated assessment: approve, reject or send back.

The 4 Ps rule ends an escalation with "engage senior management"; this is where that
engagement is recorded. A named approver, who must not be the assessor, decides:

- **approve**, with conditions: the proposed ones by default, which the approver may narrow
  (drop some) or add to; conditions the answers require (a pending export licence) cannot
  be dropped. An approval carries a review date, before renewal, upgrade or expansion.
- **reject**: the deal does not go ahead.
- **send back** for more information, with the questions to answer: the session opens
  again for the assessor, and waits for a new decision.

Approval and rejection close the session: nothing in it can change any more (a new
assessment can start from it, see `assistant.assessments.reassessment`). Each decision keeps
who, when, the rationale and a fingerprint of the inputs it was made on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from assistant.assessments.decision import Outcome
from assistant.assessments.values import checked_name, checked_reason, checked_text

if TYPE_CHECKING:  # the assessment holds its sign-offs; this module only reads it
    from assistant.assessments.assessment import Assessment

MAX_CONDITION_CHARS = 500


class Verdict(StrEnum):
    """What senior management decided."""

    APPROVE = "approve"
    REJECT = "reject"
    MORE_INFORMATION = "more-information"


VERDICT_TITLES = {Verdict.APPROVE: "Approved", Verdict.REJECT: "Rejected",
                  Verdict.MORE_INFORMATION: "Sent back for more information"}


@dataclass(frozen=True)
class SignOff:
    """One decision by senior management on an escalated assessment."""

    verdict: Verdict
    approver: str
    at: datetime
    rationale: str
    fingerprint: str  # of the assessment's inputs when it was decided
    conditions: tuple[str, ...] = ()  # approve: the conditions the deal carries
    proposed: tuple[str, ...] = ()  # approve: what the rule proposed, to show the changes
    questions: tuple[str, ...] = ()  # more-information: what the assessor must answer
    review_by: date | None = None  # approve: when the deal must be assessed again

    @property
    def closes(self) -> bool:
        """Whether the session is closed by this decision (approve or reject)."""
        return self.verdict is not Verdict.MORE_INFORMATION

    def to_dict(self) -> dict:
        return {"verdict": str(self.verdict), "approver": self.approver,
                "at": self.at.isoformat(), "rationale": self.rationale,
                "fingerprint": self.fingerprint, "conditions": list(self.conditions),
                "proposed": list(self.proposed), "questions": list(self.questions),
                "review_by": self.review_by.isoformat() if self.review_by else None}

    @classmethod
    def from_dict(cls, data: dict) -> SignOff:
        return cls(Verdict(data["verdict"]), data["approver"],
                   datetime.fromisoformat(data["at"]), data["rationale"], data["fingerprint"],
                   tuple(data.get("conditions", ())), tuple(data.get("proposed", ())),
                   tuple(data.get("questions", ())),
                   date.fromisoformat(data["review_by"]) if data.get("review_by") else None)


def sign_off(assessment: Assessment, verdict: Verdict | str, approver: str, rationale: str,
             *, drop: Sequence[str] = (), add: Sequence[str] = (),
             questions: Sequence[str] = (), review_by: date | None = None,
             now: datetime | None = None) -> Assessment:
    """The assessment with senior management's decision added; errors name the field.

    `drop` are proposed conditions the approver removes, `add` new ones (approve only).
    """
    now = now or datetime.now(UTC)
    try:
        verdict = Verdict(str(verdict).strip().lower())
    except ValueError:
        raise ValueError(f"verdict: {verdict!r} is not one of "
                         f"{', '.join(v.value for v in Verdict)}") from None
    approver = checked_name(approver, "approver")
    if " ".join(approver.lower().split()) == " ".join(assessment.assessor.lower().split()):
        raise ValueError(f"approver: {approver} is the assessor of this session; the "
                         "decision must come from someone else in senior management")
    decision = check_awaiting(assessment)
    rationale = checked_reason(rationale, "the decision (rationale)")
    record = {"verdict": verdict, "approver": approver, "at": now, "rationale": rationale,
              "fingerprint": assessment.fingerprint()}
    if verdict is Verdict.APPROVE:
        record |= _approval(assessment, decision.conditions, decision.required, drop, add,
                            review_by, now)
    elif drop or add or review_by:
        raise ValueError(f"conditions: only an approval carries conditions and a review "
                         f"date, not '{verdict}'")
    if verdict is Verdict.MORE_INFORMATION:
        record["questions"] = _lines(questions, "questions", "question")
        if not record["questions"]:
            raise ValueError("questions: say what information is missing (at least one "
                             "question) when sending the assessment back")
    elif questions:
        raise ValueError(f"questions: only a request for more information has questions, "
                         f"not '{verdict}'")
    return assessment.signed(SignOff(**record))


def check_awaiting(assessment: Assessment):
    """The decision of an assessment that waits for senior management; else a ValueError
    naming the field (not escalated, or already closed)."""
    decision = assessment.decision()
    if decision is None or decision.outcome is not Outcome.ESCALATE:
        outcome = "not decided yet" if decision is None else f"'{decision.outcome}'"
        raise ValueError(f"decision: session {assessment.id} is {outcome}; only an "
                         "escalated assessment waits for senior management's decision")
    if assessment.closed_by is not None:
        raise ValueError(f"session: {assessment.id} was already "
                         f"{VERDICT_TITLES[assessment.closed_by.verdict].lower()}; a closed "
                         "session takes no further decision")
    return decision


def _approval(assessment: Assessment, proposed: tuple[str, ...], required: tuple[str, ...],
              drop: Sequence[str], add: Sequence[str], review_by: date | None,
              now: datetime) -> dict:
    if assessment.open_questions():
        raise ValueError(f"open questions: {len(assessment.open_questions())} question(s) "
                         "are unanswered; approve only a complete assessment (or send it "
                         "back for more information)")
    dropped = _lines(drop, "drop", "condition")
    unknown = [c for c in dropped if c not in proposed]
    if unknown:
        raise ValueError(f"drop: {unknown[0]!r} is not one of the proposed conditions")
    kept_by_law = [c for c in dropped if c in required]
    if kept_by_law:
        raise ValueError(f"drop: {kept_by_law[0]!r} is required by the answers and cannot "
                         "be dropped")
    conditions = tuple(dict.fromkeys([c for c in proposed if c not in dropped]
                                     + list(_lines(add, "add", "condition"))))
    if not conditions:
        raise ValueError("conditions: an approval of an escalated deal carries at least one "
                         "condition")
    if review_by is None:
        raise ValueError("review_by: an approval needs a review date (before renewal, "
                         "upgrade or expansion of the deal)")
    if not isinstance(review_by, date) or isinstance(review_by, datetime):
        raise ValueError(f"review_by: expected a date, got {review_by!r}")
    if review_by <= now.date():
        raise ValueError(f"review_by: {review_by.isoformat()} is not after the decision "
                         f"({now.date().isoformat()})")
    return {"conditions": conditions, "proposed": proposed, "review_by": review_by}


def _lines(values: Sequence[str], name: str, what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    return tuple(checked_text(v, f"{name}: a {what}", MAX_CONDITION_CHARS)
                 for v in values if not (isinstance(v, str) and not v.strip()))


def review_due(signoff: SignOff | None, today: date | None = None) -> bool:
    """Whether an approved deal has reached its review date."""
    today = today or datetime.now(UTC).date()
    return bool(signoff and signoff.review_by and signoff.review_by <= today)


def signoff_status(outcome: str | None, signoffs: Sequence[SignOff]) -> str | None:
    """Where a session stands with senior management: None when it needs no sign-off, else
    `awaiting` or the last verdict (a send-back counts while the deal is still escalated)."""
    last = signoffs[-1] if signoffs else None
    if last is not None and last.closes:
        return str(last.verdict)
    if outcome == Outcome.ESCALATE.value:
        return str(last.verdict) if last else "awaiting"
    return None
