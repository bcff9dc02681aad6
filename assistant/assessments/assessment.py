"""An assessment session: answers, ratings, mitigations, red flags, guidance and the decision.

An `Assessment` is frozen: each change (`answer`, `override`, `choose_mitigations`,
`set_mitigable`, `fetch_guidance`) returns a new one, and
`assistant.assessments.changes.diff_assessments` says what changed, which is what the audit
trail records. Once senior management has approved or rejected it (`signoff`), a session
is closed and every change is refused.

How a dimension is rated: its computed rating is the highest risk among the answers to the
questions of the steps that rate it (a choice or yes/no answer carries its option's risk; a
country answer carries the risk its playbook gives the country's indicator value; free text
carries none). No answer with a risk yet: no rating. A user may override the computed
rating with a reason; the override wins and both are reported. A chosen mitigation counts
unless the answers contradict it (the playbook's `contradicted_by`: a clause the customer
refused); a dimension "can be mitigated" as the decision rule reads it (a counted mitigation,
or the user's explicit flag with a reason). Answers may attach required conditions (a
pending licence) or legal bars (a refused one). The decision (see
`assistant.assessments.decision`) waits until every dimension has a rating; unanswered
questions are listed as open.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from assistant.answer import Citation
from assistant.assessments.country_indicators import CountryIndicators, IndicatorValue
from assistant.assessments.decision import (
    Decision,
    Finding,
    Risk,
    can_be_mitigated,
    decide,
    max_risk,
)
from assistant.assessments.playbook_records import Mitigation, Playbook, Question
from assistant.assessments.reassessment import Previous
from assistant.assessments.signoff import SignOff
from assistant.assessments.values import (
    MAX_REASON_CHARS,
    checked_name,
    checked_reason,
    checked_text,
    validated_answer,
)


@dataclass(frozen=True)
class Override:
    risk: Risk
    reason: str


@dataclass(frozen=True)
class MitigableFlag:
    value: bool
    reason: str


@dataclass(frozen=True)
class RedFlag:
    step: str
    question: str
    text: str


@dataclass(frozen=True)
class Rating:
    """A dimension's computed rating, the user's override if any, and the answers behind it."""

    dimension_id: str
    title: str
    computed: Risk | None
    override: Override | None = None
    drivers: tuple[str, ...] = ()

    @property
    def effective(self) -> Risk | None:
        return self.override.risk if self.override else self.computed


@dataclass(frozen=True)
class Assessment:
    """One guided session on one deal; treat the mappings as read-only."""

    id: str
    playbook: Playbook
    deal: str
    assessor: str
    created: datetime
    summary: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    country_facts: dict[str, tuple[IndicatorValue, ...]] = field(default_factory=dict)
    overrides: dict[str, Override] = field(default_factory=dict)
    mitigations: tuple[str, ...] = ()
    mitigable: dict[str, MitigableFlag] = field(default_factory=dict)
    guidance: dict[str, tuple[Citation, ...]] = field(default_factory=dict)
    signoffs: tuple[SignOff, ...] = ()
    previous: Previous | None = None  # the session this one re-assesses

    @property
    def closed_by(self) -> SignOff | None:
        """The approval or rejection that closed the session, if any."""
        return next((s for s in reversed(self.signoffs) if s.closes), None)

    def signed(self, signoff: SignOff) -> Assessment:
        """The session with senior management's decision added (see `signoff.sign_off`)."""
        self._editable("signoff")
        return replace(self, signoffs=(*self.signoffs, signoff))

    def fingerprint(self) -> str:
        """A digest of the inputs a decision rests on (everything but the sign-offs)."""
        inputs = {k: v for k, v in self.state().items() if k != "signoffs"}
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]

    def answer(self, question_id: str, value: Any,
               indicators: CountryIndicators | None = None) -> Assessment:
        """Record an answer after checking it against the question; country answers keep the
        indicator values in force for that country."""
        self._editable(f"answer.{question_id}")
        question = self._question(question_id)
        stored = validated_answer(question, value, self.playbook.id)
        facts = dict(self.country_facts)
        if question.type == "country":
            facts[question_id] = indicators.for_country(stored) if indicators else ()
        return replace(self, answers={**self.answers, question_id: stored}, country_facts=facts)

    def override(self, dimension_id: str, risk: Risk | str, reason: str) -> Assessment:
        """Set a dimension's rating by hand; the reason is required and recorded."""
        self._editable(f"override.{dimension_id}")
        self._dimension(dimension_id)
        try:
            risk = Risk(str(risk).lower())
        except ValueError:
            raise ValueError(f"unknown risk {risk!r} (expected low, medium or high)") from None
        override = Override(risk, checked_reason(reason, f"overriding {dimension_id}"))
        return replace(self, overrides={**self.overrides, dimension_id: override})

    def clear_override(self, dimension_id: str) -> Assessment:
        """Go back to the computed rating."""
        self._editable(f"override.{dimension_id}")
        self._dimension(dimension_id)
        return replace(self, overrides={k: v for k, v in self.overrides.items()
                                        if k != dimension_id})

    def choose_mitigations(self, mitigation_ids: Iterable[str]) -> Assessment:
        """Set which of the playbook's mitigations the deal will carry."""
        self._editable("mitigations")
        known = [m.id for m in self.playbook.mitigations]
        chosen = tuple(dict.fromkeys(mitigation_ids))
        for mid in chosen:
            if mid not in known:
                raise ValueError(f"mitigations: unknown mitigation id {mid!r} in playbook "
                                 f"'{self.playbook.id}' (known: {', '.join(known)})")
        return replace(self, mitigations=tuple(m for m in known if m in chosen))

    def set_mitigable(self, dimension_id: str, value: bool, reason: str) -> Assessment:
        """Say explicitly whether a dimension can be mitigated, and why."""
        self._editable(f"mitigable.{dimension_id}")
        self._dimension(dimension_id)
        if not isinstance(value, bool):
            raise ValueError(f"can-be-mitigated for {dimension_id} must be true or false")
        flag = MitigableFlag(value, checked_reason(reason, f"the flag of {dimension_id}"))
        return replace(self, mitigable={**self.mitigable, dimension_id: flag})

    def fetch_guidance(self, find_guidance: Callable[[str], Sequence[Citation]],
                       refresh: bool = False) -> Assessment:
        """Ask the library for each step's guidance (only steps not asked yet, unless refresh)."""
        missing = [s for s in self.playbook.steps if refresh or s.id not in self.guidance]
        if not missing:
            return self
        self._editable("guidance")
        found = dict(self.guidance)
        for step in missing:
            found[step.id] = tuple(_kept(c) for c in find_guidance(step.guidance_query))
        return replace(self, guidance=found)

    def rating(self, dimension_id: str) -> Rating:
        """The dimension's computed rating (max risk of its answers) and any override."""
        dim = self._dimension(dimension_id)
        scored = [(self._risk_of(q), q) for s in self.playbook.steps if s.rates == dim.id
                  for q in s.questions if q.id in self.answers]
        computed = max_risk([r for r, _ in scored if r is not None])
        drivers = tuple(f"{q.text}: {self.label_of(q)}" for r, q in scored
                        if computed is not None and r is computed)
        return Rating(dim.id, dim.title, computed, self.overrides.get(dim.id), drivers)

    def ratings(self) -> tuple[Rating, ...]:
        return tuple(self.rating(d.id) for d in self.playbook.dimensions)

    def is_mitigable(self, dimension_id: str) -> bool:
        """Whether the dimension can be mitigated as the decision rule reads it; before every
        dimension is rated: the explicit flag, else whether a counted mitigation serves it."""
        self._dimension(dimension_id)
        findings = self.findings()
        if findings is not None:
            return can_be_mitigated(findings)[self.playbook.dimension(dimension_id).title]
        if dimension_id in self.mitigable:
            return self.mitigable[dimension_id].value
        return any(dimension_id in m.mitigates for m in self.counted_mitigations())

    def chosen_mitigations(self) -> tuple[Mitigation, ...]:
        return tuple(m for m in self.playbook.mitigations if m.id in self.mitigations)

    def discounted(self) -> tuple[tuple[Mitigation, str], ...]:
        """The chosen mitigations the answers contradict, each with the playbook's reason."""
        found = []
        for m in self.chosen_mitigations():
            reasons = [c.reason for c in m.contradicted_by
                       if self.answers.get(c.question) in c.answers]
            if reasons:
                found.append((m, " ".join(reasons)))
        return tuple(found)

    def counted_mitigations(self) -> tuple[Mitigation, ...]:
        """The chosen mitigations that count: those the answers do not contradict."""
        discounted = {m.id for m, _ in self.discounted()}
        return tuple(m for m in self.chosen_mitigations() if m.id not in discounted)

    def answered_options(self):
        """The options chosen so far, in playbook order."""
        return tuple(o for q in self.playbook.questions
                     if (o := q.option(self.answers.get(q.id, ""))) is not None)

    def red_flags(self) -> tuple[RedFlag, ...]:
        """The red flags raised by the answers so far, in playbook order."""
        flags = []
        for step in self.playbook.steps:
            for q in step.questions:
                option = q.option(self.answers.get(q.id, ""))
                flags += [RedFlag(step.title, q.text, f) for f in (option.red_flags
                                                                   if option else ())]
        return tuple(flags)

    def open_questions(self) -> tuple[Question, ...]:
        return tuple(q for q in self.playbook.questions
                     if not q.optional and q.id not in self.answers)

    def findings(self) -> dict[str, Finding] | None:
        """What the decision rule gets for each dimension (by title); None until all rated."""
        ratings = self.ratings()
        if any(r.effective is None for r in ratings):
            return None
        counted = self.counted_mitigations()
        return {r.title: Finding(
            r.effective, tuple(m.text for m in counted if r.dimension_id in m.mitigates),
            self.mitigable[r.dimension_id].value if r.dimension_id in self.mitigable else None)
            for r in ratings if r.effective is not None}

    def decision(self) -> Decision | None:
        """The decision rule over the effective ratings; None until every dimension is rated."""
        findings = self.findings()
        if findings is None:
            return None
        options = self.answered_options()
        return decide(findings, [o.condition for o in options if o.condition],
                      [o.legal_bar for o in options if o.legal_bar])

    def label_of(self, question: Question) -> str:
        """The answer as a reader sees it: the option's label, or the text or country."""
        value = self.answers.get(question.id)
        if value is None:
            return "(not answered)"
        option = question.option(value)
        if option:
            return option.label
        if question.type == "country":
            names = [f.country_name for f in self.country_facts.get(question.id, ())
                     if f.country_name]
            return f"{names[0]} ({value})" if names else value
        return value

    def state(self) -> dict:
        """What is persisted: the inputs, never the derived ratings or decision."""
        return {
            "id": self.id, "playbook_id": self.playbook.id,
            "playbook_version": self.playbook.version, "deal": self.deal,
            "assessor": self.assessor, "summary": self.summary,
            "created": self.created.isoformat(), "answers": dict(self.answers),
            "country_facts": {k: [f.to_dict() for f in v] for k, v in self.country_facts.items()},
            "overrides": {k: {"risk": str(o.risk), "reason": o.reason}
                          for k, o in self.overrides.items()},
            "mitigations": list(self.mitigations),
            "mitigable": {k: {"value": f.value, "reason": f.reason}
                          for k, f in self.mitigable.items()},
            "guidance": {k: [c.to_dict() for c in v] for k, v in self.guidance.items()},
            "signoffs": [s.to_dict() for s in self.signoffs],
            "previous": self.previous.to_dict() if self.previous else None,
        }

    def _editable(self, field_name: str) -> None:
        closed = self.closed_by
        if closed is not None:
            raise ValueError(
                f"{field_name}: session {self.id} was closed when {closed.approver} decided "
                f"'{closed.verdict}' on {closed.at:%Y-%m-%d}; a signed-off session cannot "
                f"change. Start a re-assessment from it (hrdd assess reassess {self.id}).")

    def _question(self, question_id: str) -> Question:
        question = self.playbook.question(question_id)
        if question is None:
            raise ValueError(f"unknown question {question_id!r} in playbook '{self.playbook.id}'")
        return question

    def _dimension(self, dimension_id: str):
        dim = self.playbook.dimension(dimension_id)
        if dim is None:
            declared = ", ".join(d.id for d in self.playbook.dimensions)
            raise ValueError(f"unknown dimension {dimension_id!r} in playbook "
                             f"'{self.playbook.id}' (declared: {declared})")
        return dim

    def _risk_of(self, question: Question) -> Risk | None:
        value = self.answers[question.id]
        if question.type in ("choice", "yesno"):
            option = question.option(value)
            return option.risk if option else None
        if question.type == "country" and question.risk_by_value:
            for fact in self.country_facts.get(question.id, ()):
                if fact.indicator == question.indicator:
                    return question.risk_by_value.get(fact.value.strip().lower())
        return None


def start_assessment(playbook: Playbook, deal: str, assessor: str, summary: str = "",
                     now: datetime | None = None) -> Assessment:
    """A new, empty session on a deal."""
    return Assessment(uuid.uuid4().hex[:12], playbook, checked_name(deal, "the deal name"),
                      checked_name(assessor, "the assessor's name"), now or datetime.now(UTC),
                      checked_text(summary, "the deal summary", MAX_REASON_CHARS, allow_empty=True))


def _kept(citation: Citation) -> Citation:
    """The citation as it is persisted (`to_dict`), so a resumed session compares equal."""
    return Citation(**{k: v for k, v in citation.to_dict().items()})

