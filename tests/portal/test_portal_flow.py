"""The shopper portal through Django's test client: access, rate limits, each step's
errors, idempotent confirmation and a stale page (the browser tests run the same flow in
Chromium)."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from PIL import Image

from awda.core.models import Event
from awda.orders.models import OrderLine
from awda.portal import access
from awda.returns.models import Return, ReturnPhoto
from tests import factories

pytestmark = pytest.mark.django_db


def _client() -> Client:
    return Client(HTTP_HOST="127.0.0.1")


def _lookup(client: Client, store: str, number: str, contact: str, lang: str = "en"):
    return client.post(
        f"/{lang}/r/{store}/", {"order_number": number, "contact": contact}, REMOTE_ADDR="10.0.0.1"
    )


def _jpeg() -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "JPEG")
    buf.seek(0)
    buf.name = "x.jpg"
    return buf


def test_lookup_with_email_or_phone_opens_the_order_and_wrong_details_are_neutral() -> None:
    m = factories.merchant()
    o = factories.order(m, email="noura@example.com")
    c = _client()
    wrong = _lookup(c, m.slug, o.number, "other@example.com")
    missing = _lookup(c, m.slug, "999999", "noura@example.com")
    assert wrong.status_code == missing.status_code == 200
    assert b"couldn't find an order" in wrong.content
    assert wrong.content.count(b"notice") == missing.content.count(b"notice")
    ok = _lookup(c, m.slug, o.number, " Noura@Example.com ")
    assert ok.status_code == 302 and ok["Location"].endswith(f"/r/{m.slug}/orders/{o.number}/")
    assert c.get(ok["Location"]).status_code == 200
    c2 = _client()
    by_phone = _lookup(c2, m.slug, o.number, "0500000001")  # local form of +966500000001
    assert by_phone.status_code == 302


def test_an_order_page_needs_proof_and_another_stores_slug_opens_nothing() -> None:
    m, other = factories.merchant(), factories.merchant()
    o = factories.order(m)
    c = _client()
    page = c.get(f"/en/r/{m.slug}/orders/{o.number}/")
    assert page.status_code == 302 and page["Location"].endswith(f"/r/{m.slug}/")
    assert _lookup(c, m.slug, o.number, "shopper@example.com").status_code == 302
    # The grant is per merchant: the same number under another store is not this order.
    assert c.get(f"/en/r/{other.slug}/orders/{o.number}/").status_code == 302
    assert c.get("/en/r/no-such-store/").status_code == 404


@override_settings(AWDA_PORTAL_LOOKUPS_PER_IP=3, AWDA_PORTAL_FAILED_LOOKUPS_PER_ORDER=2)
def test_lookups_are_rate_limited_per_address_and_per_order() -> None:
    m = factories.merchant()
    o = factories.order(m)
    c = _client()
    for _ in range(2):
        assert _lookup(c, m.slug, o.number, "guess@example.com").status_code == 200
    # Two failures on this order: even the right details wait now.
    blocked = _lookup(c, m.slug, o.number, "shopper@example.com")
    assert blocked.status_code == 429 and "Retry-After" in blocked
    # And the address has used its three attempts.
    other = factories.order(m)
    assert _lookup(c, m.slug, other.number, "shopper@example.com").status_code == 429


def test_signed_link_opens_the_order_and_a_forged_or_foreign_one_does_not() -> None:
    m, other = factories.merchant(), factories.merchant()
    o = factories.order(m)
    token = access.order_link_token(m, o.pk)
    c = _client()
    opened = c.get(f"/ar/r/{m.slug}/link/{token}/")
    assert opened.status_code == 302
    assert c.get(opened["Location"]).status_code == 200
    assert _client().get(f"/ar/r/{m.slug}/link/{token}x/").status_code == 410
    assert _client().get(f"/ar/r/{other.slug}/link/{token}/").status_code == 410


def _walk_to_review(c: Client, m, o, *, ref: str = "1", reason: str = "too_small") -> None:
    assert _lookup(c, m.slug, o.number, "shopper@example.com").status_code == 302
    base = f"/en/r/{m.slug}/orders/{o.number}"
    r = c.post(f"{base}/", {f"sel-{ref}": "on", f"qty-{ref}": "1", f"reason-{ref}": reason})
    assert r.status_code == 302, r.content.decode()[:2000]
    r = c.post(f"{base}/resolution/", {"resolution": "store_credit"})
    assert r.status_code == 302, r.content.decode()[:2000]
    r = c.post(f"{base}/method/", {"method": "label"})
    assert r.status_code == 302, r.content.decode()[:2000]


def test_the_whole_flow_creates_one_return_even_when_confirmed_twice() -> None:
    m = factories.merchant()
    o = factories.order(m)
    c = _client()
    _walk_to_review(c, m, o)
    review = f"/en/r/{m.slug}/orders/{o.number}/review/"
    page = c.get(review)
    assert page.status_code == 200 and b"Confirm the return" in page.content
    done = c.post(review)
    assert done.status_code == 302 and "?new=1" in done["Location"]
    ret = Return.objects.get(order=o)
    assert ret.channel == "portal" and ret.status == "approved"
    status = c.get(done["Location"])
    assert status.status_code == 200 and ret.number.encode() in status.content
    # A second submit of the same draft (double click) finds the same return.
    assert c.post(review).status_code in (302, 200)
    assert Return.objects.filter(order=o).count() == 1


def test_each_error_is_shown_next_to_its_field_and_nothing_is_lost() -> None:
    m = factories.merchant()
    o = factories.order(m, lines=[factories.line("1", quantity=2)])
    c = _client()
    _lookup(c, m.slug, o.number, "shopper@example.com")
    base = f"/ar/r/{m.slug}/orders/{o.number}/"
    r = c.post(base, {"sel-1": "on", "qty-1": "5", "reason-1": "", "comment-1": "كبير"})
    assert r.status_code == 422
    html = r.content.decode()
    assert 'id="qty-1-error"' in html and 'id="reason-1-error"' in html
    assert 'aria-invalid="true"' in html and "كبير" in html  # the comment is kept
    assert 'dir="rtl"' in html and 'lang="ar"' in html


def test_photos_are_required_when_the_reason_asks_and_are_attached_to_the_item() -> None:
    m = factories.merchant()
    o = factories.order(m)
    c = _client()
    _lookup(c, m.slug, o.number, "shopper@example.com")
    base = f"/en/r/{m.slug}/orders/{o.number}/"
    r = c.post(base, {"sel-1": "on", "qty-1": "1", "reason-1": "defective"})
    # The default policy asks for photos of defective items.
    assert r.status_code == 422 and 'id="photos-1-error"' in r.content.decode()
    r = c.post(base, {"sel-1": "on", "qty-1": "1", "reason-1": "defective", "photos-1": _jpeg()})
    assert r.status_code == 302
    c.post(f"{base}resolution/", {"resolution": "refund"})
    c.post(f"{base}method/", {"method": "label"})
    done = c.post(f"{base}review/")
    assert done.status_code == 302
    ret = Return.objects.get(order=o)
    assert ret.status == "approved"  # the photo was there, so no review was needed
    assert ReturnPhoto.objects.filter(return_item__return_request=ret).count() == 1


def test_a_stale_page_explains_itself() -> None:
    m = factories.merchant()
    o = factories.order(m)
    c = _client()
    _walk_to_review(c, m, o)
    # Meanwhile the unit was returned some other way (the API, the store's staff...).
    OrderLine.objects.filter(order=o).update(returned_quantity=1)
    review = f"/en/r/{m.slug}/orders/{o.number}/review/"
    page = c.post(review)
    assert page.status_code == 409
    assert b"Something changed since you started" in page.content
    assert not Return.objects.filter(order=o).exists()


def test_cash_on_delivery_refund_asks_for_a_valid_iban_and_keeps_it_encrypted() -> None:
    m = factories.merchant()
    o = factories.order(m, payment_method="cash_on_delivery")
    c = _client()
    _lookup(c, m.slug, o.number, "shopper@example.com")
    base = f"/en/r/{m.slug}/orders/{o.number}/"
    assert c.post(base, {"sel-1": "on", "qty-1": "1", "reason-1": "too_small"}).status_code == 302
    bad = c.post(
        f"{base}resolution/", {"resolution": "refund", "iban": "SA03 8000", "payout_name": ""}
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert 'id="iban-error"' in html and 'id="payout_name-error"' in html
    ok = c.post(
        f"{base}resolution/",
        {"resolution": "refund", "iban": "SA03 8000 0000 6080 1016 7519", "payout_name": "Noura"},
    )
    assert ok.status_code == 302
    c.post(f"{base}method/", {"method": "label"})
    assert c.post(f"{base}review/").status_code == 302
    ret = Return.objects.get(order=o)
    assert ret.payout_iban == "SA0380000000608010167519" and ret.payout_name == "Noura"
    with connection.cursor() as cursor:
        cursor.execute("SELECT payout_iban FROM returns_return WHERE id = %s", [ret.pk])
        stored = cursor.fetchone()[0]
    assert "SA03" not in stored and "6080" not in stored  # only ciphertext at rest


def test_e_mail_me_a_link_queues_the_mail_and_answers_the_same_either_way() -> None:
    m = factories.merchant()
    o = factories.order(m, email="noura@example.com")
    c = _client()

    def ask(number: str, contact: str):
        return c.post(
            f"/en/r/{m.slug}/",
            {"order_number": number, "contact": contact, "action": "link"},
            REMOTE_ADDR="10.0.0.2",
        )

    right, wrong = ask(o.number, "noura@example.com"), ask(o.number, "x@example.com")
    assert right.status_code == wrong.status_code == 200
    assert b'id="link-sent"' in right.content and b'id="link-sent"' in wrong.content
    assert Event.objects.filter(name="OrderLinkRequested", aggregate_id=str(o.pk)).count() == 1
    # A link goes to an e-mail address only: a phone number is refused next to the field.
    by_phone = ask(o.number, "0500000001")
    assert by_phone.status_code == 422 and b'id="id_contact-error"' in by_phone.content
    # Asking for a link opens nothing in this session.
    assert c.get(f"/en/r/{m.slug}/orders/{o.number}/").status_code == 302


def test_the_status_page_shows_the_money_the_shopper_chose_not_the_other_offer() -> None:
    m = factories.merchant()
    o = factories.order(m)
    c = _client()
    _walk_to_review(c, m, o)  # store credit
    done = c.post(f"/en/r/{m.slug}/orders/{o.number}/review/")
    html = c.get(done["Location"]).content.decode()
    ret = Return.objects.get(order=o)
    assert "<dt>Store credit</dt>" in html and "<dt>Refund</dt>" not in html
    assert ret.store_credit_total_minor > ret.refund_total_minor
