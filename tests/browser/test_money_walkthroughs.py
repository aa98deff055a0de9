"""Money back, end to end in the demo store, in Arabic and in English (issue 5, "Must show"):
a card refund at the carrier's first scan; a cash-on-delivery refund by bank transfer in a
pain.001 file that validates against ISO 20022's schema; store credit with the policy's 10%
bonus, mailed with its code and then partly spent at the store's checkout; an exchange for a
dearer item, its difference collected in cash when the replacement is delivered.

Each test walks the order the demo prints for it (``awda.demo.prepare_money_walkthroughs``;
docs/demo-money.md is the same walk by hand): the shopper in Chromium, the worker
(``run_jobs``), the sandbox carrier (``awda sandbox advance``) and gateway, the merchant's API
calls over HTTP with the demo's key, and a real SMTP server. Every page is screenshotted and
checked with axe, the Arabic ones asserted right-to-left; the mail that says the money went
is opened in the browser and screenshotted too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import translation
from lxml import etree  # type: ignore[import-untyped]  # no stubs; test-only dependency
from playwright.sync_api import Page

from awda.catalog.models import Stock, Variant
from awda.core import clock
from awda.core.formatting import format_money
from awda.core.iban import normalise_iban
from awda.demo import (
    CARD_REFUND,
    COD_TRANSFER,
    EXCHANGE_ON_DELIVERY,
    STORE_CREDIT,
    WALKTHROUGH_CARD_LAST4,
    WalkthroughOrder,
    prepare_money_walkthroughs,
    seed_demo,
)
from awda.exchanges.models import Exchange, ReservationStatus, StockReservation
from awda.merchants.branding import storefront
from awda.merchants.models import Merchant
from awda.notifications.steps import RESOLUTIONS
from awda.orders.models import Order, OrderKind, Payment, PaymentMethod, ReplacementStatus
from awda.payments.models import BankPayout, PayoutStatus, Refund, RefundStatus
from awda.returns.models import Return
from awda.wallet.models import CreditAccount, LedgerEntry
from awda.wallet.selectors import ledger_sum, trial_balance
from tests import factories
from tests.browser.helpers import assert_ltr, assert_rtl, axe_check, save_artifact, snap
from tests.notifications.conftest import Inbox, Received

LANGS = ["ar", "en"]
TEXT = {
    "en": {
        "find": "Find my order",
        "continue": "Continue",
        "confirm": "Confirm the return",
        "download": "Download the label (4×6 in)",
    },
    "ar": {
        "find": "ابحث عن طلبي",
        "continue": "متابعة",
        "confirm": "تأكيد الإرجاع",
        "download": "تنزيل الملصق (4×6 بوصات)",
    },
}
SHOPPER_IBAN = "SA03 8000 0000 6080 1016 7519"
MERCHANT_IBAN = "SA4420000001234567891234"
XSD = Path(__file__).resolve().parents[1] / "fixtures" / "iso20022" / "pain.001.001.09.xsd"
PAIN = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
# A store-credit code as the shopper gets it: five groups of four (awda.wallet.rules).
CODE = re.compile(r"\b[2-9A-HJ-NP-Z]{4}(?:-[2-9A-HJ-NP-Z]{4}){4}\b")
# Direction marks around amounts and dates; compared without them and with plain spaces.
_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u2066\u2067\u2068\u2069"), None)


def plain(text: str) -> str:
    return " ".join(text.translate(_MARKS).split())


def said(lang: str, msgid: str, **values: str) -> str:
    """A sentence of the portal's as a shopper reading ``lang`` sees it."""
    with translation.override(lang):
        return plain(translation.gettext(msgid) % values)


