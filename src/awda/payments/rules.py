"""How a refund is split across an order's payments (pure)."""

from __future__ import annotations

from collections.abc import Sequence


class NotRefundable(ValueError):
    """The payments can't take this amount back (more than they have left)."""


def split_refund(remaining: Sequence[tuple[int, int]], amount_minor: int) -> list[tuple[int, int]]:
    """``(payment_id, refundable_minor)`` in the order payments were taken → the parts.

    The most recent payment is refunded first (a wallet top-up or gift card used last comes
    back before the card that paid the rest), each up to what it has left; the parts sum to
    ``amount_minor`` exactly, or NotRefundable.
    """
    if amount_minor <= 0:
        raise NotRefundable("nothing to refund")
    parts: list[tuple[int, int]] = []
    left = amount_minor
    for payment_id, refundable in reversed(remaining):
        if left == 0:
            break
        take = min(left, max(refundable, 0))
        if take:
            parts.append((payment_id, take))
            left -= take
    if left:
        raise NotRefundable(f"{left} minor units more than the payments have left")
    return parts
