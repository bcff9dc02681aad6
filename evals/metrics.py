"""Evaluation metrics as pure functions: retrieval ranks, answer text, declines, deals, latency.

Nothing here runs a model or reads a file; every function takes plain values, so each one
can be checked by hand (tests/test_eval.py does).

Relevance: a question is labelled with documents, optionally narrowed to numbered sections
("3" or "3.1") or PDF pages. A retrieved passage matches a label when it comes from that
document and, if the label names sections or pages, from one of them (a label "3" also
accepts a passage from "3.1"). Each label counts once: two passages matching the same
label add one hit, not two.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

SECTION_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)*)\.?(?:\s|$)")
MARKERS = re.compile(r"((?:\s*\[\d+\])+)")
MARKER_NUMBER = re.compile(r"\[(\d+)\]")
LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


@dataclass(frozen=True)
class Label:
    """A relevant place in the library for one question."""

    doc_id: str
    sections: tuple[str, ...] = ()  # section numbers, e.g. ("3", "4.2")
    pages: tuple[int, ...] = ()
    grade: int = 1  # 2 for the main source, 1 for a supporting one (used by nDCG)


@dataclass(frozen=True)
class Retrieved:
    """Where one retrieved passage comes from (what the metrics compare with the labels)."""

    doc_id: str
    sections: tuple[str, ...] = ()  # numbers of the sections the passage covers
    page: int | None = None


def section_number(heading: str | None) -> str | None:
    """'3.1 Prerequisites: legality ...' -> '3.1'; a heading without a number -> None."""
    m = SECTION_NUMBER.match(heading or "")
    return m.group(1) if m else None


def matches(r: Retrieved, label: Label) -> bool:
    if r.doc_id != label.doc_id:
        return False
    if label.sections and not any(s == want or s.startswith(want + ".")
                                  for s in r.sections for want in label.sections):
        return False
    return not label.pages or r.page in label.pages


def _first_hits(ranked: Sequence[Retrieved], labels: Sequence[Label], k: int) -> list[int | None]:
    """For each rank in the top k, the index of the label it newly satisfies (or None)."""
    found: set[int] = set()
    out: list[int | None] = []
    for r in ranked[:k]:
        new = next((i for i, lab in enumerate(labels) if i not in found and matches(r, lab)), None)
        if new is not None:
            found.add(new)
        out.append(new)
    return out


def hit_at_k(ranked: Sequence[Retrieved], labels: Sequence[Label], k: int) -> float:
    """1.0 if any of the top k passages matches any label."""
    return float(any(matches(r, lab) for r in ranked[:k] for lab in labels))


def recall_at_k(ranked: Sequence[Retrieved], labels: Sequence[Label], k: int) -> float:
    """Share of the labels matched by at least one of the top k passages."""
    if not labels:
        raise ValueError("recall needs at least one label")
    return sum(i is not None for i in _first_hits(ranked, labels, k)) / len(labels)


def mrr_at_k(ranked: Sequence[Retrieved], labels: Sequence[Label], k: int) -> float:
    """1 / rank of the first passage that matches a label, 0 if none in the top k."""
    for rank, r in enumerate(ranked[:k], 1):
        if any(matches(r, lab) for lab in labels):
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[Retrieved], labels: Sequence[Label], k: int) -> float:
    """Normalised discounted cumulative gain with each label's grade as its gain, counted once."""
    if not labels:
        raise ValueError("nDCG needs at least one label")
    dcg = sum(labels[i].grade / math.log2(rank + 1)
              for rank, i in enumerate(_first_hits(ranked, labels, k), 1) if i is not None)
    ideal_gains = sorted((lab.grade for lab in labels), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal_gains, 1))
    return dcg / idcg if idcg else 0.0


def normalise(text: str) -> str:
    """Lower case with runs of white space made one space (how key points are matched)."""
    return " ".join(text.casefold().split())


def keypoints_found(text: str, key_points: Sequence[Sequence[str]]) -> list[bool]:
    """For each key point (a list of acceptable phrasings), whether any phrasing is in the text."""
    hay = normalise(text)
    return [any(normalise(p) in hay for p in phrasings) for phrasings in key_points]


def keypoint_coverage(text: str, key_points: Sequence[Sequence[str]]) -> float:
    """Share of the key points the text states in one of their acceptable phrasings."""
    if not key_points:
        raise ValueError("coverage needs at least one key point")
    found = keypoints_found(text, key_points)
    return sum(found) / len(found)


def citation_precision(cited_doc_ids: Sequence[str], relevant_doc_ids: Iterable[str]) -> float | None:
    """Share of an answer's citations that point at a labelled document; None without citations."""
    if not cited_doc_ids:
        return None
    relevant = set(relevant_doc_ids)
    return sum(d in relevant for d in cited_doc_ids) / len(cited_doc_ids)


def cited_claims(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """The statements of an answer that carry citation markers, with the numbers they cite.

    A statement is the text before a group of markers on one line, without its list marker.
    Headings (lines that open with ** or #) are connecting text, not claims, and are skipped.
    """
    claims = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("**", "#")):
            continue
        parts = MARKERS.split(stripped)
        # parts alternate: text, markers, text, markers, ..., trailing text
        for body, marks in zip(parts[::2], parts[1::2], strict=False):
            # "... [1]. Next claim [2]": the full stop after a marker belongs to the claim before
            claim = LIST_MARK.sub("", body.strip().lstrip(".,;:!? ")).strip()
            if claim:
                claims.append((claim, tuple(int(n) for n in MARKER_NUMBER.findall(marks))))
    return claims


def support_counts(text: str, sources: Mapping[int, str]) -> tuple[int, int]:
    """(supported, total) cited statements, where supported means the statement appears
    verbatim (after white-space and case normalisation) in the text of a passage it cites."""
    claims = cited_claims(text)
    supported = sum(any(normalise(claim) in normalise(sources.get(n, "")) for n in numbers)
                    for claim, numbers in claims)
    return supported, len(claims)


def decline_scores(expected: Sequence[bool], predicted: Sequence[bool]) -> dict[str, float | None]:
    """Precision, recall and accuracy of declining, with 'should decline' as the positive class."""
    if len(expected) != len(predicted):
        raise ValueError("expected and predicted differ in length")
    tp = sum(e and p for e, p in zip(expected, predicted, strict=True))
    fp = sum(p and not e for e, p in zip(expected, predicted, strict=True))
    fn = sum(e and not p for e, p in zip(expected, predicted, strict=True))
    right = sum(e == p for e, p in zip(expected, predicted, strict=True))
    return {
        "decline_precision": tp / (tp + fp) if tp + fp else None,
        "decline_recall": tp / (tp + fn) if tp + fn else None,
        "decline_accuracy": right / len(expected) if expected else None,
    }


def deal_scores(expected: Sequence[str], predicted: Sequence[str]) -> dict:
    """Decision accuracy and a confusion table {expected: {predicted: count}}."""
    if len(expected) != len(predicted):
        raise ValueError("expected and predicted differ in length")
    confusion: dict[str, dict[str, int]] = {}
    for e, p in zip(expected, predicted, strict=True):
        row = confusion.setdefault(e, {})
        row[p] = row.get(p, 0) + 1
    right = sum(e == p for e, p in zip(expected, predicted, strict=True))
    return {"deal_accuracy": right / len(expected) if expected else None, "confusion": confusion}


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are not None; None if there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
