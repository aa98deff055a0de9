"""An exchange is issued when the policy's refund timing comes: one replacement order, and
its price difference settled once, the way the policy says — a payment link (the
replacement held until paid), cash on delivery, a refund, a bank transfer or store credit."""

from __future__ import annotations

import pytest

from awda.catalog.models import Stock
from awda.core.models import Event
from awda.exchanges import services as exchanges
from awda.exchanges.models import (
    DifferenceHandling,
    Exchange,
    ExchangePayment,
    ExchangeStatus,
    PaymentPurpose,
    PaymentStatus,
    ReservationStatus,
)
from awda.orders.models import Order, OrderKind, Payment, PaymentMethod, ReplacementStatus
from awda.payments.gateways import sandbox as sandbox_gateway
from awda.payments.gateways.sandbox import SandboxGateway
from awda.payments.models import BankPayout, Refund
from awda.policies.document import parse_policy
from awda.policies.selectors import active_policy
from awda.policies.services import replace_policy
from awda.returns.models import TimelineEntry
from awda.returns.reports import money_report
from awda.returns.services import issue_resolutions
from awda.shipping import services as shipping
from awda.wallet.models import CreditAccount, LedgerEntry
from tests import factories
from tests.exchanges.helpers import deliver, exchange, shop, status_page, tee_order

pytestmark = pytest.mark.django_db

IBAN = "SA0380000000608010167519"


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    sandbox_gateway.reset_sandbox()
    yield
    sandbox_gateway.reset_sandbox()


def _replacement() -> Order:
    return Order.objects.get(kind=OrderKind.REPLACEMENT)


def _issued(merchant, sku, *, payment_method="card", payout_iban=""):
    order = tee_order(merchant, payment_method=payment_method)
    ret = exchange(merchant, order, sku, payout_iban=payout_iban)
    factories.run_jobs()  # the label; the default timing ("delivered") holds the exchange
    assert Exchange.objects.get(return_id=ret.pk).status == ExchangeStatus.RESERVED
    assert not Order.objects.filter(kind=OrderKind.REPLACEMENT).exists()
    deliver(ret)
    return order, ret, Exchange.objects.get(return_id=ret.pk)


def test_the_same_price_replacement_ships_when_the_parcel_is_delivered():
    merchant = shop()
    order, ret, ex = _issued(merchant, "TEE-L")

    replacement = _replacement()
    assert (ex.status, ex.difference_handling) == (ExchangeStatus.ISSUED, DifferenceHandling.NONE)
    assert ex.replacement_order == replacement
    assert replacement.number == f"{ret.number}-X" and replacement.replaces == order
    assert replacement.replacement_status == ReplacementStatus.READY
    assert (replacement.total_minor, replacement.exchange_credit_minor) == (20000, 20000)
    assert replacement.collect_on_delivery_minor == 0
    (line,) = replacement.lines.all()
    assert (line.sku, line.quantity, line.unit_price_minor, line.delivered_quantity) == (
        "TEE-L", 1, 20000, 0,
    )  # fmt: skip
    # The reserved unit left with the order: no longer held, no longer on hand.
    stock = Stock.objects.get(variant__sku="TEE-L")
    assert (stock.on_hand, stock.reserved) == (4, 0)
    assert set(ex.reservations.values_list("status", flat=True)) == {ReservationStatus.CONSUMED}
    created = Event.objects.get(name="ReplacementOrderCreated")
    assert created.payload["number"] == replacement.number
    assert created.payload["reference"] == ret.number
    assert Event.objects.filter(name="ExchangeIssued").count() == 1
    assert TimelineEntry.objects.filter(return_request=ret, kind="exchange_issued").count() == 1
    assert not Refund.objects.exists() and not CreditAccount.objects.exists()


def test_a_dearer_replacement_paid_on_delivery_is_collected_in_cash_by_the_courier():
    merchant = shop(exchange_price_higher="collect_on_delivery")
    order, ret, ex = _issued(merchant, "TEE-XL")

    replacement = _replacement()
    assert ex.difference_handling == DifferenceHandling.COLLECT_ON_DELIVERY
    assert replacement.payment_method == PaymentMethod.CASH_ON_DELIVERY
    assert replacement.total_minor == 26000
    assert (replacement.exchange_credit_minor, replacement.collect_on_delivery_minor) == (
        20000, 6000,
    )  # fmt: skip
    assert replacement.replacement_status == ReplacementStatus.READY
    assert not ExchangePayment.objects.exists()
    page = status_page(merchant, order, ret)
    assert "The difference of SAR\u00a060.00 will be collected in cash on delivery." in page