# -- the demo and its shopper ---------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    url: str
    merchant: Merchant
    api_key: str
    orders: list[WalkthroughOrder]

    def order(self, kind: str, lang: str) -> WalkthroughOrder:
        return next(o for o in self.orders if o.kind == kind and o.language == lang)

    def api(self) -> httpx.Client:
        """The merchant's own systems calling Awda's API over HTTP, with the demo's key."""
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=30,
        )

    def amount(self, minor: int, lang: str) -> str:
        """Money as the portal and the mails write it for ``lang`` and this store."""
        return plain(
            format_money(
                minor, self.merchant.currency, lang, arabic_digits=self.merchant.arabic_digits
            )
        )


@pytest.fixture
def demo(live_server, settings) -> Demo:
    # The owner's password is hashed at every seed; a slow hasher only costs time here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    info = seed_demo(orders=20, progress=False)
    orders = prepare_money_walkthroughs(slug=info.merchant_slug)
    # The seeded history's own events (earlier returns' labels and mails), so that what the
    # worker does in a test below is the walk-through's.
    factories.run_jobs()
    merchant = Merchant.objects.get(slug=info.merchant_slug)
    return Demo(live_server.url, merchant, info.api_key, orders)


class Shopper:
    """The shopper of one walk-through in the portal, in its language; every page they
    reach is checked: direction, a screenshot, axe."""

    def __init__(self, demo: Demo, new_page: Callable[..., Page], kind: str, lang: str) -> None:
        self.demo = demo
        self.new_page = new_page
        self.order = demo.order(kind, lang)
        self.lang = lang
        self.t = TEXT[lang]
        self.page = new_page(lang)

    def check(self, name: str) -> None:
        page = self.page
        (assert_rtl if self.lang == "ar" else assert_ltr)(page, page.locator("main"))
        snap(page, name)
        axe_check(page, f"{name}-axe")

    def reads(self) -> str:
        return plain(self.page.inner_text("main"))

    def find_order(self) -> None:
        page = self.page
        page.goto(f"{self.demo.url}/{self.lang}/r/{self.demo.merchant.slug}/")
        self.check("find-order")
        page.fill("#id_order_number", self.order.number)
        page.fill("#id_contact", self.order.email)
        page.get_by_role("button", name=self.t["find"]).click()
        page.wait_for_url(f"**/orders/{self.order.number}/")

    def pick_the_item(self, reason: str = "too_small") -> None:
        page = self.page
        page.check('input[name="sel-1"]')
        page.select_option("#reason-1", reason)
        self.check("items")
        page.get_by_role("button", name=self.t["continue"]).click()
        page.wait_for_url("**/resolution/")

    def choose(self, resolution: str, name: str, **fields: str) -> None:
        page = self.page
        page.check(f'input[name="resolution"][value="{resolution}"]')
        for field_id, value in fields.items():
            page.fill(f"#{field_id}", value)
        self.check(name)
        page.get_by_role("button", name=self.t["continue"]).click()
        page.wait_for_url("**/method/")

    def exchange_for(self, sku: str, name: str) -> None:
        """Choose an exchange, and ``sku`` in the item's picker."""
        page = self.page
        page.check('input[name="resolution"][value="exchange"]')
        page.select_option("#exchange-1", sku)
        self.check(name)
        page.get_by_role("button", name=self.t["continue"]).click()
        page.wait_for_url("**/method/")

    def send_it_with_a_label(self, reviewed: Callable[[str], None] | None = None) -> Return:
        """Print a label, review (``reviewed`` reads the review page), confirm."""
        page = self.page
        page.check('input[name="method"][value="label"]')
        self.check("method")
        page.get_by_role("button", name=self.t["continue"]).click()
        page.wait_for_url("**/review/")
        self.check("review")
        if reviewed is not None:
            reviewed(self.reads())
        page.get_by_role("button", name=self.t["confirm"]).click()
        page.wait_for_url("**/returns/**")
        ret = Return.objects.for_merchant(self.demo.merchant).get(order__number=self.order.number)
        assert ret.number in page.content() and ret.language == self.lang
        self.check("confirmed")
        return ret

    def label_is_ready(self, ret: Return) -> str:
        """The worker gets the label from the carrier; the tracking number on it."""
        factories.run_jobs()
        # The status page as the shopper comes back to it (not the "just confirmed" one).
        self.page.goto(self.page.url.split("?")[0])
        self.page.get_by_role("link", name=self.t["download"]).wait_for()
        self.check("label-ready")
        return str(ret.shipments.get().tracking_number)

    def parcel_moves(self, tracking: str, to: str, name: str) -> None:
        """The sandbox carrier scans the parcel; the worker runs; the page is looked at again."""
        call_command("sandbox", "advance", tracking, "--to", to)
        factories.run_jobs()
        self.page.reload()
        self.check(name)

    def mail_saying(self, smtp: Inbox, sentence: str, name: str) -> Received:
        """The one mail to this shopper that says ``sentence``, opened in the browser: in the
        shopper's language and direction, screenshotted."""
        mine = [m for m in smtp.received if self.order.email in m.rcpt_tos]
        found = [m for m in mine if sentence in plain(m.text)]
        assert len(found) == 1, (sentence, [m.subject for m in mine])
        mail = found[0]
        viewer = self.new_page(self.lang)
        viewer.set_content(mail.html)
        wrapper = viewer.locator("body > div").first
        (assert_rtl if self.lang == "ar" else assert_ltr)(viewer, wrapper, lang=self.lang)
        snap(viewer, name)
        return mail


