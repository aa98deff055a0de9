"""Merchants (tenants), their staff roles and API keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from awda.core.tenancy import MerchantQuerySet


class Merchant(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    name_ar = models.CharField(max_length=120, blank=True)
    currency = models.CharField(max_length=3, default="SAR")
    country = models.CharField(max_length=2, default="SA")
    default_language = models.CharField(max_length=5, default="ar")
    timezone = models.CharField(max_length=60, default="Asia/Riyadh")
    arabic_digits = models.BooleanField(
        default=False,
        help_text=_(
            "Show numbers, prices and dates in Arabic-Indic digits (٠١٢٣) on Arabic pages."
        ),
    )
    hijri_dates = models.BooleanField(
        default=False,
        help_text=_("Show dates on the shopper portal in the Hijri (Umm al-Qura) calendar."),
    )
    logo_url = models.URLField(blank=True)
    # The logo printed on return labels: a small image uploaded once, re-encoded without
    # metadata, kept here so a label never fetches a URL (slow, and a way into the network).
    label_logo = models.BinaryField(blank=True, default=b"", editable=False)
    primary_color = models.CharField(max_length=7, default="#0F766E")
    return_address = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class MerchantOwned(models.Model):
    """Every row of merchant data carries its merchant; queries go through ``for_merchant``."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")

    objects = MerchantQuerySet.as_manager()

    class Meta:
        abstract = True


class StaffRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    AGENT = "agent", _("Support agent")
    WAREHOUSE = "warehouse", _("Warehouse")
    ANALYST = "analyst", _("Analyst")


class StaffMembership(MerchantOwned):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=StaffRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "user"], name="one_role_per_merchant"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant_id} ({self.role})"


class ApiKey(MerchantOwned):
    """A bearer key ``awda_<prefix>_<secret>``; only a hash of the secret is stored."""

    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Scope names from ``merchants.scopes`` (``["*"]`` is full access); a JSON list so the
    # same column works on SQLite and PostgreSQL. Empty allows nothing.
    scopes = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"
