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
from awda.wallet.models import CreditAccount
from awda.wallet.selectors import balance_of


@dataclass(frozen=True)
class StoryLine:
    at: datetime
    text: str
    url: str = ""  # a link the line asks the shopper to follow (pay an exchange's difference)


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
        ReturnStatus.IN_REVIEW: _(
            "The store is checking what arrived against the money already sent back to you."
        ),
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


_EXCHANGE_KINDS = frozenset(
    {
        "exchange_issued",
        "exchange_payment_link",
        "exchange_difference_paid",
        "exchange_charged",
        "exchange_review",
    }
)


def _exchange_line(entry: TimelineFact, options: FormatOptions, paid: set[str]) -> StoryLine:
    """An exchange's step: the replacement, and what happens to the price difference."""
    lang = "ar" if (get_language() or "en").startswith("ar") else "en"
    data = entry.data
    values = {
        "amount": format_money(
            int(data.get("amount_minor", 0)),
            str(data.get("currency", "")),
            lang,
            arabic_digits=options.arabic_digits,
        ),
        "order": str(data.get("order_number", "")),
    }
    kind, url = entry.kind, ""
    if kind == "exchange_issued":
        by_handling: dict[str, str] = {
            "charge_link": _(
                "Your replacement (order %(order)s) is ready: it ships once you pay the "
                "difference of %(amount)s."
            ),
            "collect_on_delivery": _(
                "Your replacement (order %(order)s) is on its way. The difference of "
                "%(amount)s will be collected in cash on delivery."
            ),
            "refund": _(
                "Your replacement (order %(order)s) is on its way, and the difference of "
                "%(amount)s is being refunded to your original payment."
            ),
            "bank_transfer": _(
                "Your replacement (order %(order)s) is on its way, and the difference of "
                "%(amount)s will be sent to your bank account."
            ),
            "store_credit": _(
                "Your replacement (order %(order)s) is on its way, and the difference of "
                "%(amount)s was added to your store credit."
            ),
        }
        text = by_handling.get(
            str(data.get("handling", "")), _("Your replacement (order %(order)s) is on its way.")
        )
    elif kind == "exchange_payment_link" and data.get("purpose") == "unreturned":
        text = _(
            "The items you exchanged didn't come back to the store, so they are charged: "
            "pay %(amount)s with this link."
        )
        url = "" if "unreturned" in paid else str(data.get("url", ""))
    elif kind == "exchange_payment_link":
        text = _("Pay the difference of %(amount)s with this link and your replacement ships.")
        url = "" if "difference" in paid else str(data.get("url", ""))
    elif kind == "exchange_difference_paid":
        text = _(
            "Thank you: the difference of %(amount)s was paid. Your replacement is on its way."
        )
    elif kind == "exchange_charged":
        text = _("Thank you: the payment of %(amount)s for the items not returned was received.")
    else:
        text = _("The store is checking your exchange and will contact you.")
    return StoryLine(at=entry.at, text=str(text) % values, url=url)


def for_return(
    timeline: Iterable[TimelineFact], options: FormatOptions | None = None
) -> list[StoryLine]:
    """Newest first: what happened to the return and its money, in the shopper's words."""
    options = options or FormatOptions()
    timeline = list(timeline)
    # A payment link already paid is not offered again.
    paid = {
        "difference" if e.kind == "exchange_difference_paid" else "unreturned"
        for e in timeline
        if e.kind in ("exchange_difference_paid", "exchange_charged")
    }
    lines = []
    for entry in timeline:
        if entry.kind == "status_changed" and entry.to_status:
            lines.append(StoryLine(at=entry.at, text=_status_sentence(entry.to_status)))
        elif entry.kind in ("refund_issued", "store_credit_issued"):
            lines.append(StoryLine(at=entry.at, text=_money_sentence(entry, options)))
        elif entry.kind in _EXCHANGE_KINDS:
            lines.append(_exchange_line(entry, options, paid))
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
    if ret.status == ReturnStatus.IN_REVIEW:
        return _("Something in your parcel needs a closer look; the store will contact you.")
    return _store_credit_left(ret)


def _store_credit_left(ret: ReturnSummary) -> str:
    """Once the return's store credit is granted: what the shopper has left to spend (the
    store's checkout lowers it), so the page stays true after a purchase with the code."""
    if not any(fact.kind == "store_credit_issued" for fact in ret.timeline):
        return ""  # no query for the returns that brought no store credit
    account = (
        CreditAccount.objects.select_related("merchant")
        .filter(customer__returns__pk=ret.id, currency=ret.currency)
        .first()
    )
    if account is None:
        return ""
    left = balance_of(account).balance
    lang = "ar" if (get_language() or "en").startswith("ar") else "en"
    amount = format_money(
        left.minor, left.currency, lang, arabic_digits=account.merchant.arabic_digits
    )
    if not left.minor:
        return _("You have spent all your store credit.")
    return _(
        "Your store credit balance is %(amount)s: spend it at checkout with the code we "
        "e-mailed you."
    ) % {"amount": amount}
