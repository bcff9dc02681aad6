"""An assessment session: answers, ratings, mitigations, red flags, guidance and the decision.

An `Assessment` is frozen: each change (`answer`, `override`, `choose_mitigations`,
`set_mitigable`, `fetch_guidance`) returns a new one, and `diff_assessments` says what
changed, which is what the audit trail records.

How a dimension is rated: its computed rating is the highest risk among the answers to the
questions of the steps that rate it (a choice or yes/no answer carries its option's risk; a
country answer carries the risk its playbook gives the country's indicator value; free text
carries none). No answer with a risk yet: no rating. A user may override the computed
rating with a reason; the override wins and both are reported. A dimension "can be
mitigated" when a chosen mitigation serves it, unless the user has set the flag explicitly
(with a reason). The decision (see `assistant.assessments.decision`) waits until every dimension has a
rating; unanswered questions are listed as open.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from assistant.answer import Citation
from assistant.assessments.country_indicators import CountryIndicators, IndicatorValue
from assistant.assessments.decision import Decision, Risk, decide, max_risk
from assistant.assessments.playbook import Mitigation, Playbook, Question
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
class Change:
    """One recorded difference between two versions of an assessment."""

    field: str
    old: Any
    new: Any
    reason: str = ""


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

    def answer(self, question_id: str, value: Any,
               indicators: CountryIndicators | None = None) -> Assessment:
        """Record an answer after checking it against the question; country answers keep the
        indicator values in force for that country."""
        question = self._question(question_id)
        stored = validated_answer(question, value, self.playbook.id)
        facts = dict(self.country_facts)
        if question.type == "country":
            facts[question_id] = indicators.for_country(stored) if indicators else ()
        return replace(self, answers={**self.answers, question_id: stored}, country_facts=facts)

    def override(self, dimension_id: str, risk: Risk | str, reason: str) -> Assessment:
        """Set a dimension's rating by hand; the reason is required and recorded."""
        self._dimension(dimension_id)
        try:
            risk = Risk(str(risk).lower())
        except ValueError:
            raise ValueError(f"unknown risk {risk!r} (expected low, medium or high)") from None
        override = Override(risk, checked_reason(reason, f"overriding {dimension_id}"))
        return replace(self, overrides={**self.overrides, dimension_id: override})

    def clear_override(self, dimension_id: str) -> Assessment:
        """Go back to the computed rating."""
        self._dimension(dimension_id)
        return replace(self, overrides={k: v for k, v in self.overrides.items()
                                        if k != dimension_id})

    def choose_mitigations(self, mitigation_ids: Iterable[str]) -> Assessment:
        """Set which of the playbook's mitigations the deal will carry."""
        known = [m.id for m in self.playbook.mitigations]
        chosen = tuple(dict.fromkeys(mitigation_ids))
        for mid in chosen:
            if mid not in known:
                raise ValueError(f"unknown mitigation {mid!r} in playbook "
                                 f"'{self.playbook.id}' (known: {', '.join(known)})")
        return replace(self, mitigations=tuple(m for m in known if m in chosen))

    def set_mitigable(self, dimension_id: str, value: bool, reason: str) -> Assessment:
        """Say explicitly whether a dimension can be mitigated, and why."""
        self._dimension(dimension_id)
        if not isinstance(value, bool):
            raise ValueError(f"can-be-mitigated for {dimension_id} must be true or false")
        flag = MitigableFlag(value, checked_reason(reason, f"the flag of {dimension_id}"))
        return replace(self, mitigable={**self.mitigable, dimension_id: flag})

    def fetch_guidance(self, find_guidance: Callable[[str], Sequence[Citation]],
                       refresh: bool = False) -> Assessment:
        """Ask the library for each step's guidance (only steps not asked yet, unless refresh)."""
        found = dict(self.guidance)
        for step in self.playbook.steps:
            if refresh or step.id not in found:
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
        """The explicit flag if set, else whether a chosen mitigation serves the dimension."""
        if dimension_id in self.mitigable:
            return self.mitigable[dimension_id].value
        return any(dimension_id in m.mitigates for m in self.chosen_mitigations())

    def chosen_mitigations(self) -> tuple[Mitigation, ...]:
        return tuple(m for m in self.playbook.mitigations if m.id in self.mitigations)

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

    def decision(self) -> Decision | None:
        """The decision rule over the effective ratings; None until every dimension is rated."""
        ratings = self.ratings()
        if any(r.effective is None for r in ratings):
            return None
        titles = {r.dimension_id: r.title for r in ratings}
        return decide(
            {r.title: r.effective for r in ratings if r.effective is not None},
            {titles[d]: self.is_mitigable(d) for d in titles},
            {titles[d]: [m.text for m in self.chosen_mitigations() if d in m.mitigates]
             for d in titles},
        )

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
        }

    def to_dict(self) -> dict:
        """The state plus what follows from it: ratings, red flags, open questions, decision."""
        decision = self.decision()
        return {
            **self.state(),
            "ratings": {r.dimension_id: {"computed": r.computed and str(r.computed),
                                         "effective": r.effective and str(r.effective),
                                         "overridden": r.override is not None,
                                         "can_be_mitigated": self.is_mitigable(r.dimension_id)}
                        for r in self.ratings()},
            "red_flags": [f.text for f in self.red_flags()],
            "open_questions": [q.id for q in self.open_questions()],
            "decision": None if decision is None else {
                "outcome": str(decision.outcome), "reason": decision.reason,
                "recommendation": decision.recommendation,
                "conditions": list(decision.conditions)},
        }

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
    )


