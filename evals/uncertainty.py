"""How sure an evaluation's figures are: bootstrap intervals and a permutation test, no model.

A golden-set figure is a mean over a few dozen questions, so it moves by a few hundredths when
one question flips (on the held-back half's 61 dilemmas, one question is 0.016 of recall).
`interval` gives the range that resampling the questions puts a figure in (95%), and `gap`
says whether two groups of questions (the library's newer areas against the older ones, say)
really score differently or only by the luck of which questions were written: the
difference's interval and a two-sided permutation p-value. Seeded: the same run gives the same
figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from evals.golden_set import ANSWERABLE, SPLITS

RESAMPLES = 4000
SEED = 20261202
LEVEL = 0.95
HALVES = ("all", *SPLITS)  # the whole set, then the tune and held-back halves
# What the report gives an interval for: (label, item filter, per-item score)
FIGURES = (
    ("recall@5", lambda r: r["category"] in ANSWERABLE, "recall_at_5"),
    ("dilemma recall@5", lambda r: r["category"] == "dilemma", "recall_at_5"),
    ("key points", lambda r: r["category"] in ANSWERABLE, "keypoint_coverage"),
    ("direction", lambda r: "direction_ok" in r, "direction_ok"),
)


def interval(values: Sequence[float], resamples: int = RESAMPLES,
             seed: int = SEED) -> tuple[float, float]:
    """The mean's 95% bootstrap interval (percentile method)."""
    x = np.asarray(values, dtype=float)
    if not len(x):
        raise ValueError("an interval needs at least one value")
    return _bounds(_resampled_means(x, np.random.default_rng(seed), resamples))


def _resampled_means(x: np.ndarray, rng, resamples: int) -> np.ndarray:
    """The means of `resamples` bootstrap samples of x (drawn with replacement)."""
    return x[rng.integers(0, len(x), (resamples, len(x)))].mean(axis=1)


def _bounds(values: np.ndarray) -> tuple[float, float]:
    tail = (1 - LEVEL) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def gap(a: Sequence[float], b: Sequence[float], resamples: int = RESAMPLES,
        seed: int = SEED) -> dict:
    """mean(a) - mean(b), its 95% bootstrap interval (each group resampled on its own) and the
    two-sided permutation p-value: the share of random relabellings of the pooled questions
    whose difference is at least as large as the one observed."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(x) or not len(y):
        raise ValueError("a gap needs values in both groups")
    rng = np.random.default_rng(seed)
    observed = x.mean() - y.mean()
    low, high = _bounds(_resampled_means(x, rng, resamples) - _resampled_means(y, rng, resamples))
    pooled = np.concatenate([x, y])
    shuffled = np.argsort(rng.random((resamples, len(pooled))), axis=1)
    perm = pooled[shuffled[:, :len(x)]].mean(axis=1) - pooled[shuffled[:, len(x):]].mean(axis=1)
    return {"difference": float(observed), "low": low, "high": high,
            "p": float((np.sum(np.abs(perm) >= abs(observed) - 1e-12) + 1) / (resamples + 1)),
            "n": (len(x), len(y))}


def _scores(records: Iterable[dict], keep, key: str) -> list[float]:
    return [float(r[key]) for r in records if keep(r) and r.get(key) is not None]


def uncertainty(records: Sequence[dict]) -> dict:
    """Intervals for the headline figures on each half and overall, and the newer areas'
    gap to the older ones (items with an `area` against items without)."""
    out: dict = {"figures": {}, "areas": {}}
    for half in HALVES:
        rows = [r for r in records if half == "all" or r.get("split") == half]
        for label, keep, key in FIGURES:
            values = _scores(rows, keep, key)
            if values:
                low, high = interval(values)
                out["figures"].setdefault(label, {})[half] = {
                    "value": float(np.mean(values)), "low": low, "high": high, "n": len(values)}
    answerable = [r for r in records if r["category"] in ANSWERABLE]
    for label, key in (("recall@5", "recall_at_5"), ("key points", "keypoint_coverage")):
        newer = _scores(answerable, lambda r: bool(r.get("area")), key)
        older = _scores(answerable, lambda r: not r.get("area"), key)
        if newer and older:
            out["areas"][label] = gap(newer, older)
    return out


def cell(figure: dict | None) -> str:
    """One figure with its interval and its number of questions, as the report shows it."""
    if not figure:
        return "—"
    return (f"{figure['value']:.3f} [{figure['low']:.3f}, {figure['high']:.3f}] "
            f"(n={figure['n']})")


def render(u: dict) -> list[str]:
    """The report's section on how sure its figures are."""
    if not u or not u.get("figures"):
        return []
    lines = ["## How sure these figures are (95% bootstrap intervals over the questions)", "",
             "| figure | all | tune | held-back |", "|---|---|---|---|"]
    for label, halves in u["figures"].items():
        lines.append(f"| {label} | " + " | ".join(cell(halves.get(h)) for h in HALVES) + " |")
    if u.get("areas"):
        lines += ["", "Newer areas against older ones (items with an `area` minus items without; "
                  "p: permutation test, a large p means the groups do not differ beyond chance):",
                  "", "| figure | newer − older | 95% interval | p | items |", "|---|---|---|---|---|"]
        for label, g in u["areas"].items():
            lines.append(f"| {label} | {g['difference']:+.3f} | [{g['low']:+.3f}, "
                         f"{g['high']:+.3f}] | {g['p']:.2f} | {g['n'][0]} / {g['n'][1]} |")
    return lines + [""]
