"""The decision rule of a guided assessment, in one place.

Each rated dimension (for an export deal: Purpose, Place, Product, Purchaser) has a risk and
a "can be mitigated" flag. The rule, applied over every dimension the playbook declares:

| Ratings                                        | Outcome                             |
|------------------------------------------------|-------------------------------------|
| every dimension low                            | `proceed`, with standard safeguards |
| no dimension high, one or more medium          | `proceed-with-conditions`           |
| one or more high (unless the next row applies) | `escalate` to senior management     |
| every dimension high and none can be mitigated | `no-go`                             |

With conditions, the mitigations chosen for the medium dimensions become contract or
technical conditions. An escalation carries the mitigations proposed for the medium and
high dimensions and a recommendation.

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


@dataclass(frozen=True)
class Decision:
    """The outcome, why, and what must be attached to it.

    For `proceed-with-conditions`, `conditions` are the mitigations of the medium dimensions;
    for `escalate`, they are the mitigations proposed to senior management for the medium and
    high dimensions.
    """

    outcome: Outcome
    reason: str
    recommendation: str
    conditions: tuple[str, ...] = ()
    high: tuple[str, ...] = ()
    medium: tuple[str, ...] = ()
    unmitigable: tuple[str, ...] = ()


def max_risk(risks: Sequence[Risk]) -> Risk | None:
    """The worst of some risks, or None when there are none."""
    return max(risks, key=lambda r: r.rank) if risks else None


def decide(
    ratings: Mapping[str, Risk],
    mitigable: Mapping[str, bool],
    mitigations: Mapping[str, Sequence[str]] | None = None,
) -> Decision:
    """Apply the decision rule to each dimension's rating and "can be mitigated" flag.

    Keys are the dimensions' display names; `mitigations` maps a dimension to the texts of
    the mitigations chosen for it, which become the conditions.
    """
    if not ratings:
        raise ValueError("the decision needs at least one rated dimension")
    if set(mitigable) != set(ratings):
        raise ValueError(f"mitigable flags {sorted(mitigable)} do not match the rated "
                         f"dimensions {sorted(ratings)}")
    mitigations = mitigations or {}
    high = tuple(d for d, r in ratings.items() if Risk(r) is Risk.HIGH)
    medium = tuple(d for d, r in ratings.items() if Risk(r) is Risk.MEDIUM)
    unmitigable = tuple(d for d in high + medium if not mitigable[d])
    found = {"high": high, "medium": medium, "unmitigable": unmitigable}

    if len(high) == len(ratings) and not any(mitigable.values()):
        return Decision(
            Outcome.NO_GO,
            f"Every dimension ({_names(high)}) is rated high and none can be mitigated.",
            "Do not proceed. Record the reasons and tell the customer the deal is declined.",
            **found,
        )
    if high:
        proposed = _conditions(high + medium, mitigations, mitigable)
        return Decision(
            Outcome.ESCALATE,
            f"{_names(high)} {'is' if len(high) == 1 else 'are'} rated high: "
            "senior management must decide.",
            _escalation_advice(high, mitigable),
            proposed,
            **found,
        )
    if medium:
        return Decision(
            Outcome.PROCEED_WITH_CONDITIONS,
            f"No dimension is rated high; {_names(medium)} "
            f"{'is' if len(medium) == 1 else 'are'} rated medium.",
            "Proceed once the conditions are written into the contract or the technical design.",
            _conditions(medium, mitigations, mitigable),
            **found,
        )
    return Decision(
        Outcome.PROCEED,
        f"Every dimension ({_names(tuple(ratings))}) is rated low.",
        "Proceed with the standard safeguards.",
        **found,
    )


def _escalation_advice(high: tuple[str, ...], mitigable: Mapping[str, bool]) -> str:
    stuck = [d for d in high if not mitigable[d]]
    if stuck:
        return (f"Do not proceed unless senior management finds a mitigation for "
                f"{_names(tuple(stuck))}, where none has been identified; record the reasons "
                "for whatever is decided.")
    return ("Proceed only with senior management's approval and with the proposed mitigations "
            "written into the contract or the technical design.")


def _conditions(dimensions: tuple[str, ...], mitigations: Mapping[str, Sequence[str]],
                mitigable: Mapping[str, bool]) -> tuple[str, ...]:
    """One line per mitigation text (naming the dimensions it serves), then any gaps."""
    served: dict[str, list[str]] = {}
    gaps = []
    for dimension in dimensions:
        texts = mitigations.get(dimension, ())
        for text in texts:
            served.setdefault(text, []).append(dimension)
        if not texts:
            gaps.append(f"{dimension}: no mitigation chosen yet"
                        + ("; agree one before signing." if mitigable[dimension] else
                           " and none identified."))
    return tuple(f"{text.rstrip('.')} (for {_names(tuple(dims))})."
                 for text, dims in served.items()) + tuple(gaps)


def _names(dimensions: tuple[str, ...]) -> str:
    if len(dimensions) <= 1:
        return "".join(dimensions)
    return ", ".join(dimensions[:-1]) + " and " + dimensions[-1]
