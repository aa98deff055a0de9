"""Domain errors of store credit, each with a stable code."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from awda.core.errors import Conflict, DomainError, NotFound


class UnknownCode(NotFound):
    # The same answer for a code that never existed, was replaced or belongs to another
    # store: nothing tells a guesser which.
    default_message = _("No store credit was found for this code.")


class InsufficientCredit(DomainError):
    code = "insufficient_credit"
    default_message = _("There isn't enough store credit for this amount.")


class CreditCurrencyMismatch(DomainError):
    code = "currency_mismatch"
    default_message = _("This store credit is in another currency.")


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = _(
        "This idempotency key was already used for a different request (another amount, "
        "code or customer)."
    )
