"""Cash-on-delivery refunds go back by bank transfer: queued at the refund timing, put in a
pain.001 file that validates against ISO 20022's schema, and told to the shopper when paid."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from awda.core.models import Event
from awda.payments.models import BankPayout, PayoutStatus
from awda.returns.models import TimelineEntry
from awda.returns.services import ItemRequest, issue_resolutions, request_return
from tests import factories

pytestmark = pytest.mark.django_db

XSD = Path(__file__).resolve().parents[1] / "fixtures/iso20022/pain.001.001.09.xsd"
SHOPPER_IBAN = "SA0380000000608010167519"
MERCHANT_IBAN = "SA4420000001234567891234"


def _cod_return(merchant):
    order = factories.order(
        merchant,
        lines=[factories.line("1", quantity=1, price=20000)],
        payment_method="cash_on_delivery",
    )
    ret = request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason="size", sub_reason="too_small")],
        method="label",
        payout_iban=SHOPPER_IBAN,
        payout_name="نورة العتيبي",
    )
    assert issue_resolutions(return_id=ret.pk, trigger="ParcelDelivered") == ["bank_transfer"]
    issue_resolutions(return_id=ret.pk, trigger="ParcelDelivered")  # a replayed job
    return ret


def test_a_cod_refund_waits_for_the_next_transfer_file_once(merchant):
    ret = _cod_return(merchant)
    payout = BankPayout.objects.get()
    assert payout.amount_minor == ret.refund_total_minor and payout.status == PayoutStatus.PENDING
    assert payout.creditor_iban == SHOPPER_IBAN  # readable here, encrypted in the column
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT creditor_iban FROM payments_bankpayout")
        assert SHOPPER_IBAN not in cursor.fetchone()[0]


def test_the_transfer_file_validates_and_paying_it_tells_the_shopper(api, merchant):
    ret = _cod_return(merchant)
    created = api.post(
        "/payout-files",
        {"currency": "SAR", "debtor_name": "Awda Demo Fashion", "debtor_iban": MERCHANT_IBAN},
    )
    assert created.status_code == 201 and created.json()["count"] == 1
    file_id = created.json()["id"]

    xml = api.get(f"/payout-files/{file_id}/content").content
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    document = etree.fromstring(xml)
    assert schema.validate(document), schema.error_log
    assert SHOPPER_IBAN.encode() in xml and "نورة العتيبي".encode() in xml
    csv = api.get(f"/payout-files/{file_id}/content?format=csv").content.decode("utf-8-sig")
    assert SHOPPER_IBAN in csv

    again = api.post(
        "/payout-files",
        {"currency": "SAR", "debtor_name": "Awda Demo Fashion", "debtor_iban": MERCHANT_IBAN},
    )
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_transfer"

    paid = api.post(f"/payout-files/{file_id}/paid")
    api.post(f"/payout-files/{file_id}/paid")  # twice: once
    factories.run_jobs()
    assert paid.status_code == 200 and paid.json()["paid_at"]
    assert BankPayout.objects.get().status == PayoutStatus.PAID
    entry = TimelineEntry.objects.get(return_request=ret, kind="refund_issued")
    assert entry.data["iban_last4"] == SHOPPER_IBAN[-4:]
    assert Event.objects.filter(name="BankTransferPaid").count() == 1


def test_a_file_with_a_bad_merchant_iban_is_refused_with_the_field(api, merchant):
    _cod_return(merchant)
    response = api.post(
        "/payout-files",
        {"currency": "SAR", "debtor_name": "Awda", "debtor_iban": "SA0000000000000000000000"},
    )
    assert response.status_code == 422
    problems = response.json()["details"]["problems"]
    assert any(p["field"] == "debtor_iban" for p in problems)
    assert BankPayout.objects.get().status == PayoutStatus.PENDING  # nothing lost


def test_another_merchants_file_is_not_found(api, merchant):
    other = factories.merchant()
    _cod_return(other)
    other_api = factories.ApiClient(factories.api_key(other))
    created = other_api.post(
        "/payout-files", {"currency": "SAR", "debtor_name": "Other", "debtor_iban": MERCHANT_IBAN}
    )
    assert api.get(f"/payout-files/{created.json()['id']}/content").status_code == 404
