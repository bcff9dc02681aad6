"""What a playbook is, once loaded: frozen records of its dimensions, steps, questions,
options and mitigations (`assistant.assessments.playbook` reads and checks the YAML)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from assistant.assessments.decision import Risk

DEFAULT_MAX_CHARS = 2000


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    risk: Risk | None
    red_flags: tuple[str, ...] = ()
    condition: str = ""  # attached to any go outcome when this answer is given
    legal_bar: str = ""  # this answer makes the deal unlawful to ship: it is blocked


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    type: str
    options: tuple[Option, ...] = ()
    help: str = ""
    optional: bool = False
    max_chars: int = DEFAULT_MAX_CHARS
    indicator: str | None = None
    risk_by_value: Mapping[str, Risk] | None = None

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class Contradiction:
    """Answers that make a mitigation unworkable, and the reason the report gives."""

    question: str
    answers: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Mitigation:
    id: str
    text: str
    mitigates: tuple[str, ...]
    kind: str = "contract"
    contradicted_by: tuple[Contradiction, ...] = ()


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    rates: str | None
    questions: tuple[Question, ...]
    mitigations: tuple[Mitigation, ...]
    guidance_query: str
    intro: str = ""


@dataclass(frozen=True)
class Dimension:
    id: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class Playbook:
    id: str
    title: str
    version: str
    dimensions: tuple[Dimension, ...]
    steps: tuple[Step, ...]
    description: str = ""
    standard_safeguards: tuple[str, ...] = ()
    text: str = ""  # the YAML it came from, kept with each session so a resume reads the same

    def question(self, question_id: str) -> Question | None:
        return next((q for s in self.steps for q in s.questions if q.id == question_id), None)

    def step_of(self, question_id: str) -> Step | None:
        return next((s for s in self.steps for q in s.questions if q.id == question_id), None)

    def dimension(self, dimension_id: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.id == dimension_id), None)

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for s in self.steps for q in s.questions)

    @property
    def mitigations(self) -> tuple[Mitigation, ...]:
        return tuple(m for s in self.steps for m in s.mitigations)
