"""The return lifecycle as data: which action moves which status where.

Plain data the services enforce and the UI can read (e.g. to show only possible actions).
"""

from __future__ import annotations

from collections.abc import Mapping

from awda.returns.models import ReturnStatus as S

TRANSITIONS: Mapping[str, Mapping[S, S]] = {
    "approve": {S.REQUESTED: S.APPROVED, S.PENDING_REVIEW: S.APPROVED},
    "flag_for_review": {S.REQUESTED: S.PENDING_REVIEW},
    "reject": {S.REQUESTED: S.REJECTED, S.PENDING_REVIEW: S.REJECTED},
    # Once a parcel moves, a cancel would strand it: the warehouse decides from there on.
    "cancel": {S.REQUESTED: S.CANCELLED, S.PENDING_REVIEW: S.CANCELLED, S.APPROVED: S.CANCELLED},
    "expire": {S.APPROVED: S.EXPIRED},
    "record_first_scan": {S.APPROVED: S.IN_TRANSIT},
    "record_delivery": {S.APPROVED: S.DELIVERED, S.IN_TRANSIT: S.DELIVERED},
    # A parcel can reach the warehouse before the carrier's events do (or be handed in).
    "record_receipt": {S.APPROVED: S.RECEIVED, S.IN_TRANSIT: S.RECEIVED, S.DELIVERED: S.RECEIVED},
    # Money sent before the warehouse looked turned out not to be due: a person settles it.
    "hold_for_review": {S.RECEIVED: S.IN_REVIEW},
    # A keep-item return completes at approval, before its money moves: money that then fails
    # brings it back for a person to settle (as a received return's does).
    "reopen_for_review": {S.COMPLETED: S.IN_REVIEW},
    # Keep-item returns complete straight from approved; others once received and decided
    # (or, held for review, once a person settled the money).
    "complete": {S.RECEIVED: S.COMPLETED, S.APPROVED: S.COMPLETED, S.IN_REVIEW: S.COMPLETED},
    # A person looked at the money in review (at stake, or a money job that failed) and
    # closes the return as it stands.
    "settle": {S.IN_REVIEW: S.COMPLETED},
}

TERMINAL: frozenset[S] = frozenset({S.REJECTED, S.COMPLETED, S.CANCELLED, S.EXPIRED})
# Ending in these gives the units back: they can be returned again.
RELEASES_UNITS: frozenset[S] = frozenset({S.REJECTED, S.CANCELLED, S.EXPIRED})
# The warehouse may inspect (decide) items once the parcel is received, in review or not.
INSPECTABLE: frozenset[S] = frozenset({S.RECEIVED, S.IN_REVIEW})


def next_status(current: str, action: str) -> S | None:
    """Where ``action`` takes a return in ``current`` status, or None when not allowed."""
    return TRANSITIONS.get(action, {}).get(S(current))


def allowed_actions(current: str) -> list[str]:
    """Actions possible from ``current``, in table order."""
    status = S(current)
    return [action for action, moves in TRANSITIONS.items() if status in moves]
