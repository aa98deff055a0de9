"""Store connections (Shopify, WooCommerce, Zid, Salla, Magento 2): credentials, raw inbound
webhooks, which store order became which Awda order, what didn't add up, and what was pushed
back."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from awda.core.fields import EncryptedTextField
from awda.merchants.models import MerchantOwned
from awda.orders.models import Order


class Platform(models.TextChoices):
    SHOPIFY = "shopify", _("Shopify")
    WOOCOMMERCE = "woocommerce", _("WooCommerce")
    ZID = "zid", _("Zid")
    SALLA = "salla", _("Salla")
    MAGENTO = "magento", _("Magento 2")


class StoreConnection(MerchantOwned):
    """A merchant's store on one platform.

    ``credentials`` is the connector's JSON settings (access token, API key and secret,
    Zid's two tokens) and ``webhook_secret`` the key deliveries are signed with: both
    encrypted at rest, never returned by the API. ``public_id`` names the connection in its
    webhook address (``/hooks/stores/<public_id>/``) and is not itself a secret.
    """

    platform = models.CharField(max_length=20, choices=Platform.choices)
    name = models.CharField(max_length=80)
    base_url = models.URLField(max_length=200)  # https://shop.myshopify.com, the WP site…
    public_id = models.CharField(max_length=32, unique=True)
    credentials = EncryptedTextField(blank=True)
    webhook_secret = EncryptedTextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "platform", "base_url"],
                condition=Q(active=True),
                name="one_active_connection_per_store",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.platform})"


class StoreWebhook(MerchantOwned):
    """A store's webhook delivery, stored raw under its event id once its signature held;
    processed by a job. A delivery whose id is already here is acknowledged and ignored."""

    connection = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=200)
    topic = models.CharField(max_length=80, blank=True)
    body = models.TextField()
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "event_id"], name="store_webhook_once"),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(processed_at__isnull=True),
                name="store_webhook_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.event_id}"


class StoreOrder(MerchantOwned):
    """The store's order id behind an Awda order: outbound calls name the order by it."""

    connection = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=80)
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="+")
    synced_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "external_id"], name="store_order_once"),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.external_id}"


class StoreVariant(MerchantOwned):
    """Where a SKU lives in the store (product and variant ids), learnt from its orders:
    a restock names the store's own ids."""

    connection = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="+")
    sku = models.CharField(max_length=80)
    product_ref = models.CharField(max_length=80)
    variant_ref = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "sku"], name="store_variant_once"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} → {self.product_ref}/{self.variant_ref}"


class SyncIssue(MerchantOwned):
    """Something in a store's payload that didn't add up or couldn't be imported as sent
    (a total that differs from its parts, a fractional quantity): imported anyway where
    possible, and written down for staff. Once per (connection, order, code, field)."""

    connection = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=80)  # the store's order id
    order_number = models.CharField(max_length=40, blank=True)
    code = models.CharField(max_length=40)  # total_mismatch, fractional_quantity, …
    field = models.CharField(max_length=120, blank=True)
    expected = models.CharField(max_length=120, blank=True)
    actual = models.CharField(max_length=120, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_id", "code", "field"], name="sync_issue_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.code} {self.field}"


class PushStatus(models.TextChoices):
    SENT = "sent", _("Sent, answer pending")
    DONE = "done", _("Done")
    REVIEW = "review", _("Needs a person")


class StorePush(MerchantOwned):
    """One call that changes the store (a refund, a stock adjustment, a note), once per key.

    Marked ``sent`` and committed before the call: a row found ``sent`` was asked before
    and its answer lost, so a non-idempotent call (a stock adjustment) is not repeated
    blindly but put before a person, and a refund is looked up first.
    """

    connection = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=160)
    kind = models.CharField(max_length=20)  # refund, restock, note
    status = models.CharField(max_length=10, choices=PushStatus.choices)
    remote_id = models.CharField(max_length=120, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "key"], name="store_push_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.status}"