def diff_assessments(old: Assessment | None, new: Assessment) -> tuple[Change, ...]:
    """What changed from `old` to `new`, one entry per field, for the audit trail."""
    if old is None:
        return (Change("session", None, new.deal, f"created with playbook {new.playbook.id} "
                                                  f"{new.playbook.version}"),)
    changes = [Change(name, getattr(old, name), getattr(new, name))
               for name in ("deal", "assessor", "summary")
               if getattr(old, name) != getattr(new, name)]
    for qid in _keys(old.answers, new.answers):
        if old.answers.get(qid) != new.answers.get(qid):
            changes.append(Change(f"answer.{qid}", old.answers.get(qid), new.answers.get(qid)))
    for dim in _keys(old.overrides, new.overrides):
        before, after = old.overrides.get(dim), new.overrides.get(dim)
        if before != after:
            changes.append(Change(f"override.{dim}", before and str(before.risk),
                                  after and str(after.risk), after.reason if after else
                                  "override removed"))
    for mid in _keys(dict.fromkeys(old.mitigations), dict.fromkeys(new.mitigations)):
        if (mid in old.mitigations) != (mid in new.mitigations):
            changes.append(Change(f"mitigation.{mid}", mid in old.mitigations,
                                  mid in new.mitigations))
    for dim in _keys(old.mitigable, new.mitigable):
        before, after = old.mitigable.get(dim), new.mitigable.get(dim)
        if before != after:
            changes.append(Change(f"mitigable.{dim}", before and before.value,
                                  after and after.value, after.reason if after else ""))
    for step in _keys(old.guidance, new.guidance):
        before, after = old.guidance.get(step), new.guidance.get(step)
        if _cited(before) != _cited(after):
            changes.append(Change(f"guidance.{step}", _sources(before), _sources(after)))
    return tuple(changes)


def _kept(citation: Citation) -> Citation:
    """The citation as it is persisted (`to_dict`), so a resumed session compares equal."""
    return Citation(**{k: v for k, v in citation.to_dict().items()})


def _cited(citations: tuple[Citation, ...] | None) -> list[dict] | None:
    return None if citations is None else [c.to_dict() for c in citations]


def _keys(a: dict, b: dict) -> list[str]:
    return list(dict.fromkeys([*a, *b]))


def _sources(citations: tuple[Citation, ...] | None) -> list[str] | None:
    return None if citations is None else [f"{c.doc_id} ({c.location})" for c in citations]