def mail_sentence(demo: Demo, lang: str, kind: str, amount_minor: int, detail: str = "") -> str:
    """What the money mail of ``kind`` says, in ``lang`` (notifications.steps.RESOLUTIONS)."""
    copy = RESOLUTIONS[kind]
    sentence = copy.issued_with_detail if detail and copy.issued_with_detail else copy.issued
    with translation.override(lang):
        values = {
            "amount": format_money(
                amount_minor,
                demo.merchant.currency,
                lang,
                arabic_digits=demo.merchant.arabic_digits,
            ),
            "detail": detail,
            "store": storefront(demo.merchant, lang).display_name,
        }
        return plain(str(sentence) % values)


def staff_report_agrees(demo: Demo, ret: Return) -> None:
    """The merchant's money report finds what the return promised moved, to the minor unit."""
    today = clock.now().date()
    with demo.api() as api:
        report = api.get(
            "/reports/money",
            params={"start": str(today - timedelta(days=1)), "end": str(today + timedelta(days=1))},
        )
    assert report.status_code == 200, report.text
    assert ret.number not in {m["number"] for m in report.json()["mismatches"]}


# -- 1. card refund at the first scan --------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_trusted_shoppers_card_refund_is_issued_once_at_the_carriers_first_scan(
    demo: Demo, smtp: Inbox, new_page: Callable[..., Page], lang: str
) -> None:
    shopper = Shopper(demo, new_page, CARD_REFUND, lang)
    shopper.find_order()
    shopper.pick_the_item()
    shopper.choose("refund", "resolution-refund-to-card")
    ret = shopper.send_it_with_a_label()
    assert ret.refund_timing == "first_scan"  # the demo policy's rule for trusted shoppers
    tracking = shopper.label_is_ready(ret)
    assert not Refund.objects.filter(reference=ret.number).exists()  # not before the scan

    shopper.parcel_moves(tracking, "first_scan", "refund-issued")
    amount = demo.amount(ret.refund_total_minor, lang)
    assert (
        said(
            lang,
            "Your refund of %(amount)s was issued to the card ending %(last4)s.",
            amount=amount,
            last4=WALKTHROUGH_CARD_LAST4,
        )
        in shopper.reads()
    )
    shopper.mail_saying(
        smtp,
        mail_sentence(demo, lang, "refund", ret.refund_total_minor, WALKTHROUGH_CARD_LAST4),
        "mail-refund-issued",
    )

    # Delivery later is not a second trigger, and a replayed worker changes nothing.
    shopper.parcel_moves(tracking, "delivered", "delivered")
    factories.run_jobs()
    refund = Refund.objects.for_merchant(demo.merchant).get(reference=ret.number)
    assert (refund.status, refund.amount_minor) == (RefundStatus.SUCCEEDED, ret.refund_total_minor)
    assert Payment.objects.get(order_id=ret.order_id).refunded_minor == ret.refund_total_minor
    staff_report_agrees(demo, ret)


