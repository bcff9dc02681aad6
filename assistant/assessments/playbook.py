"""Playbooks: the YAML files that define a guided assessment, loaded into frozen records.

A compliance team edits a playbook without touching code. It declares the dimensions it
rates (the export deal rates purpose, place, product and purchaser) and a list of steps.
A step rates one dimension, or none: a step that rates none (the export deal's contract
safeguards) raises red flags and offers mitigations (contract or technical conditions)
that may serve any dimension, but does not move a rating. Several steps may rate the same
dimension; the export deal's partners-and-resellers step rates the purchaser, because a
reseller stands in the purchaser's place on the way to the end user.

Question types: `choice` (options), `yesno` (options `yes` and `no`), `text` (recorded, no
risk) and `country` (a country code; its risk may come from a country indicator through
`indicator` and `risk_by_value`). In a rated step every option carries a risk; any option
may raise red flags, attach a `condition` to any go outcome (a pending export licence: no
shipment before it is granted) or be a `legal_bar` (a refused licence: the deal is blocked).
A mitigation may be `contradicted_by` answers (the customer refused that clause): it then
does not count, and the reason given is shown. Anything wrong raises PlaybookError naming
the file, the step and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from assistant.assessments.decision import Risk
from assistant.assessments.playbook_records import (
    DEFAULT_MAX_CHARS,
    Contradiction,
    Dimension,
    Mitigation,
    Option,
    Playbook,
    Question,
    Step,
)

PLAYBOOKS_DIR = Path(__file__).parent / "playbooks"
QUESTION_TYPES = ("choice", "yesno", "text", "country")
MITIGATION_KINDS = ("contract", "technical", "organisational")


class PlaybookError(ValueError):
    """A playbook that cannot be used; the message names the file, the step and the problem."""


def load_playbook(path: str | Path) -> Playbook:
    """Read and validate one playbook file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlaybookError(f"{path}: cannot read the playbook ({exc.strerror})") from exc
    return parse_playbook(text, str(path))


def list_playbooks(folder: str | Path = PLAYBOOKS_DIR) -> tuple[Playbook, ...]:
    """Every playbook (`*.yaml`) in a folder, sorted by id; one invalid file fails them all."""
    return tuple(sorted((load_playbook(p) for p in sorted(Path(folder).glob("*.yaml"))),
                        key=lambda p: p.id))


def find_playbook(playbook_id: str, folder: str | Path = PLAYBOOKS_DIR) -> Playbook:
    """The playbook with this id in a folder."""
    for playbook in list_playbooks(folder):
        if playbook.id == playbook_id:
            return playbook
    known = ", ".join(p.id for p in list_playbooks(folder)) or "none"
    raise PlaybookError(f"{folder}: no playbook with id '{playbook_id}' (available: {known})")


