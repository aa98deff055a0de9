"""Connecting a Shopify store from the owner's pages with OAuth: the shop is checked, the
owner is sent to Shopify's consent page with a one-time state, and the callback connects the
store only when the state is this session's, Shopify's signature holds, the shop is the one
named and the answer is fresh — once. Only the store's owner opens any of it."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import respx
from django.db import connection as db
from django.http import QueryDict
from django.test import Client
from django.utils import translation

from awda.core import clock
from awda.dashboard import connect_views
from awda.integrations.models import StoreConnection
from awda.merchants.models import Merchant, StaffRole
from tests import factories
from tests.dashboard import helpers as d

pytestmark = pytest.mark.django_db

CLIENT_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SECRET = "shpss_client_secret_for_tests"
SHOP = "awda-dev.myshopify.com"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"
PUBLIC = "https://returns.example.com"


@pytest.fixture(autouse=True)
def _shopify_app(settings) -> None:  # type: ignore[no-untyped-def]
    settings.AWDA_SHOPIFY_CLIENT_ID = CLIENT_ID
    settings.AWDA_SHOPIFY_CLIENT_SECRET = SECRET
    settings.AWDA_PUBLIC_URL = PUBLIC


def page_url(m: Merchant, lang: str = "en") -> str:
    return f"/{lang}/staff/{m.slug}/connections/"


def callback_path(m: Merchant, lang: str = "en") -> str:
    return f"/{lang}/staff/{m.slug}/connections/shopify/callback/"


def owner(m: Merchant) -> Client:
    return d.signed_in(d.staff(m, StaffRole.OWNER))


def started(client: Client, m: Merchant, shop: str = SHOP) -> str:
    """Post the form; the state Shopify will send back."""
    answer = client.post(page_url(m), {"shop": shop})
    assert answer.status_code == 302, answer.content
    return parse_qs(urlsplit(answer["Location"]).query)["state"][0]


def signed(params: dict[str, str], secret: str = SECRET) -> dict[str, str]:
    """``params`` with the ``hmac`` Shopify would add (sorted pairs, hex HMAC-SHA256)."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return {**params, "hmac": connect_views.oauth_hmac(message, secret)}


def shopify_redirect(state: str, *, shop: str = SHOP, **changes: str) -> dict[str, str]:
    params = {
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYXdkYS1kZXY",
        "shop": shop,
        "state": state,
        "timestamp": str(int(clock.now().timestamp())),
    }
    params.update(changes)
    return signed(params)


def callback(client: Client, m: Merchant, query: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.get(f"{callback_path(m)}?{urlencode(query)}")


def token_exchange() -> respx.Route:
    return respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            200,
            json={"access_token": "shpat_offline_token_42", "scope": "write_orders"},
        )
    )


# -- the page and who opens it ---------------------------------------------------------------


def test_the_owner_sees_the_stores_connections_and_the_shopify_form():
    m = factories.merchant()
    StoreConnection.objects.create(
        merchant=m,
        platform="woocommerce",
        name="WP",
        base_url="https://shop.example.com",
        public_id="pub-1",
    )

    answer = owner(m).get(page_url(m))

    html = answer.content.decode()
    assert answer.status_code == 200
    assert "https://shop.example.com" in html and "WooCommerce" in html
    assert 'name="shop"' in html and "csrfmiddlewaretoken" in html
    assert f"{PUBLIC}{callback_path(m)}" in html  # the address to allow in the app


def test_the_owners_home_page_links_to_the_connections_and_an_agents_does_not():
    m = factories.merchant()
    agent = d.signed_in(d.staff(m, StaffRole.AGENT))

    html = owner(m).get(f"/en/staff/{m.slug}/").content.decode()

    assert f'href="{page_url(m)}"' in html
    assert page_url(m) not in agent.get(f"/en/staff/{m.slug}/").content.decode()


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.WAREHOUSE, StaffRole.ANALYST])
def test_staff_other_than_the_owner_may_not_open_or_start_a_connection(role):
    m = factories.merchant()
    client = d.signed_in(d.staff(m, role))

    assert client.get(page_url(m)).status_code == 403
    assert client.post(page_url(m), {"shop": SHOP}).status_code == 403
    assert client.get(callback_path(m)).status_code == 403
    assert connect_views.SESSION_KEY not in client.session


def test_another_merchants_owner_is_told_the_page_does_not_exist():
    m, other = factories.merchant(), factories.merchant()
    outsider = owner(other)

    assert outsider.get(page_url(m)).status_code == 404
    assert outsider.post(page_url(m), {"shop": SHOP}).status_code == 404


