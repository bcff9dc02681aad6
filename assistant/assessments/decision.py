"""The decision rule of a guided assessment, in one place.

Each rated dimension (for an export deal: Purpose, Place, Product, Purchaser) comes with a
risk, the texts of the chosen mitigations that count for it (a mitigation the answers
contradict does not count; the assessment leaves it out and says why) and, optionally, an
explicit "can be mitigated" claim that the assessor made with a reason. A medium dimension
is *served* when at least one counted mitigation serves it and no claim says it cannot be
mitigated. The rule, first matching row wins:

| Ratings and mitigations                                           | Outcome                   |
|-------------------------------------------------------------------|---------------------------|
| an answer is a legal bar (export licence refused, or required and missing) | `blocked` |
| every dimension high and none can be mitigated                    | `no-go`                   |
| one or more high, or a medium dimension that is not served         | `escalate`                |
| no high, every medium served, or a required condition             | `proceed-with-conditions` |
| every dimension low                                               | `proceed`                 |

"Can be mitigated" is the explicit claim when there is one. Without a claim, a dimension can
be mitigated when a counted mitigation serves it, except when every dimension is high: then
only a claim made with a reason counts, so ticking mitigations cannot turn a no-go into an
escalation by itself.

With conditions, every medium dimension carries at least one condition (its mitigations),
plus the required conditions (a pending export licence: no shipment before it is granted).
An escalation proposes the mitigations of the medium and high dimensions and the required
conditions, and names the dimensions that have none. `blocked` is a legal bar, distinct from
a human-rights no-go; the decision still records what the human-rights rule would give.

It follows the 4 Ps framework (issues with some Ps: engage senior management; all four
problematic and unmitigable: no-go), refined with "approve with conditions".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Risk(StrEnum):
    """How problematic a dimension or an answer is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return ("low", "medium", "high").index(self.value)


class Outcome(StrEnum):
    """What the assessment recommends doing with the deal."""

    PROCEED = "proceed"
    PROCEED_WITH_CONDITIONS = "proceed-with-conditions"
    ESCALATE = "escalate"
    NO_GO = "no-go"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Finding:
    """What the rule knows about one dimension."""

    risk: Risk
    mitigations: tuple[str, ...] = ()  # texts of the chosen mitigations that count for it
    claim: bool | None = None  # "can be mitigated", said explicitly with a reason


@dataclass(frozen=True)
class Decision:
    """The outcome, why, and what must be attached to it.

    `conditions` are the conditions of `proceed-with-conditions`, or those proposed to senior
    management for `escalate`; `required` are the ones among them that no approver may drop.
    `unserved` names the medium and high dimensions with no counted mitigation.
    """

    outcome: Outcome
    reason: str
    recommendation: str
    conditions: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    high: tuple[str, ...] = ()
    medium: tuple[str, ...] = ()
    unserved: tuple[str, ...] = ()
    unmitigable: tuple[str, ...] = ()
    legal_bars: tuple[str, ...] = ()
    human_rights: Outcome | None = None  # for `blocked`: what the human-rights rule gives


def max_risk(risks: Sequence[Risk]) -> Risk | None:
    """The worst of some risks, or None when there are none."""
    return max(risks, key=lambda r: r.rank) if risks else None


def can_be_mitigated(findings: Mapping[str, Finding]) -> dict[str, bool]:
    """Each dimension's "can be mitigated" as the rule reads it (see the module docstring)."""
    every_high = all(Risk(f.risk) is Risk.HIGH for f in findings.values())
    return {d: f.claim if f.claim is not None else (bool(f.mitigations) and not every_high)
            for d, f in findings.items()}


def decide(findings: Mapping[str, Finding], required: Sequence[str] = (),
           legal_bars: Sequence[str] = ()) -> Decision:
    """Apply the decision rule to each dimension's finding (keys are display names).

    `required` are conditions the answers attach to any go outcome; `legal_bars` are the
    reasons an answer makes the deal unlawful to ship.
    """
    if not findings:
        raise ValueError("the decision needs at least one rated dimension")
    required = tuple(dict.fromkeys(required))
    decision = _human_rights(findings, required)
    if not legal_bars:
        return decision
    bars = tuple(dict.fromkeys(legal_bars))
    return Decision(
        Outcome.BLOCKED,
        f"A legal bar: {' '.join(_sentence(b) for b in bars)} Shipping is not lawful, "
        "whatever the human-rights assessment says.",
        "Do not ship. Settle the export-control position first (this is not legal advice); "
        f"without the legal bar, the 4 Ps rule gives '{decision.outcome}'.",
        high=decision.high, medium=decision.medium, unserved=decision.unserved,
        unmitigable=decision.unmitigable, legal_bars=bars, human_rights=decision.outcome)


