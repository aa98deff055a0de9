"""Why a webhook request was refused: stable codes, translated messages."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from awda.core.errors import Conflict, InvalidInput


class UrlNotAllowed(InvalidInput):
    code = "webhook_url_not_allowed"
    default_message = _("Awda can't send webhooks to this address.")


# A reason for each of rules.UrlRefused's codes, shown next to the ``url`` field.
URL_REASONS = {
    "malformed": _("Not a valid URL: give an absolute https:// address."),
    "too_long": _("The URL is too long (2,000 characters at most)."),
    "credentials": _("Leave the user name and password out of the URL."),
    "https_required": _("Use an https:// address: webhooks carry your store's data."),
    "private_address": _(
        "This address is inside a private network (or this server): Awda only sends webhooks "
        "to public addresses."
    ),
}


class UnknownEventType(InvalidInput):
    code = "unknown_event_type"
    default_message = _("Unknown event type. GET /webhooks/event-types lists them.")


class SubscriptionInactive(Conflict):
    code = "webhook_inactive"
    default_message = _(
        'This webhook is disabled: turn it back on (PATCH with "active": true) first.'
    )


class DeliveryInProgress(Conflict):
    code = "delivery_in_progress"
    default_message = _("This delivery is being sent right now: try again in a minute.")
