"""A return's history in plain words, for the shopper's status page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from awda.returns.models import ReturnMethod, ReturnStatus
from awda.returns.selectors import ReturnSummary, TimelineFact


@dataclass(frozen=True)
class StoryLine:
    at: datetime
    text: str


def _status_sentence(status: str) -> str:
    sentences: dict[str, str] = {
        ReturnStatus.REQUESTED: _("You asked to return items."),
        ReturnStatus.APPROVED: _("Your return was approved."),
        ReturnStatus.PENDING_REVIEW: _("Your return is waiting for the store to check it."),
        ReturnStatus.REJECTED: _("The store declined your return."),
        ReturnStatus.CANCELLED: _("The return was cancelled."),
        ReturnStatus.EXPIRED: _("The return expired because nothing was sent back in time."),
        ReturnStatus.IN_TRANSIT: _("Your parcel is on its way to the store."),
        ReturnStatus.DELIVERED: _("Your parcel reached the store."),
        ReturnStatus.RECEIVED: _("The store received your items."),
        ReturnStatus.COMPLETED: _("Your return is complete."),
    }
    return str(sentences.get(status, status))


def for_return(timeline: Iterable[TimelineFact]) -> list[StoryLine]:
    """Newest first: what happened, in the shopper's words."""
    lines = [
        StoryLine(at=entry.at, text=_status_sentence(entry.to_status))
        for entry in timeline
        if entry.kind == "status_changed" and entry.to_status
    ]
    # Oldest first in, newest first out; facts of the same minute keep their order reversed.
    return lines[::-1]


def next_step(ret: ReturnSummary) -> str:
    """What the shopper should do now, in one sentence."""
    if ret.status == ReturnStatus.APPROVED:
        by_method: dict[str, str] = {
            ReturnMethod.LABEL: _(
                "Pack the items. Your prepaid label will appear on this page; print it and "
                "hand the parcel to the carrier."
            ),
            ReturnMethod.QR_DROPOFF: _(
                "Pack the items. Your QR code will appear on this page; show it at a drop-off "
                "point, no printer needed."
            ),
            ReturnMethod.PICKUP: _("Pack the items. A courier will collect them at your address."),
            ReturnMethod.KEEP_ITEM: _("Keep the item; there is nothing to send back."),
        }
        return str(by_method.get(ret.method, ""))
    if ret.status == ReturnStatus.PENDING_REVIEW:
        return _("The store will check your return and e-mail you.")
    return ""
