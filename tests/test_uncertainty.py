"""How sure the evaluation's figures are: intervals that behave as a reader expects."""

import numpy as np
import pytest

from evals.uncertainty import gap, interval, uncertainty


def test_an_interval_holds_the_mean_and_narrows_as_questions_are_added():
    rng = np.random.default_rng(1)
    few = rng.integers(0, 2, 30).astype(float)  # 30 questions, each found or not
    many = np.tile(few, 10)  # the same mix, ten times as many questions
    lo, hi = interval(few)
    assert lo <= few.mean() <= hi
    lo_many, hi_many = interval(many)
    assert lo_many <= many.mean() <= hi_many
    assert (hi_many - lo_many) < (hi - lo) / 2
    assert interval([1.0] * 12) == (1.0, 1.0)  # every question passed: no doubt left
    assert interval(few) == (lo, hi)  # seeded: the same run, the same figures


def test_a_gap_between_groups_tells_chance_from_a_real_difference():
    rng = np.random.default_rng(2)
    same = gap(rng.random(100), rng.random(100))
    assert same["low"] < 0 < same["high"] and same["p"] > 0.05
    apart = gap(rng.random(100) * 0.5 + 0.5, rng.random(100) * 0.5)
    assert apart["low"] > 0 and apart["p"] < 0.01
    assert apart["n"] == (100, 100)
    with pytest.raises(ValueError):
        gap([], [1.0])


def test_the_report_figures_cover_each_half_and_the_newer_areas():
    records = [{"category": "dilemma", "split": split, "recall_at_5": float(i % 3 != 0),
                "keypoint_coverage": 1.0, "area": "new-doc" if i % 2 else ""}
               for i, split in enumerate(["tune", "held-back"] * 20)]
    u = uncertainty(records)
    held = u["figures"]["dilemma recall@5"]["held-back"]
    assert held["n"] == 20 and held["low"] <= held["value"] <= held["high"]
    assert u["areas"]["recall@5"]["n"] == (20, 20)
    assert "direction" not in u["figures"]  # no item is labelled with one
