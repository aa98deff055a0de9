"""Pure arithmetic of the analytics: rates, the Wilson interval, percentiles, flagging."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# 95 % two-sided: the normal quantile 1.959964…
Z_95 = 1.959963984540054


def rate(part: int, whole: int) -> float | None:
    """``part / whole``, or None when nothing was sold (a rate of nothing is not 0 %)."""
    return part / whole if whole > 0 else None


def wilson_lower_bound(successes: int, trials: int, z: float = Z_95) -> float:
    """Lower end of the Wilson score interval for a proportion (0 without trials).

    Unlike ``successes / trials`` it is cautious with small numbers: 2 returns of 4 units sold
    give a lower bound of 0.15, 200 of 400 give 0.45, so a product is flagged for being
    returned often, not for having been sold rarely.
    """
    if trials <= 0:
        return 0.0
    successes = min(max(successes, 0), trials)
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - margin) / (1 + z2 / trials))


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks: PostgreSQL's ``percentile_cont``."""
    n = len(sorted_values)
    if n == 0:
        return None
    position = fraction * (n - 1)
    low = math.floor(position)
    high = min(low + 1, n - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


# Duration histograms (``models.DurationRollup``): buckets of 1 hour under 2 days, of 4 hours
# under 10 days, of a day beyond; a percentile read from them is within one bucket's width of
# the exact one, i.e. within 1 h, 4 h or 24 h: at most 10 % of the value past 2 days.
DURATION_BUCKETS: tuple[tuple[int, int], ...] = ((0, 1), (48, 4), (240, 24))  # (from h, width)


def duration_bucket(hours: float) -> int:
    """The lower bound (in whole hours) of the histogram bucket a duration falls in."""
    width = next(w for start, w in reversed(DURATION_BUCKETS) if hours >= start)
    return math.floor(hours / width) * width


@dataclass(frozen=True)
class Bucket:
    """A histogram bucket: how many values, and the smallest and largest of them."""

    count: int
    low: float
    high: float


def histogram_percentile(buckets: Sequence[Bucket], fraction: float) -> float | None:
    """``percentile`` read from buckets in ascending order, each bucket's values taken as
    evenly spread between its smallest and largest: exact for buckets of one or two values,
    otherwise off by less than the bucket's spread."""
    n = sum(b.count for b in buckets)
    if n == 0:
        return None

    def value(rank: int) -> float:
        seen = 0
        for b in buckets:
            if rank < seen + b.count:
                if b.count == 1:
                    return b.low
                return b.low + (b.high - b.low) * (rank - seen) / (b.count - 1)
            seen += b.count
        return buckets[-1].high

    position = fraction * (n - 1)
    low = math.floor(position)
    high = min(low + 1, n - 1)
    return value(low) + (value(high) - value(low)) * (position - low)


@dataclass(frozen=True)
class FlagThresholds:
    """When a product counts as returned too often (all adjustable per call)."""

    factor: float = 1.5  # the product's lower bound must exceed factor × its category's rate
    min_units_sold: int = 30  # fewer units sold say too little
    z: float = Z_95


def is_flagged(
    *, sold: int, returned: int, category_rate: float | None, thresholds: FlagThresholds
) -> bool:
    """Returned significantly more often than its category: the Wilson lower bound of its
    return rate is above ``factor`` × the category's rate, with enough units sold."""
    if sold < thresholds.min_units_sold or category_rate is None:
        return False
    bound = wilson_lower_bound(returned, sold, thresholds.z)
    return bound > thresholds.factor * category_rate
