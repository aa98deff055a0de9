"""Who reaches the staff pages: signed-in members of the URL's store, with a role that opens
the page; everyone else is sent to sign in (anonymous), refused (403) or told nothing exists
(404, another store's staff)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from awda.catalog.models import StockMove
from awda.merchants.models import StaffRole
from awda.returns.models import ReturnItem
from tests import factories
from tests.dashboard import helpers as d
from tests.warehouse import helpers as h

pytestmark = pytest.mark.django_db


def station_pages(m, number: str) -> list[str]:
    base = f"/en/staff/{m.slug}"
    return [
        f"{base}/warehouse/",
        f"{base}/warehouse/?code={number}",
        f"{base}/warehouse/returns/{number}/",
        f"{base}/warehouse/returns/{number}/items/1/label.pdf",
    ]


def test_an_anonymous_visitor_is_sent_to_sign_in_and_comes_back_to_the_page_after_it():
    m = h.merchant()
    ret = h.a_return(m)
    user = d.staff(m, username="amal")
    client = Client()
    for page in station_pages(m, ret.number):
        answer = client.get(page)
        assert answer.status_code == 302 and answer["Location"].startswith("/en/staff/login/?next=")

    answer = client.post(
        "/en/staff/login/",
        {"username": user.username, "password": d.PASSWORD, "next": d.scan_url(m)},
    )

    assert answer.status_code == 302 and answer["Location"] == d.scan_url(m)
    assert client.get(d.scan_url(m)).status_code == 200


def test_a_wrong_password_is_refused_in_the_users_language_and_a_foreign_next_is_ignored():
    m = h.merchant()
    user = d.staff(m)
    client = Client()

    wrong = client.post("/ar/staff/login/", {"username": user.username, "password": "nope"})
    right = client.post(
        "/en/staff/login/",
        {"username": user.username, "password": d.PASSWORD, "next": "https://evil.example/"},
    )

    with translation.override("ar"):
        message = translation.gettext("The username or password is wrong.")
    assert message != "The username or password is wrong."
    assert wrong.status_code == 400 and message in wrong.content.decode()
    assert right.status_code == 302 and right["Location"] == "/en/staff/"


def test_repeated_failed_sign_ins_from_one_address_are_stopped():
    m = h.merchant()
    user = d.staff(m)
    client = Client()
    for _ in range(10):
        client.post("/en/staff/login/", {"username": user.username, "password": "nope"})

    answer = client.post("/en/staff/login/", {"username": user.username, "password": d.PASSWORD})

    assert answer.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.ANALYST])
def test_agents_and_analysts_may_not_open_or_use_the_station(role):
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m, role))

    for page in station_pages(m, ret.number):
        assert client.get(page).status_code == 403, page
    posted = client.post(d.return_url(m, ret.number), d.prefilled())

    assert posted.status_code == 403
    assert h.item(ret).reception == "awaiting" and not StockMove.objects.exists()


@pytest.mark.parametrize("role", [StaffRole.WAREHOUSE, StaffRole.OWNER])
def test_warehouse_staff_and_owners_open_the_station(role):
    m = h.merchant()
    ret = h.a_return(m)
    client = d.signed_in(d.staff(m, role))

    assert client.get(d.scan_url(m)).status_code == 200
    assert client.get(d.return_url(m, ret.number)).status_code == 200


def test_another_merchants_staff_see_nothing_and_change_nothing_of_this_merchants_returns():
    m, other = h.merchant(), factories.merchant()
    ret = h.a_return(m, sku="TEE-M")
    outsider = d.signed_in(d.staff(other, StaffRole.OWNER))

    for page in station_pages(m, ret.number):
        assert outsider.get(page).status_code == 404, page
    posted = outsider.post(d.return_url(m, ret.number), d.prefilled())
    # Their own store's station doesn't open it either: every lookup is by merchant.
    scanned = outsider.get(d.scan_url(other) + f"?code={h.tracking(ret)}")
    through_own = outsider.get(d.return_url(other, ret.number))

    assert posted.status_code == 404
    assert scanned.status_code == 404 and through_own.status_code == 404
    assert ReturnItem.objects.get(return_request=ret).reception == "awaiting"
    assert not StockMove.objects.exists()


def test_a_store_that_does_not_exist_answers_as_a_store_one_is_not_staff_of():
    m = h.merchant()
    client = d.signed_in(d.staff(m))

    assert client.get("/en/staff/no-such-store/warehouse/").status_code == 404


def test_the_stations_post_needs_the_csrf_token():
    m = h.merchant()
    ret = h.a_return(m, sku="TEE-M")
    client = d.signed_in(d.staff(m), enforce_csrf_checks=True)

    refused = client.post(d.return_url(m, ret.number), d.prefilled())
    assert refused.status_code == 403
    assert h.item(ret).reception == "awaiting" and not StockMove.objects.exists()

    page = client.get(d.return_url(m, ret.number))
    token = page.context["csrf_token"] if page.context else client.cookies["csrftoken"].value
    accepted = client.post(
        d.return_url(m, ret.number), {**d.prefilled(), "csrfmiddlewaretoken": str(token)}
    )
    assert accepted.status_code == 302
    assert h.on_hand("TEE-M") == 1


def test_signing_out_is_a_post_and_ends_the_session():
    m = h.merchant()
    client = d.signed_in(d.staff(m))

    assert client.get("/en/staff/logout/").status_code == 405
    assert client.post("/en/staff/logout/").status_code == 302
    assert client.get(d.scan_url(m)).status_code == 302


def test_a_warehouse_person_goes_straight_to_the_station_and_an_owner_sees_the_sections():
    m = h.merchant()
    warehouse = d.signed_in(d.staff(m))
    owner = d.signed_in(d.staff(m, StaffRole.OWNER))

    assert warehouse.get("/en/staff/")["Location"] == f"/en/staff/{m.slug}/"
    assert warehouse.get(f"/en/staff/{m.slug}/")["Location"] == d.scan_url(m)
    assert d.scan_url(m) in owner.get(f"/en/staff/{m.slug}/").content.decode()