def test_a_dearer_replacement_by_payment_link_is_held_until_the_link_is_paid():
    merchant = shop()  # the default: charge_link
    order, ret, ex = _issued(merchant, "TEE-XL")

    replacement = _replacement()
    assert ex.status == ExchangeStatus.AWAITING_PAYMENT
    assert replacement.replacement_status == ReplacementStatus.HELD
    payment = ExchangePayment.objects.get()
    assert (payment.purpose, payment.status, payment.amount_minor) == (
        PaymentPurpose.DIFFERENCE, PaymentStatus.SENT, 6000,
    )  # fmt: skip
    assert payment.url.startswith(sandbox_gateway.LINK_BASE_URL)
    assert payment.idempotency_key == f"return-{ret.pk}-exchange-difference"
    # Still only held: a replacement never paid for gives its unit back.
    assert Stock.objects.get(variant__sku="TEE-XL").reserved == 1
    page = status_page(merchant, order, ret)
    assert "Pay the difference of SAR\u00a060.00 with this link" in page
    assert f'href="{payment.url}"' in page

    # The gateway tells us, signed, that the link was paid (the sandbox's own event).
    gateway = SandboxGateway({"webhook_secret": "s3"})
    headers, body = gateway.build_webhook(paid_link_id=payment.link_id)
    gateway.verify_webhook(headers=headers, body=body)
    paid_link = gateway.parse_webhook(body=body).paid_link_id
    exchanges.mark_exchange_paid(merchant_id=merchant.pk, link_id=paid_link)
    exchanges.mark_exchange_paid(merchant_id=merchant.pk, link_id=paid_link)  # a redelivery
    factories.run_jobs()

    ex.refresh_from_db()
    replacement.refresh_from_db()
    assert ex.status == ExchangeStatus.ISSUED
    assert replacement.replacement_status == ReplacementStatus.READY
    (paid,) = Payment.objects.filter(order=replacement)
    assert (paid.gateway, paid.reference, paid.captured_minor) == ("sandbox", payment.link_id, 6000)
    stock = Stock.objects.get(variant__sku="TEE-XL")
    assert (stock.on_hand, stock.reserved) == (4, 0)
    assert Event.objects.filter(name="ExchangeDifferencePaid").count() == 1
    page = status_page(merchant, order, ret)
    assert "the difference of SAR\u00a060.00 was paid" in page
    assert f'href="{payment.url}"' not in page  # paid: not offered again


def test_a_link_for_an_unknown_payment_changes_nothing():
    merchant = shop()
    assert exchanges.mark_exchange_paid(merchant_id=merchant.pk, link_id="sbx_link_nope") is None


def test_a_cheaper_replacement_refunds_the_difference_to_the_card_once():
    merchant = shop()
    order, ret, ex = _issued(merchant, "TEE-S")

    assert (ex.difference_minor, ex.difference_handling) == (-5000, DifferenceHandling.REFUND)
    for trigger in ("ParcelDelivered", "ParcelDelivered"):  # replayed jobs
        assert issue_resolutions(return_id=ret.pk, trigger=trigger) == []
    factories.run_jobs()
    refund = Refund.objects.get()
    assert (refund.amount_minor, refund.request_key, refund.reference) == (
        5000, f"return-{ret.pk}-exchange-difference", ret.number,
    )  # fmt: skip
    assert refund.status == "succeeded"
    assert Order.objects.filter(kind=OrderKind.REPLACEMENT).count() == 1
    page = status_page(merchant, order, ret)
    assert "the difference of SAR\u00a050.00 is being refunded" in page
    assert "Your refund of SAR\u00a050.00 was issued" in page


def test_a_cheaper_replacement_of_a_cash_on_delivery_order_goes_by_bank_transfer():
    merchant = shop()
    _order, ret, ex = _issued(
        merchant, "TEE-S", payment_method="cash_on_delivery", payout_iban=IBAN
    )

    assert ex.difference_handling == DifferenceHandling.BANK_TRANSFER
    payout = BankPayout.objects.get()
    assert (payout.amount_minor, payout.idempotency_key, payout.creditor_iban) == (
        5000, f"return-{ret.pk}-exchange-transfer", IBAN,
    )  # fmt: skip
    assert not Refund.objects.exists()


