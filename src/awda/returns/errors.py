"""Domain errors of returns, each with a stable code."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from awda.core.errors import DomainError


class WindowExpired(DomainError):
    code = "window_expired"
    default_message = _("The return window for this item has closed.")


class FinalSale(DomainError):
    code = "final_sale"
    default_message = _("This item was sold as final sale and can't be returned.")


class NotReturnable(DomainError):
    code = "not_returnable"
    default_message = _("This item can't be returned.")


class NotDelivered(DomainError):
    code = "not_delivered"
    default_message = _("This item hasn't been delivered yet.")


class QuantityExceedsReturnable(DomainError):
    code = "quantity_exceeds_returnable"
    default_message = _("The quantity is more than can still be returned for this item.")


class ResolutionNotAllowed(DomainError):
    code = "resolution_not_allowed"
    default_message = _("This resolution isn't offered for this item.")


class MethodNotAllowed(DomainError):
    code = "method_not_allowed"
    default_message = _("This return method isn't offered for these items.")


class UnknownReason(DomainError):
    code = "unknown_reason"
    default_message = _("Unknown return reason.")


class ExchangeNotAllowed(DomainError):
    code = "exchange_not_allowed"
    default_message = _("This exchange isn't possible.")


class RefundRefused(DomainError):
    """The gateway refused a refund the return sent (its words are the message)."""

    code = "refund_refused"
    default_message = _("The payment gateway refused the refund.")


BLOCKING_ERRORS: dict[str, type[DomainError]] = {
    "window_expired": WindowExpired,
    "final_sale": FinalSale,
    "not_returnable": NotReturnable,
    "not_delivered": NotDelivered,
}
