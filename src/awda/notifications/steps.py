"""What the shopper is told at each step of a return, by e-mail and by text message.

One row per step: the e-mail's subject, headline and paragraphs and the text message, with
``%(name)s`` placeholders filled in the shopper's language when the message is rendered
(``number``, ``store``, ``carrier``, ``send_by``, ``pickup_date``, ``pickup_start``,
``pickup_end``). ``current`` lists the return statuses in which the step is still news when
the worker gets to it: a parcel already delivered gets no "on its way" mail. Plain data:
the services choose the row and render it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from awda.returns.models import ReturnStatus

_SHIPPABLE = frozenset({ReturnStatus.APPROVED})


@dataclass(frozen=True)
class StepCopy:
    subject: Promise
    headline: Promise
    paragraphs: tuple[Promise, ...]
    # The text message, before its link: ≤ 160 characters of the GSM alphabet, ≤ 70 in Arabic.
    text: Promise
    current: frozenset[str]
    # The parcel goes with the mail: the PDF label (label method) or the QR code (drop-off).
    carries_parcel: bool = False
    shows_deadline: bool = False


_PACK = _("Pack the items securely, in their original packaging if you still have it.")
_COLLECTION = _(
    "A courier will collect your parcel on %(pickup_date)s between %(pickup_start)s and "
    "%(pickup_end)s."
)
_PICKUP_SUBJECT = _("Courier pickup for your return %(number)s at %(store)s")
_PICKUP_HEADLINE = _("Your return is approved: a courier will collect it")
_PICKUP_TEXT = _(
    "%(store)s: courier pickup for return %(number)s on %(pickup_date)s, "
    "%(pickup_start)s-%(pickup_end)s."
)

STEPS: dict[str, StepCopy] = {
    # LabelIssued, by the return's method.
    "ready_label": StepCopy(
        subject=_("Your return label for %(number)s at %(store)s"),
        headline=_("Your return is approved: here is your label"),
        paragraphs=(
            _PACK,
            _("Print the attached label, stick it on the parcel and hand it to %(carrier)s."),
        ),
        text=_("%(store)s: return %(number)s is approved. Your label:"),
        current=_SHIPPABLE,
        carries_parcel=True,
        shows_deadline=True,
    ),
    "ready_qr_dropoff": StepCopy(
        subject=_("Your QR code for return %(number)s at %(store)s"),
        headline=_("Your return is approved: here is your QR code"),
        paragraphs=(
            _PACK,
            _(
                "Show this QR code at a %(carrier)s drop-off point with your parcel: they "
                "print the label for you, so you need no printer."
            ),
        ),
        text=_("%(store)s: return %(number)s is approved. Show your QR code at a drop-off point:"),
        current=_SHIPPABLE,
        carries_parcel=True,
        shows_deadline=True,
    ),
    "ready_pickup": StepCopy(
        subject=_PICKUP_SUBJECT,
        headline=_PICKUP_HEADLINE,
        paragraphs=(
            _PACK,
            _("A courier will contact you to arrange the collection of your parcel."),
        ),
        text=_("%(store)s: return %(number)s is approved. A courier will contact you."),
        current=_SHIPPABLE,
    ),
    "ready_pickup_booked": StepCopy(
        subject=_PICKUP_SUBJECT,
        headline=_PICKUP_HEADLINE,
        paragraphs=(_PACK, _COLLECTION),
        text=_PICKUP_TEXT,
        current=_SHIPPABLE,
    ),
    # PickupScheduled
    "pickup_booked": StepCopy(
        subject=_("Courier pickup booked for your return %(number)s at %(store)s"),
        headline=_("Your courier pickup is booked"),
        paragraphs=(_COLLECTION, _("Please have the parcel packed and ready.")),
        text=_PICKUP_TEXT,
        current=_SHIPPABLE,
    ),
    "pickup_rebooked": StepCopy(
        subject=_("New courier pickup time for your return %(number)s at %(store)s"),
        headline=_("Your courier pickup has a new time"),
        paragraphs=(
            _(
                "Your collection has moved: a courier will now come on %(pickup_date)s "
                "between %(pickup_start)s and %(pickup_end)s."
            ),
            _("Please have the parcel packed and ready."),
        ),
        text=_(
            "%(store)s: new pickup time for return %(number)s: %(pickup_date)s, "
            "%(pickup_start)s-%(pickup_end)s."
        ),
        current=_SHIPPABLE,
    ),
    # FirstScanRecorded
    "in_transit": StepCopy(
        subject=_("Your return %(number)s at %(store)s is on its way"),
        headline=_("Your return is on its way"),
        paragraphs=(_("The carrier has your parcel and is bringing it to %(store)s."),),
        text=_("%(store)s: your return %(number)s is on its way to us."),
        current=frozenset({ReturnStatus.IN_TRANSIT}),
    ),
    # ParcelDelivered
    "delivered": StepCopy(
        subject=_("Your return %(number)s has reached %(store)s"),
        headline=_("Your parcel has reached us"),
        paragraphs=(
            _("Your parcel was delivered to %(store)s. We will check the items and let you know."),
        ),
        text=_("%(store)s: your return %(number)s has reached us."),
        current=frozenset({ReturnStatus.DELIVERED}),
    ),
    # ReturnReceived
    "received": StepCopy(
        subject=_("%(store)s has received your return %(number)s"),
        headline=_("We have received your return"),
        paragraphs=(
            _(
                "Our warehouse has your parcel. We are checking the items and will e-mail you "
                "as soon as your refund, store credit or exchange is issued."
            ),
        ),
        text=_("%(store)s: we have received return %(number)s and are checking the items."),
        current=frozenset({ReturnStatus.RECEIVED}),
    ),
    # ReturnRejected (the reason is shown as a detail)
    "rejected": StepCopy(
        subject=_("Your return %(number)s at %(store)s was not accepted"),
        headline=_("Your return was not accepted"),
        paragraphs=(
            _("We are sorry: %(store)s could not accept this return."),
            _("Nothing needs to be sent back."),
        ),
        text=_("%(store)s: return %(number)s was not accepted. Details:"),
        current=frozenset({ReturnStatus.REJECTED}),
    ),
    # ReturnExpiring (remind_unshipped_returns)
    "expiring": StepCopy(
        subject=_("Reminder: please send your return %(number)s to %(store)s"),
        headline=_("Your return is waiting for its parcel"),
        paragraphs=(
            _(
                "We have not seen your parcel yet. Please send it by %(send_by)s: after that "
                "the return expires."
            ),
            _("Everything you need to send it is on your return page."),
        ),
        text=_("%(store)s: please send return %(number)s by %(send_by)s."),
        current=_SHIPPABLE,
        carries_parcel=True,
        shows_deadline=True,
    ),
    # ReturnExpired
    "expired": StepCopy(
        subject=_("Your return %(number)s at %(store)s has expired"),
        headline=_("Your return has expired"),
        paragraphs=(
            _("Your parcel did not reach the carrier in time, so this return has expired."),
            _("If the items are still within the return period, you can start a new return."),
        ),
        text=_("%(store)s: return %(number)s has expired."),
        current=frozenset({ReturnStatus.EXPIRED}),
    ),
}

# The steps a return event leads to directly (LabelIssued and PickupScheduled depend on the
# parcel and the booking, so the services choose their row).
STEP_FOR_EVENT: dict[str, str] = {
    "FirstScanRecorded": "in_transit",
    "ParcelDelivered": "delivered",
    "ReturnReceived": "received",
    "ReturnRejected": "rejected",
    "ReturnExpiring": "expiring",
    "ReturnExpired": "expired",
}


@dataclass(frozen=True)
class ResolutionCopy:
    """The money side: placeholders ``amount``, ``detail``, ``number``, ``store``."""

    subject: Promise
    headline: Promise
    issued: Promise
    issued_with_detail: Promise | None  # the detail said in the sentence...
    detail_label: Promise | None  # ...or shown as a row of its own
    note: Promise
    text: Promise


RESOLUTIONS: dict[str, ResolutionCopy] = {
    # detail: the last four digits of the card
    "refund": ResolutionCopy(
        subject=_("Your refund for return %(number)s at %(store)s"),
        headline=_("Your refund is on its way"),
        issued=_("Your refund of %(amount)s was issued to your original payment method."),
        issued_with_detail=_("Your refund of %(amount)s was issued to the card ending %(detail)s."),
        detail_label=None,
        note=_("It can take a few working days for your bank to show it."),
        text=_("%(store)s: your refund of %(amount)s for return %(number)s was issued."),
    ),
    # detail: the last four characters of the IBAN
    "bank_transfer": ResolutionCopy(
        subject=_("Your refund for return %(number)s at %(store)s"),
        headline=_("Your refund is on its way"),
        issued=_("Your refund of %(amount)s was sent by bank transfer."),
        issued_with_detail=_(
            "Your refund of %(amount)s was sent by bank transfer to the account ending %(detail)s."
        ),
        detail_label=None,
        note=_("It can take a few working days for your bank to show it."),
        text=_("%(store)s: your refund of %(amount)s for return %(number)s was sent to your bank."),
    ),
    # detail: the store credit code
    "store_credit": ResolutionCopy(
        subject=_("Your store credit for return %(number)s at %(store)s"),
        headline=_("Your store credit is ready"),
        issued=_("Store credit of %(amount)s was added for you at %(store)s."),
        issued_with_detail=None,
        detail_label=_("Store credit code"),
        note=_("Use it at checkout on your next order."),
        text=_("%(store)s: store credit of %(amount)s for return %(number)s is ready."),
    ),
    # detail: the replacement order's number
    "exchange": ResolutionCopy(
        subject=_("Your exchange for return %(number)s at %(store)s"),
        headline=_("Your exchange is on its way"),
        issued=_("Your exchange worth %(amount)s was issued: we are preparing the new items."),
        issued_with_detail=None,
        detail_label=_("Replacement order"),
        note=_("You can follow it on your return page."),
        text=_("%(store)s: your exchange for return %(number)s was issued."),
    ),
}