@pytest.mark.parametrize(
    "shop",
    ["evil.example.com", "awda-dev.myshopify.com.evil.com", "-awda.myshopify.com", "awda dev"],
)
def test_an_address_that_is_not_a_shopify_shop_is_refused_next_to_the_field(shop):
    m = factories.merchant()
    client = owner(m)

    answer = client.post(page_url(m), {"shop": shop})

    html = answer.content.decode()
    assert answer.status_code == 422
    assert 'id="shop-error"' in html and "my-shop.myshopify.com" in html
    assert 'aria-invalid="true"' in html
    assert connect_views.SESSION_KEY not in client.session


def test_the_field_error_is_in_arabic_on_the_arabic_page():
    m = factories.merchant()
    with translation.override("ar"):
        message = translation.gettext(
            "Enter the shop's Shopify address, such as my-shop.myshopify.com."
        )

    answer = owner(m).post(page_url(m, "ar"), {"shop": "evil.example.com"})

    assert message != "Enter the shop's Shopify address, such as my-shop.myshopify.com."
    assert answer.status_code == 422 and message in answer.content.decode()


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_page_renders_in_both_languages_right_to_left_in_arabic(lang):
    m = factories.merchant()

    answer = owner(m).get(page_url(m, lang))

    html = answer.content.decode()
    assert answer.status_code == 200
    assert f'lang="{lang}"' in html
    assert ('dir="rtl"' in html) == (lang == "ar")
    if lang == "ar":
        with translation.override("ar"):
            title = translation.gettext("Connect a Shopify store")
        assert title != "Connect a Shopify store" and title in html


# -- starting: to Shopify's consent page --------------------------------------------------------


def test_posting_the_shop_sends_the_owner_to_shopifys_consent_page_with_a_state_in_the_session():
    m = factories.merchant()
    client = owner(m)

    with clock.frozen_at(clock.now()) as moment:
        answer = client.post(page_url(m), {"shop": "  Awda-Dev.myshopify.com "})

    pending = client.session[connect_views.SESSION_KEY]
    assert answer.status_code == 302
    assert answer["Location"] == (
        f"https://{SHOP}/admin/oauth/authorize?"
        + urlencode(
            {
                "client_id": CLIENT_ID,
                "scope": "write_orders,read_products,write_inventory,write_returns",
                "redirect_uri": f"{PUBLIC}/en/staff/{m.slug}/connections/shopify/callback/",
                "state": pending["state"],
            }
        )
    )
    assert len(pending["state"]) >= 32
    assert (pending["merchant"], pending["shop"]) == (m.pk, SHOP)
    assert pending["expires"] == (moment + timedelta(minutes=10)).timestamp()


@respx.mock
def test_gift_cards_ask_shopify_for_their_scope_and_turn_the_connections_setting_on():
    m = factories.merchant()
    client = owner(m)
    token_exchange()

    answer = client.post(page_url(m), {"shop": SHOP, "gift_cards": "1"})
    state = parse_qs(urlsplit(answer["Location"]).query)["state"][0]
    connected = callback(client, m, shopify_redirect(state))

    scope = parse_qs(urlsplit(answer["Location"]).query)["scope"]
    assert scope == ["write_orders,read_products,write_inventory,write_returns,write_gift_cards"]
    assert connected.status_code == 302
    assert json.loads(StoreConnection.objects.get(merchant=m).credentials) == {
        "access_token": "shpat_offline_token_42",
        "credit_as_gift_card": "true",
    }


def test_the_form_needs_the_csrf_token():
    m = factories.merchant()
    client = d.signed_in(d.staff(m, StaffRole.OWNER), enforce_csrf_checks=True)

    assert client.post(page_url(m), {"shop": SHOP}).status_code == 403
    assert connect_views.SESSION_KEY not in client.session


def test_a_shop_already_connected_is_refused_before_going_to_shopify():
    m = factories.merchant()
    StoreConnection.objects.create(
        merchant=m, platform="shopify", name=SHOP, base_url=f"https://{SHOP}", public_id="p"
    )

    answer = owner(m).post(page_url(m), {"shop": SHOP})

    assert answer.status_code == 422 and 'id="shop-error"' in answer.content.decode()


# -- the callback -------------------------------------------------------------------------------


