"""Never more back than was paid for a line (DESIGN §6), in the database: each line stores
what was paid for it and what it has given back (refunds, bank transfers, the base of store
credit), and a CHECK keeps the second within the first."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, connection, transaction

from awda.core.money import Money
from awda.orders.models import LineRefund, OrderLine, Payment
from awda.orders.services import LineRefundExceedsPaid
from awda.payments import services as payments
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.payments.models import BankPayout, Refund, RefundStatus
from awda.policies.document import default_policy, parse_policy
from awda.returns.quote import QuoteLine
from awda.returns.services import ItemRequest, issue_resolutions, request_return
from awda.wallet.models import CreditAccount
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _immediate_merchant() -> factories.Merchant:
    data = default_policy(currency="SAR", country="SA").to_data()
    data["defaults"].update(refund_timing="immediate", return_shipping_paid_by="merchant")
    merchant = factories.merchant(policy=parse_policy(data))
    payments.connect_gateway(merchant=merchant, gateway="sandbox", name="Sandbox", settings={})
    return merchant


def _return(merchant, order, *, quantity=1, resolution="refund", ref="1"):
    return request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref=ref, quantity=quantity, reason="size", resolution=resolution)],
        method="label",
        payout_iban="SA0380000000608010167519",
        payout_name="Noura",
    )


def test_the_database_refuses_a_line_refunded_above_what_was_paid(merchant):
    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    line = OrderLine.objects.get(order=order)
    table = OrderLine._meta.db_table

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET refunded_minor = paid_minor + 1 WHERE id = %s",
            [line.pk],
        )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET refunded_minor = -1 WHERE id = %s",
            [line.pk],
        )


@pytest.mark.parametrize("prices_include_tax", [True, False])
def test_a_line_stores_what_was_paid_for_it_as_the_quote_counts_it(merchant, prices_include_tax):
    order = factories.order(
        merchant,
        lines=[
            factories.line("1", quantity=3, price=3333, discount=100),
            factories.line("2", quantity=1, price=5000),
        ],
        discount=999,
        prices_include_tax=prices_include_tax,
    )
    for line in OrderLine.objects.filter(order=order):
        quoted = QuoteLine(
            line_ref=line.line_ref,
            unit_price=Money(line.unit_price_minor, "SAR"),
            ordered_quantity=line.quantity,
            discount_total=Money(line.discount_minor, "SAR"),
            tax_total=Money(line.tax_minor, "SAR"),
            prices_include_tax=prices_include_tax,
            already_returned_quantity=0,
            return_quantity=1,
            restocking_fee_percent=Decimal(0),
            restocking_fee_flat=Money(0, "SAR"),
            waive_restocking=True,
        )
        assert line.paid_minor == quoted.paid.minor and line.refunded_minor == 0


def test_a_second_return_of_the_same_line_cannot_take_more_than_is_left():
    merchant = _immediate_merchant()
    order = factories.order(
        merchant,
        lines=[factories.line("1", quantity=2, price=5000, discount=1), factories.line("2")],
    )
    first = _return(merchant, order)
    factories.run_jobs()
    line = OrderLine.objects.get(order=order, line_ref="1")
    # Paid 9999 for two units: the first takes 4999.5 rounded half-even.
    assert line.refunded_minor == first.refund_total_minor == 5000
    payment = Payment.objects.get(order=order)

    with pytest.raises(LineRefundExceedsPaid) as refused:
        payments.request_refund(
            merchant=merchant, order_id=order.pk, amount=Money(5000, "SAR"),
            idempotency_key="too-much", reference="R-X", lines=[(line.pk, 5000)],
        )  # fmt: skip

    assert refused.value.code == "line_refund_exceeds_paid" and refused.value.field == "lines"
    assert refused.value.details == {
        "line_ref": "1", "paid_minor": 9999, "refunded_minor": 5000, "requested_minor": 5000,
    }  # fmt: skip
    # Nothing saved: the payment, the refunds and the line are as they were.
    assert Payment.objects.get(pk=payment.pk).refunded_minor == payment.refunded_minor
    assert not Refund.objects.filter(request_key="too-much").exists()
    assert OrderLine.objects.get(pk=line.pk).refunded_minor == 5000

    second = _return(merchant, order)
    factories.run_jobs()
    assert second.refund_total_minor == 4999
    assert OrderLine.objects.get(pk=line.pk).refunded_minor == line.paid_minor == 9999


def test_a_refund_split_over_two_payments_counts_each_part_on_the_lines():
    merchant = _immediate_merchant()
    order = factories.order(
        merchant, lines=[factories.line("1", price=6000), factories.line("2", price=4000)]
    )
    Payment.objects.filter(order=order).update(captured_minor=7000)
    Payment.objects.create(
        merchant=merchant, order=order, gateway="sandbox", reference="pi_gift",
        method="wallet", currency="SAR", captured_minor=3000,
    )  # fmt: skip
    lines = {li.line_ref: li for li in OrderLine.objects.filter(order=order)}

    parts = payments.request_refund(
        merchant=merchant, order_id=order.pk, amount=Money(10000, "SAR"),
        idempotency_key="both", reference="R-1",
        lines=[(lines["1"].pk, 6000), (lines["2"].pk, 4000)],
    )  # fmt: skip

    rows = {(r.key, r.order_line_id): r.amount_minor for r in LineRefund.objects.all()}
    by_part = {p.idempotency_key: 0 for p in parts}
    for (key, _line), amount in rows.items():
        by_part[key] += amount
    assert by_part == {p.idempotency_key: p.amount_minor for p in parts}
    assert sum(a for (_k, line), a in rows.items() if line == lines["1"].pk) == 6000
    assert sum(a for (_k, line), a in rows.items() if line == lines["2"].pk) == 4000


def test_a_refund_the_gateway_refuses_gives_its_lines_back():
    merchant = _immediate_merchant()
    payments.connect_gateway(
        merchant=merchant, gateway="sandbox", name="Sandbox", settings={"refund_outcome": "fail"}
    )
    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    ret = _return(merchant, order)
    factories.run_jobs()

    assert Refund.objects.get(reference=ret.number).status == RefundStatus.REVIEW
    line = OrderLine.objects.get(order=order)
    assert line.refunded_minor == 0
    assert LineRefund.objects.get().released_at is not None
    # Released once: a second release gives nothing back again.
    from awda.orders.services import release_line_refunds

    assert release_line_refunds(merchant_id=merchant.pk, key=LineRefund.objects.get().key) == 0


def test_a_bank_transfer_counts_on_the_line_once():
    merchant = _immediate_merchant()
    order = factories.order(
        merchant, lines=[factories.line("1", price=20000)], payment_method="cash_on_delivery"
    )
    ret = _return(merchant, order)
    factories.run_jobs()
    issue_resolutions(return_id=ret.pk, trigger="ReturnApproved")  # a replayed job

    assert BankPayout.objects.get().amount_minor == ret.refund_total_minor
    assert OrderLine.objects.get(order=order).refunded_minor == ret.refund_total_minor
    assert LineRefund.objects.get().kind == "bank_transfer"


def test_store_credit_counts_its_base_on_the_line_not_the_bonus():
    merchant = _immediate_merchant()
    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    ret = _return(merchant, order, resolution="store_credit")
    factories.run_jobs()
    issue_resolutions(return_id=ret.pk, trigger="ReturnApproved")  # a replayed job

    assert CreditAccount.objects.get().balance_minor == ret.store_credit_total_minor > 20000
    assert OrderLine.objects.get(order=order).refunded_minor == ret.refund_total_minor == 20000
    assert LineRefund.objects.get().kind == "store_credit"


def test_the_lines_must_add_up_to_the_refund(merchant):
    from awda.core.errors import InvalidInput

    order = factories.order(merchant, lines=[factories.line("1", price=20000)])
    line = OrderLine.objects.get(order=order)

    with pytest.raises(InvalidInput) as refused:
        payments.request_refund(
            merchant=merchant, order_id=order.pk, amount=Money(5000, "SAR"),
            idempotency_key="k", reference="R-1", lines=[(line.pk, 4000)],
        )  # fmt: skip

    assert refused.value.field == "lines"


def test_the_upgrade_counts_money_sent_before_lines_kept_count_the_same_way():
    merchant = _immediate_merchant()
    card = factories.order(
        merchant, lines=[factories.line("1", price=20000), factories.line("2", price=5000)]
    )
    cod = factories.order(
        merchant, lines=[factories.line("1", price=8000)], payment_method="cash_on_delivery"
    )
    request_return(
        merchant=merchant,
        order_number=card.number,
        items=[
            ItemRequest(line_ref="1", quantity=1, reason="size", resolution="refund"),
            ItemRequest(line_ref="2", quantity=1, reason="size", resolution="store_credit"),
        ],
        method="label",
    )
    _return(merchant, cod)
    factories.run_jobs()
    counted = sorted(
        LineRefund.objects.values_list("key", "kind", "order_line_id", "amount_minor", "reference")
    )
    refunded = dict(OrderLine.objects.values_list("pk", "refunded_minor"))
    assert len(counted) == 3 and all(refunded.values())

    # As before the upgrade: no rows, nothing counted.
    LineRefund.objects.all().delete()
    OrderLine.objects.update(refunded_minor=0)
    migration = importlib.import_module(
        "awda.returns.migrations.0005_inspection_review_and_line_refunds"
    )
    migration.count_money_already_sent(django_apps, None)

    assert (
        sorted(
            LineRefund.objects.values_list(
                "key", "kind", "order_line_id", "amount_minor", "reference"
            )
        )
        == counted
    )
    assert dict(OrderLine.objects.values_list("pk", "refunded_minor")) == refunded
