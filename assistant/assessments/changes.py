"""What changed between two versions of an assessment: the entries of the audit trail.

One `Change` per field that differs (an answer, an override, a mitigation, a flag, a step's
guidance, a sign-off), with the old and new values and the reason where there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.answer import Citation
from assistant.assessments.assessment import Assessment


@dataclass(frozen=True)
class Change:
    """One recorded difference between two versions of an assessment."""

    field: str
    old: Any
    new: Any
    reason: str = ""


def diff_assessments(old: Assessment | None, new: Assessment) -> tuple[Change, ...]:
    """What changed from `old` to `new`, one entry per field, for the audit trail."""
    if old is None:
        created = f"created with playbook {new.playbook.id} {new.playbook.version}"
        if new.previous is not None:
            created += f", as a re-assessment of session {new.previous.session_id}"
        return (Change("session", None, new.deal, created),)
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
    for n in range(1, max(len(old.signoffs), len(new.signoffs)) + 1):
        before = old.signoffs[n - 1] if n <= len(old.signoffs) else None
        after = new.signoffs[n - 1] if n <= len(new.signoffs) else None
        if before != after:  # only additions are saved; the records refuse the rest
            changes.append(Change(f"signoff.{n}", before and _signed(before),
                                  after and _signed(after), after.rationale if after else ""))
    return tuple(changes)


def _signed(signoff) -> dict:
    return {k: v for k, v in signoff.to_dict().items() if k != "rationale"}


def _cited(citations: tuple[Citation, ...] | None) -> list[dict] | None:
    return None if citations is None else [c.to_dict() for c in citations]


def _keys(a: dict, b: dict) -> list[str]:
    return list(dict.fromkeys([*a, *b]))


def _sources(citations: tuple[Citation, ...] | None) -> list[str] | None:
    return None if citations is None else [f"{c.doc_id} ({c.location})" for c in citations]