def parse_playbook(text: str, origin: str = "<playbook>") -> Playbook:
    """Validate a playbook's YAML text; `origin` names the file in error messages."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlaybookError(f"{origin}: not valid YAML ({exc})") from exc
    return _Parser(origin).playbook(data, text)


class _Parser:
    """Turns the YAML data into records, naming the file and step in every error."""

    def __init__(self, origin: str):
        self.origin = origin
        self.where = ""

    def fail(self, problem: str) -> PlaybookError:
        return PlaybookError(f"{self.origin}: {self.where}{problem}")

    def mapping(self, data: Any, what: str, required: set[str], allowed: set[str]) -> dict:
        if not isinstance(data, dict):
            raise self.fail(f"{what} must be a mapping of keys to values")
        unknown = sorted(set(data) - required - allowed)
        if unknown:
            raise self.fail(f"unknown key {unknown[0]!r} in {what} "
                            f"(allowed: {', '.join(sorted(required | allowed))})")
        for key in sorted(required):
            if data.get(key) in (None, "", []):
                raise self.fail(f"{what} has no {key!r}")
        return data

    def text(self, value: Any, what: str) -> str:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.fail(f"{what} must be text")
        return str(value).strip()

    def risk(self, value: Any, what: str) -> Risk:
        try:
            return Risk(str(value).lower())
        except ValueError:
            raise self.fail(f"{what} has unknown risk {value!r} "
                            "(expected low, medium or high)") from None

    def playbook(self, data: Any, text: str) -> Playbook:
        data = self.mapping(data, "the playbook", {"id", "title", "dimensions", "steps"},
                            {"version", "description", "standard_safeguards"})
        dims = tuple(self.dimension(d) for d in self.listing(data["dimensions"], "dimensions"))
        self.unique([("", d.id) for d in dims], "dimension")
        steps = tuple(self.step(s, dims) for s in self.listing(data["steps"], "steps"))
        self.unique([(s.id, s.id) for s in steps], "step")
        self.unique([(s.id, q.id) for s in steps for q in s.questions], "question")
        self.unique([(s.id, m.id) for s in steps for m in s.mitigations], "mitigation")
        self.where = ""
        for dim in dims:
            if not any(s.rates == dim.id for s in steps):
                raise self.fail(f"dimension {dim.id!r} is rated by no step")
        self.contradictions(steps)
        return Playbook(
            self.text(data["id"], "the playbook id"), self.text(data["title"], "the title"),
            self.text(data.get("version", "1"), "the version"), dims, steps,
            self.text(data.get("description", ""), "the description"),
            tuple(self.text(s, "a standard safeguard")
                  for s in self.listing(data.get("standard_safeguards") or [], "safeguards")),
            text)

    def listing(self, value: Any, what: str) -> list:
        if not isinstance(value, list):
            raise self.fail(f"{what} must be a list")
        return value

    def unique(self, ids: list[tuple[str | None, str]], what: str) -> None:
        """Fail on the second use of an id, naming the step where it is (None: keep `where`)."""
        seen: set[str] = set()
        for step_id, item in ids:
            if item in seen:
                if step_id is not None:
                    self.where = f"step {step_id!r}: " if step_id else ""
                raise self.fail(f"duplicate {what} id {item!r}")
            seen.add(item)

    def contradictions(self, steps: tuple[Step, ...]) -> None:
        """Each `contradicted_by` names a choice question of the playbook and its options."""
        questions = {q.id: q for s in steps for q in s.questions}
        for step in steps:
            self.where = f"step {step.id!r}: "
            for mitigation, c in [(m, c) for m in step.mitigations for c in m.contradicted_by]:
                what = f"mitigation {mitigation.id!r} contradicted_by"
                question = questions.get(c.question)
                if question is None or not question.options:
                    raise self.fail(f"{what} names {c.question!r}, which is not a choice or "
                                    "yesno question of this playbook")
                for answer in c.answers:
                    if question.option(answer) is None:
                        raise self.fail(f"{what}: {answer!r} is not an option of question "
                                        f"{c.question!r}")

    def contradiction(self, data: Any, what: str) -> Contradiction:
        data = self.mapping(data, f"a contradicted_by entry of {what}",
                            {"question", "answers", "reason"}, set())
        answers = data["answers"] if isinstance(data["answers"], list) else [data["answers"]]
        answers = ["yes" if a is True else "no" if a is False else a for a in answers]
        return Contradiction(self.text(data["question"], f"{what} contradicted_by question"),
                             tuple(self.text(a, f"{what} contradicted_by answers")
                                   for a in answers),
                             self.text(data["reason"], f"{what} contradicted_by reason"))

    def dimension(self, data: Any) -> Dimension:
        data = self.mapping(data, "a dimension", {"id", "title"}, {"description"})
        return Dimension(self.text(data["id"], "a dimension id"),
                         self.text(data["title"], "a dimension title"),
                         self.text(data.get("description", ""), "a dimension description"))

    def step(self, data: Any, dims: tuple[Dimension, ...]) -> Step:
        step_id = data.get("id") if isinstance(data, dict) else None
        self.where = f"step {step_id!r}: " if step_id else "a step: "
        data = self.mapping(data, "the step", {"id", "title", "questions", "guidance_query"},
                            {"rates", "mitigations", "intro"})
        rates = data.get("rates")
        rates = None if rates in (None, "none") else self.text(rates, "rates")
        declared = [d.id for d in dims]
        if rates is not None and rates not in declared:
            raise self.fail(f"rates unknown dimension {rates!r} "
                            f"(declared: {', '.join(declared)}, or none)")
        questions = tuple(self.question(q, rates)
                          for q in self.listing(data["questions"], "questions"))
        mitigations = tuple(self.mitigation(m, rates, declared)
                            for m in self.listing(data.get("mitigations") or [], "mitigations"))
        return Step(self.text(data["id"], "the step id"), self.text(data["title"], "the title"),
                    rates, questions, mitigations,
                    self.text(data["guidance_query"], "guidance_query"),
                    self.text(data.get("intro", ""), "intro"))

    def question(self, data: Any, rates: str | None) -> Question:
        qid = data.get("id") if isinstance(data, dict) else None
        what = f"question {qid!r}" if qid else "a question"
        data = self.mapping(data, what, {"id", "text", "type"},
                            {"options", "help", "optional", "max_chars", "indicator",
                             "risk_by_value"})
        kind = data["type"]
        if kind not in QUESTION_TYPES:
            raise self.fail(f"{what} has unknown type {kind!r} "
                            f"(expected one of {', '.join(QUESTION_TYPES)})")
        options = tuple(self.option(o, what, rates)
                        for o in self.listing(data.get("options") or [], f"{what} options"))
        self.unique([(None, o.value) for o in options], f"{what} option")
        if kind == "choice" and len(options) < 2:
            raise self.fail(f"{what} is a choice but has fewer than two options")
        if kind == "yesno" and sorted(o.value for o in options) != ["no", "yes"]:
            raise self.fail(f"{what} is yesno and needs exactly the options 'yes' and 'no'")
        if kind in ("text", "country") and options:
            raise self.fail(f"{what} is {kind} and cannot have options")
        risk_by_value = data.get("risk_by_value")
        if risk_by_value is not None:
            if kind != "country" or not data.get("indicator"):
                raise self.fail(f"{what}: risk_by_value needs a country question with an "
                                "indicator")
            if rates is None:
                raise self.fail(f"{what}: risk_by_value in a step that rates no dimension")
            if not isinstance(risk_by_value, dict):
                raise self.fail(f"{what}: risk_by_value must map indicator values to risks")
            risk_by_value = {str(k).strip().lower(): self.risk(v, f"{what} value {k!r}")
                             for k, v in risk_by_value.items()}
        max_chars = data.get("max_chars", DEFAULT_MAX_CHARS)
        if not isinstance(max_chars, int) or max_chars < 1:
            raise self.fail(f"{what}: max_chars must be a positive whole number")
        return Question(self.text(data["id"], "a question id"), self.text(data["text"], what),
                        kind, options, self.text(data.get("help", ""), f"{what} help"),
                        bool(data.get("optional", False)), max_chars,
                        data.get("indicator"), risk_by_value)

    def option(self, data: Any, question: str, rates: str | None) -> Option:
        if isinstance(data, dict) and isinstance(data.get("value"), bool):
            data = {**data, "value": "yes" if data["value"] else "no"}  # YAML reads yes as True
        data = self.mapping(data, f"an option of {question}", {"value"},
                            {"label", "risk", "red_flags", "condition", "legal_bar"})
        value = self.text(data["value"], f"an option of {question}")
        what = f"option {value!r} of {question}"
        if rates is not None and data.get("risk") is None:
            raise self.fail(f"{what} has no risk (low, medium or high)")
        if rates is None and data.get("risk") is not None:
            raise self.fail(f"{what} has a risk, but the step rates no dimension "
                            "(use red_flags, or give the step `rates:`)")
        risk = None if data.get("risk") is None else self.risk(data["risk"], what)
        flags = tuple(self.text(f, f"a red flag of {what}")
                      for f in self.listing(data.get("red_flags") or [], f"{what} red_flags"))
        return Option(value, self.text(data.get("label") or value.capitalize(), what), risk,
                      flags, self.text(data.get("condition") or "", f"{what} condition"),
                      self.text(data.get("legal_bar") or "", f"{what} legal_bar"))

    def mitigation(self, data: Any, rates: str | None, declared: list[str]) -> Mitigation:
        mid = data.get("id") if isinstance(data, dict) else None
        what = f"mitigation {mid!r}" if mid else "a mitigation"
        data = self.mapping(data, what, {"id", "text"}, {"mitigates", "kind", "contradicted_by"})
        mitigates = data.get("mitigates") or ([rates] if rates else [])
        if isinstance(mitigates, str):
            mitigates = [mitigates]
        if not mitigates:
            raise self.fail(f"{what} must say which dimension it mitigates (mitigates:)")
        for dim in mitigates:
            if dim not in declared:
                raise self.fail(f"{what} mitigates unknown dimension {dim!r} "
                                f"(declared: {', '.join(declared)})")
        kind = data.get("kind", "contract")
        if kind not in MITIGATION_KINDS:
            raise self.fail(f"{what} has unknown kind {kind!r} "
                            f"(expected one of {', '.join(MITIGATION_KINDS)})")
        against = tuple(self.contradiction(c, what) for c in self.listing(
            data.get("contradicted_by") or [], f"{what} contradicted_by"))
        return Mitigation(self.text(data["id"], what), self.text(data["text"], what),
                          tuple(mitigates), kind, against)
