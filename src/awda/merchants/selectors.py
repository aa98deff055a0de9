"""Reads about a merchant's people."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model

from awda.merchants.models import Merchant, StaffMembership, StaffRole


def owner_emails(merchant: Merchant) -> list[str]:
    """The e-mail addresses of the merchant's active owners, each once, sorted."""
    owner_ids = StaffMembership.objects.for_merchant(merchant).filter(role=StaffRole.OWNER)
    return sorted(
        {
            email
            for email in get_user_model()
            .objects.filter(pk__in=owner_ids.values("user_id"), is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        }
    )


def staff_language(merchant: Merchant) -> str:
    """The language mails to the store's staff are written in (users have no language of
    their own yet): the store's default when the site offers it, else English."""
    supported = {code for code, _name in settings.LANGUAGES}
    return merchant.default_language if merchant.default_language in supported else "en"
