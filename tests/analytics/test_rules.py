"""The pure arithmetic: Wilson bound, percentiles, the flag rule (no database)."""

from __future__ import annotations

import random

import pytest

from awda.analytics.rules import (
    Bucket,
    FlagThresholds,
    duration_bucket,
    histogram_percentile,
    is_flagged,
    percentile,
    rate,
    wilson_lower_bound,
)


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


def test_durations_fall_in_1_hour_buckets_under_2_days_4_hours_under_10_days_then_days():
    assert [duration_bucket(h) for h in (0, 0.99, 47.9, 48, 51.9, 52, 239.9, 240, 263.9, 264)] == [
        0, 0, 47, 48, 48, 52, 236, 240, 240, 264,
    ]  # fmt: skip


def test_a_histogram_of_one_or_two_values_per_bucket_gives_the_exact_percentiles():
    values = [1.5, 20.0, 47.9, 48.0, 51.9, 100.0, 239.9, 300.0]
    buckets = [Bucket(1, 1.5, 1.5), Bucket(1, 20.0, 20.0), Bucket(1, 47.9, 47.9),
               Bucket(2, 48.0, 51.9), Bucket(1, 100.0, 100.0), Bucket(1, 239.9, 239.9),
               Bucket(1, 300.0, 300.0)]  # fmt: skip
    for fraction in (0.0, 0.1, 0.5, 0.9, 1.0):
        assert histogram_percentile(buckets, fraction) == pytest.approx(
            percentile(values, fraction)
        )
    assert histogram_percentile([], 0.5) is None


def test_a_histogram_percentile_is_within_the_bucket_width_of_the_exact_one():
    rng = random.Random(7)
    values = sorted(rng.uniform(0, 400) for _ in range(5000))
    by_bucket: dict[int, list[float]] = {}
    for v in values:
        by_bucket.setdefault(duration_bucket(v), []).append(v)
    buckets = [Bucket(len(vs), vs[0], vs[-1]) for _b, vs in sorted(by_bucket.items())]
    for fraction in (0.5, 0.9):
        exact = percentile(values, fraction)
        assert exact is not None
        width = 24 if exact >= 240 else 4 if exact >= 48 else 1
        assert histogram_percentile(buckets, fraction) == pytest.approx(exact, abs=width)