# -- 2. cash on delivery, back by bank transfer ------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_cash_on_delivery_refund_goes_by_bank_transfer_in_a_pain001_file_then_paid(
    demo: Demo, smtp: Inbox, new_page: Callable[..., Page], lang: str
) -> None:
    shopper = Shopper(demo, new_page, COD_TRANSFER, lang)
    holder = Order.objects.get(merchant=demo.merchant, number=shopper.order.number).customer.name
    shopper.find_order()
    shopper.pick_the_item()
    shopper.choose("refund", "resolution-bank-transfer", iban=SHOPPER_IBAN, payout_name=holder)
    ret = shopper.send_it_with_a_label()
    assert ret.refund_timing == "delivered"  # not a trusted shopper: the policy's default
    tracking = shopper.label_is_ready(ret)
    shopper.parcel_moves(tracking, "first_scan", "in-transit")
    assert not BankPayout.objects.filter(reference=ret.number).exists()

    shopper.parcel_moves(tracking, "delivered", "delivered-transfer-waiting")
    payout = BankPayout.objects.for_merchant(demo.merchant).get(reference=ret.number)
    assert (payout.status, payout.amount_minor) == (PayoutStatus.PENDING, ret.refund_total_minor)
    assert not Refund.objects.filter(reference=ret.number).exists()  # no card to refund

    with demo.api() as api:
        created = api.post(
            "/payout-files",
            json={
                "currency": "SAR",
                "debtor_name": demo.merchant.name,
                "debtor_iban": MERCHANT_IBAN,
            },
        )
        assert created.status_code == 201, created.text
        file_id = created.json()["id"]
        content = api.get(f"/payout-files/{file_id}/content", params={"format": "pain001"})
        assert content.status_code == 200, content.text
        assert content.headers["content-type"].startswith("application/xml")
        save_artifact(shopper.page, "transfer-file-pain001", ".xml", content.content)

        document = etree.fromstring(content.content)
        schema = etree.XMLSchema(etree.parse(str(XSD)))
        assert schema.validate(document), schema.error_log
        ours = [
            tx
            for tx in document.iterfind(".//p:CdtTrfTxInf", PAIN)
            if (tx.findtext("p:PmtId/p:EndToEndId", namespaces=PAIN) or "").startswith(ret.number)
        ]
        assert len(ours) == 1
        transfer = ours[0]
        assert transfer.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=PAIN) == normalise_iban(
            SHOPPER_IBAN
        )
        assert transfer.findtext("p:Cdtr/p:Nm", namespaces=PAIN) == holder
        instructed = transfer.find("p:Amt/p:InstdAmt", PAIN)
        assert instructed is not None and instructed.get("Ccy") == "SAR"
        assert Decimal(instructed.text) == Decimal(ret.refund_total_minor) / 100

        paid = api.post(f"/payout-files/{file_id}/paid")
        assert paid.status_code == 200 and paid.json()["paid_at"], paid.text

    factories.run_jobs()
    shopper.page.reload()
    shopper.check("transfer-paid")
    amount = demo.amount(ret.refund_total_minor, lang)
    last4 = normalise_iban(SHOPPER_IBAN)[-4:]
    assert (
        said(
            lang,
            "Your refund of %(amount)s was sent to the bank account ending %(last4)s.",
            amount=amount,
            last4=last4,
        )
        in shopper.reads()
    )
    shopper.mail_saying(
        smtp,
        mail_sentence(demo, lang, "bank_transfer", ret.refund_total_minor, last4),
        "mail-transfer-paid",
    )
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID and payout.file_id == file_id
    assert BankPayout.objects.filter(reference=ret.number).count() == 1
    staff_report_agrees(demo, ret)


