"""A return's history in plain words, for the shopper's status page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from awda.core.formatting import FormatOptions, format_money
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


def _money_sentence(entry: TimelineFact, options: FormatOptions) -> str:
    lang = "ar" if (get_language() or "en").startswith("ar") else "en"
    data = entry.data
    amount = format_money(
        int(data.get("amount_minor", 0)),
        str(data.get("currency", "")),
        lang,
        arabic_digits=options.arabic_digits,
    )
    if entry.kind == "refund_issued" and data.get("card_last4"):
        return _("Your refund of %(amount)s was issued to the card ending %(last4)s.") % {
            "amount": amount,
            "last4": data["card_last4"],
        }
    if entry.kind == "refund_issued" and data.get("iban_last4"):
        return _("Your refund of %(amount)s was sent to the bank account ending %(last4)s.") % {
            "amount": amount,
            "last4": data["iban_last4"],
        }
    if entry.kind == "refund_issued":
        return _("Your refund of %(amount)s was issued to your original payment.") % {
            "amount": amount
        }
    return _("Store credit of %(amount)s was added to your account.") % {"amount": amount}


def for_return(
    timeline: Iterable[TimelineFact], options: FormatOptions | None = None
) -> list[StoryLine]:
    """Newest first: what happened to the return and its money, in the shopper's words."""
    options = options or FormatOptions()
    lines = []
    for entry in timeline:
        if entry.kind == "status_changed" and entry.to_status:
            lines.append(StoryLine(at=entry.at, text=_status_sentence(entry.to_status)))
        elif entry.kind in ("refund_issued", "store_credit_issued"):
            lines.append(StoryLine(at=entry.at, text=_money_sentence(entry, options)))
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
