"""A product crossing the analytics' return-rate threshold reaches the store's owners: a
mail in the store's language, and a ``product.flagged`` webhook for subscribers."""

from __future__ import annotations

import pytest
from django.db import transaction

from awda.core.outbox import record_event
from awda.merchants.models import Merchant, StaffRole
from awda.merchants.services import add_staff
from awda.webhooks import rules
from tests import factories

pytestmark = pytest.mark.django_db

PAYLOAD = {
    "flag_id": 1,
    "product_id": 7,
    "external_id": "TEE-RED",
    "title": "Red tee",
    "sold_units": 120,
    "returned_units": 48,
    "return_rate": 0.4,
    "lower_bound": 0.3178,
    "category_rate": 0.08,
    "period_start": "2026-08-27",
    "period_end": "2026-11-24",
}


def _flag(merchant: Merchant) -> None:
    with transaction.atomic():
        record_event("ProductFlagged", PAYLOAD, merchant_id=merchant.pk, aggregate_type="product")
    factories.run_jobs()


def test_the_owners_get_the_flag_in_the_stores_language(smtp):
    merchant = factories.merchant()
    Merchant.objects.filter(pk=merchant.pk).update(default_language="en")
    add_staff(merchant=merchant, username="o1", email="owner@example.com",
              password="a long test password", role=StaffRole.OWNER)  # fmt: skip
    add_staff(merchant=merchant, username="a1", email="agent@example.com",
              password="a long test password", role=StaffRole.AGENT)  # fmt: skip
    _flag(merchant)

    (mail,) = smtp.received
    assert mail.rcpt_tos == ["owner@example.com"]
    assert mail.subject == "Red tee is returned far more often than its category"
    text = mail.text.replace("\r\n", " ")
    assert "48 of 120 units sold came back (40%; at least 31.8%" in text
    assert "against 8% for its category" in text


def test_an_arabic_store_writes_it_in_arabic(smtp):
    merchant = factories.merchant()  # the factory's stores default to Arabic
    add_staff(merchant=merchant, username="o2", email="owner2@example.com",
              password="a long test password", role=StaffRole.OWNER)  # fmt: skip
    _flag(merchant)

    (mail,) = smtp.received
    assert '<html lang="ar" dir="rtl">' in mail.html
    assert "Red tee" in mail.subject and "is returned" not in mail.subject


def test_subscribers_get_it_as_product_flagged_without_internal_ids():
    assert rules.PUBLIC_NAME_FOR["ProductFlagged"] == "product.flagged"
    data = rules.public_data("ProductFlagged", PAYLOAD)
    assert data["external_id"] == "TEE-RED" and data["lower_bound"] == 0.3178
    assert "flag_id" not in data and "product_id" not in data