# -- 3. store credit with a 10% bonus, then spent -------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_store_credit_with_a_10_percent_bonus_reaches_the_shopper_with_a_code_they_spend(
    demo: Demo, smtp: Inbox, new_page: Callable[..., Page], lang: str
) -> None:
    shopper = Shopper(demo, new_page, STORE_CREDIT, lang)
    shopper.find_order()
    shopper.pick_the_item()
    offer = shopper.page.locator('label.choice:has(input[value="store_credit"])')
    bonus_badge = offer.locator(".bonus")
    assert bonus_badge.is_visible()  # the bonus stands out from the rest of the offer
    offered, bonus_shown = plain(offer.inner_text()), plain(bonus_badge.inner_text())
    shopper.choose("store_credit", "resolution-store-credit-with-bonus")
    ret = shopper.send_it_with_a_label()

    base = sum(item.refund_minor for item in ret.items.all())
    total = ret.store_credit_total_minor
    bonus = total - base
    assert bonus == int((Decimal(base) / 10).quantize(Decimal(1), ROUND_HALF_EVEN)) > 0
    assert demo.amount(bonus, lang) in bonus_shown
    assert demo.amount(total, lang) in offered
    tracking = shopper.label_is_ready(ret)
    assert not CreditAccount.objects.filter(customer_id=ret.customer_id).exists()

    shopper.parcel_moves(tracking, "first_scan", "store-credit-granted")
    balance_sentence = (
        "Your store credit balance is %(amount)s: spend it at checkout with the code we "
        "e-mailed you."
    )
    page_text = shopper.reads()
    added = "Store credit of %(amount)s was added to your account."
    assert said(lang, added, amount=demo.amount(total, lang)) in page_text
    assert said(lang, balance_sentence, amount=demo.amount(total, lang)) in page_text
    mail = shopper.mail_saying(
        smtp, mail_sentence(demo, lang, "store_credit", total), "mail-store-credit"
    )
    codes = set(CODE.findall(mail.text))
    assert len(codes) == 1, mail.text
    code = codes.pop()
    assert code in mail.html

    spend = 10000  # the shopper's next purchase at the store: 100.00 SAR of it in credit
    with demo.api() as api:
        checked = api.post("/store-credit/check", json={"code": code})
        assert checked.status_code == 200 and checked.json()["balance_minor"] == total
        purchase = {
            "code": code,
            "amount_minor": spend,
            "currency": "SAR",
            "idempotency_key": f"checkout-{ret.number}",
            "reference": "store order 50017",
        }
        spent = api.post("/store-credit/redeem", json=purchase)
        assert spent.status_code == 201, spent.text
        assert spent.json()["balance_minor"] == total - spend
        retried = api.post("/store-credit/redeem", json=purchase)  # the checkout retries
        assert retried.status_code == 200
        assert retried.json()["transaction_id"] == spent.json()["transaction_id"]

    factories.run_jobs()
    shopper.page.reload()
    shopper.check("store-credit-after-purchase")
    assert said(lang, balance_sentence, amount=demo.amount(total - spend, lang)) in shopper.reads()

    account = CreditAccount.objects.for_merchant(demo.merchant).get(customer_id=ret.customer_id)
    assert account.balance_minor == total - spend == ledger_sum([account.pk])[account.pk]
    moved = dict(
        LedgerEntry.objects.filter(account=account)
        .values("kind")
        .annotate(total=Sum("amount_minor"))
        .values_list("kind", "total")
    )
    assert moved == {"credit": base, "bonus": bonus, "debit": -spend}
    assert trial_balance(merchant=demo.merchant, currency="SAR").total().minor == 0
    staff_report_agrees(demo, ret)


# -- 4. an exchange for a dearer item, paid on delivery --------------------------------------

# The demo's shopper bought a Classic Saudi Thobe (189.00 SAR, size 56) in cash and wants the
# Winter Wool Thobe a size up instead (279.00 SAR): the default policy exchanges for any
# product of the category, and the demo's rule for this shopper collects the difference in
# cash from them when the courier brings the replacement.
DEARER = "THW-GRY-58"