@respx.mock
def test_the_callback_trades_the_code_for_an_offline_token_and_connects_the_store_encrypted():
    m = factories.merchant()
    client = owner(m)
    state = started(client, m)
    exchange = token_exchange()

    answer = callback(client, m, shopify_redirect(state))

    connection = StoreConnection.objects.get(merchant=m)
    assert answer.status_code == 302
    assert answer["Location"] == f"{page_url(m)}?connected={connection.pk}"
    sent = exchange.calls.last.request
    assert json.loads(sent.content) == {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "code": "0907a61c0c8d55e99db179b68161bc00",
    }
    assert (connection.platform, connection.base_url, connection.active) == (
        "shopify",
        f"https://{SHOP}",
        True,
    )
    assert json.loads(connection.credentials) == {"access_token": "shpat_offline_token_42"}
    assert connection.webhook_secret == SECRET
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials, webhook_secret FROM integrations_storeconnection WHERE id = %s",
            [connection.pk],
        )
        raw_credentials, raw_secret = cursor.fetchone()
    assert "shpat_offline_token_42" not in raw_credentials and SECRET not in raw_secret
    notice = client.get(answer["Location"])
    assert notice.status_code == 200 and f"{SHOP} is connected." in notice.content.decode()


@respx.mock
def test_the_callback_registers_the_stores_order_webhooks_at_awdas_public_address():
    m = factories.merchant()
    client = owner(m)
    state = started(client, m)
    token_exchange()
    api = f"https://{SHOP}/admin/api/2024-10/webhooks.json"
    listing = respx.get(api).mock(return_value=httpx.Response(200, json={"webhooks": []}))
    create = respx.post(api).mock(return_value=httpx.Response(201, json={"webhook": {"id": 1}}))

    answer = callback(client, m, shopify_redirect(state))

    connection = StoreConnection.objects.get(merchant=m)
    address = f"{PUBLIC}/hooks/stores/{connection.public_id}/"
    assert answer.status_code == 302
    assert listing.calls.last.request.headers["X-Shopify-Access-Token"] == "shpat_offline_token_42"
    assert [json.loads(call.request.content) for call in create.calls] == [
        {"webhook": {"topic": topic, "address": address, "format": "json"}}
        for topic in ("orders/create", "orders/updated")
    ]
    page = client.get(answer["Location"]).content.decode()
    assert f"{SHOP} is connected." in page and "webhooks couldn" not in page


@respx.mock
def test_webhooks_shopify_refuses_leave_the_store_connected_and_the_page_says_why():
    m = factories.merchant()
    client = owner(m)
    state = started(client, m)
    token_exchange()
    respx.get(f"https://{SHOP}/admin/api/2024-10/webhooks.json").mock(
        return_value=httpx.Response(403, json={"errors": "Webhook topic requires read_orders"})
    )

    answer = callback(client, m, shopify_redirect(state))

    connection = StoreConnection.objects.get(merchant=m)
    assert connection.active and answer.status_code == 302
    page = client.get(answer["Location"]).content.decode()
    assert f"{SHOP} is connected." in page
    assert "but its webhooks couldn" in page  # the apostrophe is escaped in the page
    assert "Webhook topic requires read_orders" in page
    assert "webhooks couldn" not in client.get(answer["Location"]).content.decode()  # once


@respx.mock
def test_a_wrong_signature_is_refused_and_nothing_is_saved():
    m = factories.merchant()
    client = owner(m)
    state = started(client, m)
    exchange = token_exchange()
    forged = {**shopify_redirect(state), "code": "attacker-code"}  # signed for another code

    answer = callback(client, m, forged)

    assert answer.status_code == 400
    assert "signature" in answer.content.decode()
    assert not exchange.called and not StoreConnection.objects.exists()


@respx.mock
def test_a_signature_made_with_another_secret_is_refused():
    m = factories.merchant()
    client = owner(m)
    state = started(client, m)
    exchange = token_exchange()
    query = shopify_redirect(state)
    query["hmac"] = signed({k: v for k, v in query.items() if k != "hmac"}, "other")["hmac"]

    answer = callback(client, m, query)

    assert answer.status_code == 400
    assert not exchange.called and not StoreConnection.objects.exists()


@respx.mock
@pytest.mark.parametrize("state", ["", "not-the-state"])
def test_a_missing_or_wrong_state_is_refused_and_the_owners_own_connection_still_works(state):
    m = factories.merchant()
    client = owner(m)
    real = started(client, m)
    exchange = token_exchange()

    query = shopify_redirect(state)
    if not state:
        query = signed({k: v for k, v in query.items() if k not in ("state", "hmac")})
    refused = callback(client, m, query)

    assert refused.status_code == 400 and not exchange.called
    assert not StoreConnection.objects.exists()
    assert callback(client, m, shopify_redirect(real)).status_code == 302


@respx.mock
def test_the_same_answer_twice_is_refused_the_second_time():
    m = factories.merchant()
    client = owner(m)
    state = started(client, m)
    exchange = token_exchange()
    query = shopify_redirect(state)

    first = callback(client, m, query)
    second = callback(client, m, query)

    assert first.status_code == 302 and second.status_code == 400
    assert exchange.call_count == 1 and StoreConnection.objects.count() == 1