def test_without_a_bank_account_the_difference_of_a_cash_order_is_store_credit():
    merchant = shop()
    _order, _ret, ex = _issued(merchant, "TEE-S", payment_method="cash_on_delivery")

    assert ex.difference_handling == DifferenceHandling.STORE_CREDIT
    assert CreditAccount.objects.get().balance_minor == 5000
    assert not BankPayout.objects.exists() and not Refund.objects.exists()


def test_a_policy_that_credits_the_difference_grants_store_credit_once():
    merchant = shop(exchange_price_lower="credit_difference")
    order, ret, ex = _issued(merchant, "TEE-S")
    issue_resolutions(return_id=ret.pk, trigger="ParcelDelivered")
    factories.run_jobs()

    assert ex.difference_handling == DifferenceHandling.STORE_CREDIT
    assert CreditAccount.objects.get().balance_minor == 5000  # no bonus on a difference
    assert not Refund.objects.exists()
    page = status_page(merchant, order, ret)
    assert "the difference of SAR\u00a050.00 was added to your store credit" in page


def test_a_credited_difference_lasts_as_long_as_the_policys_store_credit():
    merchant = shop(exchange_price_lower="credit_difference")
    document = active_policy(merchant=merchant)[1].to_data()
    document["store_credit_expiry_days"] = 90
    replace_policy(merchant=merchant, document=parse_policy(document))
    _order, ret, _ex = _issued(merchant, "TEE-S")
    issue_resolutions(return_id=ret.pk, trigger="ParcelDelivered")
    factories.run_jobs()

    (entry,) = LedgerEntry.objects.all()
    assert entry.amount_minor == 5000
    assert entry.expires_at is not None
    assert (entry.expires_at - entry.created_at).days == 90


def test_repeated_triggers_make_one_replacement_and_move_the_money_once():
    merchant = shop(refund_timing="immediate")
    order = tee_order(merchant)
    ret = exchange(merchant, order, "TEE-S")

    for _ in range(3):
        factories.run_jobs()
        issue_resolutions(return_id=ret.pk, trigger="ReturnApproved")
    exchanges.issue_exchange(return_id=ret.pk)

    assert Order.objects.filter(kind=OrderKind.REPLACEMENT).count() == 1
    assert Refund.objects.count() == 1
    assert Event.objects.filter(name="ExchangeIssued").count() == 1
    assert TimelineEntry.objects.filter(return_request=ret, kind="exchange_issued").count() == 1
    stock = Stock.objects.get(variant__sku="TEE-S")
    assert (stock.on_hand, stock.reserved) == (4, 0)


def test_the_money_report_counts_a_refunded_difference_as_promised():
    merchant = shop()
    _issued(merchant, "TEE-S")
    factories.run_jobs()

    today = factories.today_at(merchant)
    report = money_report(merchant=merchant, start=today, end=today)

    assert report.mismatches == []
    assert sum(d.refunded_minor for d in report.days) == 5000


def test_without_a_gateway_for_links_a_dearer_exchange_goes_to_review_and_frees_its_units():
    merchant = factories.merchant()  # no payment gateway connected
    shipping.connect_carrier(merchant=merchant, carrier="sandbox", name="Sandbox", settings={})
    order = tee_order(merchant)
    ret = exchange(merchant, order, "TEE-XL")
    factories.run_jobs()
    deliver(ret)

    ex = Exchange.objects.get(return_id=ret.pk)
    assert (ex.status, ex.note) == (ExchangeStatus.REVIEW, "payment_link_failed")
    assert ExchangePayment.objects.get().status == PaymentStatus.FAILED
    assert _replacement().replacement_status == ReplacementStatus.CANCELLED
    stock = Stock.objects.get(variant__sku="TEE-XL")
    assert (stock.on_hand, stock.reserved) == (5, 0)
    assert "The store is checking your exchange" in status_page(merchant, order, ret)


def test_a_keep_item_exchange_ships_at_once_and_expects_nothing_back():
    merchant = shop(methods=["label", "keep_item"], keep_item_threshold_minor=50000)
    order = tee_order(merchant)
    ret = exchange(merchant, order, "TEE-L", method="keep_item")

    factories.run_jobs()

    ex = Exchange.objects.get(return_id=ret.pk)
    assert (ex.status, ex.originals) == (ExchangeStatus.ISSUED, "kept")
    assert _replacement().replacement_status == ReplacementStatus.READY