def _human_rights(findings: Mapping[str, Finding], required: tuple[str, ...]) -> Decision:
    risks = {d: Risk(f.risk) for d, f in findings.items()}
    mitigable = can_be_mitigated(findings)
    high = tuple(d for d, r in risks.items() if r is Risk.HIGH)
    medium = tuple(d for d, r in risks.items() if r is Risk.MEDIUM)
    unserved = tuple(d for d in high + medium if not _served(findings[d]))
    found = {"high": high, "medium": medium, "unserved": unserved,
             "unmitigable": tuple(d for d in high + medium if not mitigable[d])}
    loose_medium = tuple(d for d in medium if d in unserved)

    if len(high) == len(risks) and not any(mitigable.values()):
        claimed_by_ticks = [d for d in high if findings[d].mitigations
                            and findings[d].claim is None]
        note = (f" Mitigations were chosen for {_names(claimed_by_ticks)}, but when every "
                "dimension is high a dimension counts as mitigable only when the assessor "
                "says so with a reason." if claimed_by_ticks else "")
        return Decision(
            Outcome.NO_GO,
            f"Every dimension ({_names(high)}) is rated high and none can be mitigated.{note}",
            "Do not proceed. Record the reasons and tell the customer the deal is declined.",
            **found)
    if high or loose_medium:
        parts = []
        if high:
            parts.append(f"{_names(high)} {_are(high)} rated high")
        if loose_medium:
            parts.append(f"{_names(loose_medium)} {_are(loose_medium)} rated medium with no "
                         "chosen mitigation that counts")
        return Decision(
            Outcome.ESCALATE, f"{'; '.join(parts)}: senior management must decide.",
            _escalation_advice(high + loose_medium, mitigable),
            _conditions(high + medium, findings) + required, required, **found)
    if medium or required:
        reason = (f"No dimension is rated high; {_names(medium)} {_are(medium)} rated medium "
                  "and served by the chosen mitigations." if medium else
                  f"Every dimension ({_names(tuple(risks))}) is rated low, but the answers "
                  "attach a required condition.")
        return Decision(
            Outcome.PROCEED_WITH_CONDITIONS, reason,
            "Proceed once the conditions are written into the contract or the technical design.",
            _conditions(medium, findings) + required, required, **found)
    return Decision(
        Outcome.PROCEED, f"Every dimension ({_names(tuple(risks))}) is rated low.",
        "Proceed with the standard safeguards.", **found)


def _served(finding: Finding) -> bool:
    return bool(finding.mitigations) and finding.claim is not False


def _escalation_advice(problems: tuple[str, ...], mitigable: Mapping[str, bool]) -> str:
    stuck = tuple(d for d in problems if not mitigable[d])
    if stuck:
        return (f"Do not proceed unless senior management finds a mitigation for "
                f"{_names(stuck)}, where none has been identified; record the reasons "
                "for whatever is decided.")
    return ("Proceed only with senior management's approval and with the proposed mitigations "
            "written into the contract or the technical design.")


def _conditions(dimensions: tuple[str, ...], findings: Mapping[str, Finding]) -> tuple[str, ...]:
    """One line per mitigation text, naming the dimensions it serves among `dimensions`."""
    served: dict[str, list[str]] = {}
    for dimension in dimensions:
        if findings[dimension].claim is False:
            continue  # the assessor says nothing mitigates it: its mitigations serve nothing
        for text in findings[dimension].mitigations:
            served.setdefault(text, []).append(dimension)
    return tuple(f"{text.rstrip('.')} (for {_names(tuple(dims))})."
                 for text, dims in served.items())


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _are(dimensions: tuple[str, ...]) -> str:
    return "is" if len(dimensions) == 1 else "are"


def _names(dimensions: Sequence[str]) -> str:
    dimensions = tuple(dimensions)
    if len(dimensions) <= 1:
        return "".join(dimensions)
    return ", ".join(dimensions[:-1]) + " and " + dimensions[-1]