@respx.mock
def test_a_state_started_in_another_session_is_refused():
    m = factories.merchant()
    started_elsewhere = started(owner(m), m)
    exchange = token_exchange()

    answer = callback(owner(m), m, shopify_redirect(started_elsewhere))

    assert answer.status_code == 400
    assert not exchange.called and not StoreConnection.objects.exists()


@respx.mock
def test_a_state_started_for_another_store_of_the_same_owner_is_refused():
    m, other = factories.merchant(), factories.merchant()
    user = d.staff(m, StaffRole.OWNER)
    d.staff(other, StaffRole.OWNER, username=user.username)  # the same person, both stores
    client = d.signed_in(user)
    state = started(client, m)
    exchange = token_exchange()

    answer = callback(client, other, shopify_redirect(state))

    assert answer.status_code == 400
    assert not exchange.called and not StoreConnection.objects.exists()


@respx.mock
def test_an_answer_for_another_shop_than_the_one_named_is_refused():
    m = factories.merchant()
    client = owner(m)
    state = started(client, m)
    exchange = token_exchange()

    answer = callback(client, m, shopify_redirect(state, shop="someone-else.myshopify.com"))

    assert answer.status_code == 400
    assert not exchange.called and not StoreConnection.objects.exists()


@respx.mock
def test_a_state_older_than_ten_minutes_is_refused():
    m = factories.merchant()
    client = owner(m)
    state = started(client, m)
    exchange = token_exchange()

    with clock.frozen_at(clock.now() + timedelta(minutes=11)):
        answer = callback(client, m, shopify_redirect(state))

    assert answer.status_code == 400 and "10 minutes" in answer.content.decode()
    assert not exchange.called and not StoreConnection.objects.exists()


@respx.mock
def test_an_answer_signed_more_than_a_day_ago_is_refused():
    m = factories.merchant()
    client = owner(m)
    state = started(client, m)
    exchange = token_exchange()
    old = str(int((clock.now() - timedelta(hours=25)).timestamp()))

    answer = callback(client, m, shopify_redirect(state, timestamp=old))

    assert answer.status_code == 400
    assert not exchange.called and not StoreConnection.objects.exists()


@respx.mock
def test_shopify_refusing_the_code_shows_its_words_and_saves_nothing():
    m = factories.merchant()
    client = owner(m)
    state = started(client, m)
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            400,
            json={
                "error": "invalid_request",
                "error_description": "The authorization code was not found or was already used",
            },
        )
    )

    answer = callback(client, m, shopify_redirect(state))

    assert answer.status_code == 502
    # core.http keeps the "error" field of an OAuth error body (its error_description not).
    assert "Shopify refused the connection: HTTP 400: invalid_request" in answer.content.decode()
    assert not StoreConnection.objects.exists()


def test_when_shopify_is_not_configured_the_page_says_so_and_how_to_set_it(settings):
    settings.AWDA_SHOPIFY_CLIENT_ID = ""
    m = factories.merchant()
    client = owner(m)

    page = client.get(page_url(m))
    posted = client.post(page_url(m), {"shop": SHOP})

    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="not-configured"' in html and "AWDA_SHOPIFY_CLIENT_ID" in html
    assert 'name="shop"' not in html
    assert posted.status_code == 409 and connect_views.SESSION_KEY not in client.session


# -- Shopify's signature scheme -----------------------------------------------------------------


def test_the_signature_is_the_one_shopifys_documentation_gives_for_its_example():
    # Shopify's documented example (secret "hush"), with and without a state.
    example = QueryDict(
        "code=0907a61c0c8d55e99db179b68161bc00"
        "&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
        "&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173"
    )
    without_state = QueryDict(
        "code=0907a61c0c8d55e99db179b68161bc00"
        "&hmac=4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"
        "&shop=some-shop.myshopify.com&timestamp=1337178173"
    )

    assert connect_views.signed_by_shopify(example, "hush")
    assert connect_views.signed_by_shopify(without_state, "hush")
    assert not connect_views.signed_by_shopify(example, "hush!")


def test_a_value_cannot_smuggle_another_parameter_into_the_signed_text():
    honest = QueryDict(mutable=True)
    honest.update({"a": "1&b=2"})
    smuggled = QueryDict("a=1&b=2")

    assert connect_views.oauth_message(honest) == "a=1%26b=2"
    assert connect_views.oauth_message(smuggled) == "a=1&b=2"


def test_a_repeated_parameter_is_never_signed():
    assert connect_views.oauth_message(QueryDict("shop=a&shop=b")) is None
    assert not connect_views.signed_by_shopify(QueryDict("shop=a&shop=b&hmac=00"), "hush")
