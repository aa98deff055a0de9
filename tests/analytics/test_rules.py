"""The pure arithmetic: Wilson bound, percentiles, the flag rule (no database)."""

from __future__ import annotations

import pytest

from awda.analytics.rules import FlagThresholds, is_flagged, percentile, rate, wilson_lower_bound


def test_wilson_lower_bound_of_50_in_100_is_the_published_0_4038():
    # statsmodels proportion_confint(50, 100, method="wilson") → (0.40383, 0.59617)
    assert wilson_lower_bound(50, 100) == pytest.approx(0.403831, abs=1e-6)


def test_wilson_lower_bound_is_cautious_with_few_units():
    assert wilson_lower_bound(2, 4) == pytest.approx(0.150039, abs=1e-6)
    assert wilson_lower_bound(0, 10) == 0.0
    assert wilson_lower_bound(0, 0) == 0.0


def test_a_rate_of_nothing_sold_is_unknown_not_zero():
    assert rate(0, 0) is None
    assert rate(1, 4) == 0.25


def test_percentile_interpolates_between_ranks_like_percentile_cont():
    assert percentile([10.0, 30.0, 50.0], 0.5) == 30.0
    assert percentile([10.0, 30.0, 50.0], 0.9) == pytest.approx(46.0)
    assert percentile([], 0.5) is None


def test_a_product_sold_less_than_the_minimum_is_never_flagged():
    t = FlagThresholds(min_units_sold=30)
    assert not is_flagged(sold=29, returned=29, category_rate=0.05, thresholds=t)
    assert is_flagged(sold=40, returned=20, category_rate=0.1, thresholds=t)
    assert not is_flagged(sold=400, returned=20, category_rate=0.1, thresholds=t)