@pytest.mark.parametrize("lang", LANGS)
def test_a_dearer_exchange_ships_once_with_the_difference_collected_in_cash_on_delivery(
    demo: Demo, smtp: Inbox, new_page: Callable[..., Page], lang: str
) -> None:
    shopper = Shopper(demo, new_page, EXCHANGE_ON_DELIVERY, lang)
    order = Order.objects.get(merchant=demo.merchant, number=shopper.order.number)
    assert order.payment_method == PaymentMethod.CASH_ON_DELIVERY
    dearer = Variant.objects.for_merchant(demo.merchant).select_related("product").get(sku=DEARER)
    # Prices include VAT and an exchange's return shipping is free: what was paid for the
    # thobe goes whole towards the new one.
    difference = dearer.price_minor - order.lines.get().unit_price_minor
    assert difference > 0
    shown = demo.amount(difference, lang)
    stock = Stock.objects.get(variant=dearer)
    on_hand, reserved = stock.on_hand, stock.reserved

    shopper.find_order()
    shopper.pick_the_item()
    shopper.page.check('input[name="resolution"][value="exchange"]')
    offered = plain(shopper.page.locator(f'#exchange-1 option[value="{DEARER}"]').inner_text())
    assert f"(+{shown})" in offered  # the picker says what more it costs
    shopper.exchange_for(DEARER, "resolution-exchange-dearer")

    title = dearer.product.title_ar if lang == "ar" else dearer.product.title_en

    def reviewed(text: str) -> None:
        assert title in text and "58" in text  # the replacement, by name and size
        assert said(lang, "%(amount)s to pay on delivery", amount=shown) in text

    ret = shopper.send_it_with_a_label(reviewed)
    assert ret.refund_timing == "delivered"  # not trusted: the exchange waits for delivery
    exchange = Exchange.objects.get(return_id=ret.pk)
    assert (exchange.price_higher, exchange.difference_minor) == ("collect_on_delivery", difference)
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (on_hand, reserved + 1)  # held for this shopper
    tracking = shopper.label_is_ready(ret)
    shopper.parcel_moves(tracking, "first_scan", "in-transit")
    assert not Order.objects.filter(kind=OrderKind.REPLACEMENT, replaces=order).exists()

    shopper.parcel_moves(tracking, "delivered", "replacement-on-its-way")
    replacement = Order.objects.get(kind=OrderKind.REPLACEMENT, replaces=order)
    assert (
        said(
            lang,
            "Your replacement (order %(order)s) is on its way. The difference of %(amount)s "
            "will be collected in cash on delivery.",
            order=replacement.number,
            amount=shown,
        )
        in shopper.reads()
    )
    shopper.mail_saying(
        smtp,
        mail_sentence(demo, lang, "exchange", replacement.total_minor),
        "mail-exchange-issued",
    )

    # Exactly once: a replayed worker makes no second replacement and takes no second unit.
    factories.run_jobs()
    replacement = Order.objects.get(kind=OrderKind.REPLACEMENT, replaces=order)
    assert replacement.payment_method == PaymentMethod.CASH_ON_DELIVERY
    assert replacement.replacement_status == ReplacementStatus.READY
    assert (replacement.total_minor, replacement.collect_on_delivery_minor) == (
        dearer.price_minor,
        difference,
    )
    assert [line.sku for line in replacement.lines.all()] == [DEARER]
    held = StockReservation.objects.filter(exchange=exchange)
    assert [(r.quantity, r.status) for r in held] == [(1, ReservationStatus.CONSUMED)]
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (on_hand - 1, reserved)
    with demo.api() as api:
        shown_to_staff = api.get(f"/returns/{ret.number}").json()["exchange"]
    assert shown_to_staff["replacement_order_number"] == replacement.number
    assert shown_to_staff["collect_on_delivery_minor"] == difference
    staff_report_agrees(demo, ret)
