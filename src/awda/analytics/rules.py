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
