"""The statistics behind a verdict: intervals, paired tests, Holm, and never "B beat A" on noise."""

from __future__ import annotations

import random

import pytest

from ftui.evaluate import stats


def test_mean_interval_contains_the_mean_and_collapses_on_constant_scores():
    s = stats.summarize([0.0, 1.0] * 50)
    assert s.n == 100 and s.mean == 0.5 and s.low < 0.5 < s.high
    assert stats.summarize([1.0] * 10).low == stats.summarize([1.0] * 10).high == 1.0
    assert stats.summarize([]).mean is None


def test_a_clear_win_is_called_and_is_reproducible():
    a, b = [0.0] * 20, [1.0] * 20
    c = stats.compare("base", "tuned", "exact", a, b)
    stats.holm([c])
    assert (c.wins, c.ties, c.losses) == (20, 0, 0)
    assert c.verdict == "tuned beat base" and c.p_adjusted < 0.001 and c.low > 0
    again = stats.compare("base", "tuned", "exact", a, b)
    assert (again.low, again.high) == (c.low, c.high)  # fixed bootstrap seed


def test_noise_and_ties_are_no_significant_difference():
    rng = random.Random(1)
    a = [rng.random() for _ in range(30)]
    b = [x + rng.uniform(-0.05, 0.05) for x in a]
    c = stats.compare("a", "b", "g", a, b)
    stats.holm([c])
    assert c.verdict == "no significant difference"
    same = stats.compare("a", "b", "g", [0.5] * 10, [0.5] * 10)
    stats.holm([same])
    assert same.p_value == 1.0 and same.ties == 10 and same.verdict == "no significant difference"


def test_a_few_wins_are_not_enough():
    c = stats.compare("a", "b", "g", [0.0] * 3 + [0.5] * 7, [1.0] * 3 + [0.5] * 7)
    stats.holm([c])
    assert c.wins == 3 and c.verdict == "no significant difference"  # 3 of 3 differing pairs: p = 0.25


def test_a_loss_is_called_the_other_way():
    c = stats.compare("a", "b", "g", [1.0] * 15, [0.0] * 15)
    stats.holm([c])
    assert c.verdict == "a beat b" and c.high < 0


def test_holm_raises_p_values_across_comparisons():
    weak = stats.compare("a", "b", "g", [0.0] * 7 + [0.5] * 13, [1.0] * 7 + [0.5] * 13)  # p = 0.0156
    other = stats.compare("a", "c", "g", [0.0] * 7 + [0.5] * 13, [1.0] * 7 + [0.5] * 13)
    third = stats.compare("a", "d", "g", [0.0] * 7 + [0.5] * 13, [1.0] * 7 + [0.5] * 13)
    stats.holm([weak, other, third])
    assert weak.p_value == pytest.approx(0.015625)
    assert weak.p_adjusted == pytest.approx(3 * 0.015625)
    assert weak.verdict == "b beat a"  # 0.047 still < 0.05
