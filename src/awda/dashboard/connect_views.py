"""The owner's store connections: the list, and connecting a Shopify store with OAuth
(Shopify's authorization-code grant) instead of pasting a custom app's token.

Owner only: a connection lets Awda refund, restock and tag in the merchant's store.

The flow: the owner names the shop; we send them to Shopify's consent page with a one-time
``state`` kept in their session (bound to the merchant and the shop, 10 minutes); Shopify
sends them back to the callback with ``code``, ``hmac``, ``shop``, ``state`` and
``timestamp``. The callback checks the state (and consumes it), Shopify's signature, the
shop and the timestamp, trades the code for an offline token and connects the store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from awda.core import clock
from awda.core.errors import DomainError
from awda.dashboard.access import OWNER_ROLES, Staff, staff_page
from awda.dashboard.pages import context
from awda.integrations import shopify
from awda.integrations.base import StoreError
from awda.integrations.models import Platform, StoreConnection
from awda.integrations.selectors import store_connections
from awda.integrations.services import connect_store, register_webhooks

log = logging.getLogger(__name__)

# Shopify's own shop addresses only: the code is traded for a token by posting our client
# secret to https://<shop>/…, so a shop on any other host would receive the secret.
SHOP_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
# What the connector calls need (a write scope also grants the read). write_orders: the
# backfill and webhooks read orders; refunds.json, GraphQL tagsAdd and the exchange's
# replacement order write them. read_products: GET variants/<id>.json (the restock's
# inventory item). write_inventory: inventory_levels/adjust.json. write_returns: GraphQL
# returnCreate (an approved Awda return as Shopify's Return). Orders older than 60 days
# would also need read_all_orders, which Shopify grants only on request: not asked for.
SCOPES = ("write_orders", "read_products", "write_inventory", "write_returns")
# Store credit as Shopify gift cards (the connection's ``credit_as_gift_card``) is the
# owner's choice: Shopify grants this scope to an app only on request, and asking for a
# scope the app wasn't granted may fail the whole install.
GIFT_CARD_SCOPE = "write_gift_cards"
GIFT_CARD_SETTING = "credit_as_gift_card"
STATE_TTL = timedelta(minutes=10)
# Shopify signs the redirect with a timestamp; an older one is a replayed link.
MAX_CALLBACK_AGE = timedelta(hours=24)
SESSION_KEY = "awda.shopify_oauth"
# Why the store's webhooks weren't registered, shown once on the page the callback
# redirects to (the connection itself is saved).
WEBHOOKS_ERROR_KEY = "awda.shopify_webhooks_error"
MAX_SHOP = 120


@dataclass(frozen=True)
class ShopifyApp:
    """The installation's Shopify app (``AWDA_SHOPIFY_CLIENT_ID`` / ``_SECRET``)."""

    client_id: str
    client_secret: str


def shopify_app() -> ShopifyApp | None:
    client_id = settings.AWDA_SHOPIFY_CLIENT_ID.strip()
    secret = settings.AWDA_SHOPIFY_CLIENT_SECRET.strip()
    return ShopifyApp(client_id, secret) if client_id and secret else None


# -- Shopify's OAuth rules ----------------------------------------------------------------


def clean_shop(raw: str) -> str | None:
    """``my-shop.myshopify.com`` from what the owner typed (case, an https:// and a
    trailing slash forgiven), or None when it isn't a Shopify shop address."""
    shop = raw.strip().lower()[:MAX_SHOP]
    shop = shop.removeprefix("https://").removeprefix("http://").rstrip("/")
    return shop if SHOP_PATTERN.fullmatch(shop) else None


def authorize_url(
    *, shop: str, client_id: str, redirect_uri: str, state: str, gift_cards: bool = False
) -> str:
    """Shopify's consent page; without ``grant_options[]=per-user`` the token is offline
    (it outlives the owner's session, as pushes from jobs need)."""
    scopes = (*SCOPES, GIFT_CARD_SCOPE) if gift_cards else SCOPES
    query = urlencode(
        {
            "client_id": client_id,
            "scope": ",".join(scopes),
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"https://{shop}/admin/oauth/authorize?{query}"


def oauth_message(query: QueryDict) -> str | None:
    """What Shopify signs in a redirect: every parameter but ``hmac``, decoded, as
    ``key=value`` pairs sorted and joined with ``&`` — with ``%`` and ``&`` (and ``=`` in
    keys) escaped so that values can't forge pairs; ``ids[]`` lists as a JSON array, as
    Shopify's own libraries do. None when a plain parameter is repeated (Shopify never
    sends that, and which copy it signed is unknown)."""
    pairs = []
    for key, values in query.lists():
        if key == "hmac":
            continue
        if key.endswith("[]"):
            key, value = key[:-2], json.dumps([str(v) for v in values])
        elif len(values) == 1:
            value = values[0]
        else:
            return None
        key = key.replace("%", "%25").replace("=", "%3D")
        value = value.replace("%", "%25")
        pairs.append(f"{key}={value}".replace("&", "%26"))
    return "&".join(sorted(pairs))


def oauth_hmac(message: str, secret: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_by_shopify(query: QueryDict, secret: str) -> bool:
    """The redirect's ``hmac`` (hex HMAC-SHA256 with the client secret), compared in
    constant time so the answer's timing tells nothing about the right value."""
    given = query.get("hmac", "")
    message = oauth_message(query)
    if not given or message is None:
        return False
    return hmac.compare_digest(oauth_hmac(message, secret), given.strip().lower())


def fresh_timestamp(raw: str, now: datetime) -> bool:
    if not raw.isdecimal():
        return False
    return abs(now.timestamp() - int(raw)) <= MAX_CALLBACK_AGE.total_seconds()


# -- pages ----------------------------------------------------------------------------------


def _connections_url(staff: Staff, **query: str) -> str:
    base = reverse("dashboard:connections", kwargs={"store": staff.merchant.slug})
    return f"{base}?{urlencode(query)}" if query else base


def _callback_url(staff: Staff) -> str:
    # Absolute, on the installation's public address: Shopify only redirects to an address
    # listed in the app's allowed redirection URLs, and the request's Host may be a proxy's.
    path = reverse("dashboard:shopify-callback", kwargs={"store": staff.merchant.slug})
    return settings.AWDA_PUBLIC_URL.rstrip("/") + path


def _page(
    request: HttpRequest,
    staff: Staff,
    *,
    errors: dict[str, str] | None = None,
    shop: str = "",
    gift_cards: bool = False,
    status: int = 200,
) -> HttpResponse:
    connections = store_connections(merchant=staff.merchant)
    connected = request.GET.get("connected", "") if status == 200 else ""
    just_connected = next((c for c in connections if str(c.pk) == connected), None)
    webhooks_error = request.session.pop(WEBHOOKS_ERROR_KEY, "") if just_connected else ""
    if webhooks_error and not errors:
        errors = {"form": str(webhooks_error)}
    return render(
        request,
        "dashboard/connections.html",
        context(
            request,
            staff,
            connections=connections,
            platforms=dict(Platform.choices),
            app=shopify_app(),
            callback_url=_callback_url(staff),
            errors=errors or {},
            shop=shop,
            gift_cards=gift_cards,
            connected=just_connected,
        ),
        status=status,
    )


def _not_configured() -> dict[str, str]:
    return {"form": _("Shopify isn't set up for this installation yet.")}


@never_cache
@require_http_methods(["GET", "POST"])
@staff_page(*OWNER_ROLES)
def connections(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The store's connections; a POST of a shop address starts connecting it (to
    Shopify's consent page)."""
    if request.method != "POST":
        return _page(request, staff)
    raw = request.POST.get("shop", "")
    gift_cards = request.POST.get("gift_cards") == "1"
    app = shopify_app()
    if app is None:
        return _page(request, staff, errors=_not_configured(), shop=raw[:MAX_SHOP], status=409)
    shop = clean_shop(raw)
    if shop is None:
        error = _("Enter the shop's Shopify address, such as my-shop.myshopify.com.")
        return _page(
            request,
            staff,
            errors={"shop": error},
            shop=raw[:MAX_SHOP],
            gift_cards=gift_cards,
            status=422,
        )
    if any(
        c.active and c.platform == Platform.SHOPIFY and c.base_url == f"https://{shop}"
        for c in store_connections(merchant=staff.merchant)
    ):
        error = _("This store is already connected.")
        return _page(
            request, staff, errors={"shop": error}, shop=shop, gift_cards=gift_cards, status=422
        )
    state = secrets.token_urlsafe(24)
    # One pending connection per session: starting again replaces the previous state.
    request.session[SESSION_KEY] = {
        "state": state,
        "merchant": staff.merchant.pk,
        "shop": shop,
        "gift_cards": gift_cards,
        "expires": (clock.now() + STATE_TTL).timestamp(),
    }
    return HttpResponseRedirect(
        authorize_url(
            shop=shop,
            client_id=app.client_id,
            redirect_uri=_callback_url(staff),
            state=state,
            gift_cards=gift_cards,
        )
    )


def _take_state(request: HttpRequest, staff: Staff) -> dict[str, object] | None:
    """The session's pending connection when the callback's ``state`` is its state for
    this merchant; it is removed then, so the same redirect can't be used twice. A wrong
    state leaves it alone (a forged link mustn't cancel the owner's real one)."""
    pending = request.session.get(SESSION_KEY)
    given = request.GET.get("state", "")
    if not isinstance(pending, dict) or not given:
        return None
    if not hmac.compare_digest(str(pending.get("state", "")), given):
        return None
    if pending.get("merchant") != staff.merchant.pk:
        return None
    del request.session[SESSION_KEY]
    return pending


@never_cache
@require_http_methods(["GET"])
@staff_page(*OWNER_ROLES)
def shopify_callback(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Where Shopify sends the owner back: check, trade the code for a token, connect."""
    app = shopify_app()
    if app is None:
        return _page(request, staff, errors=_not_configured(), status=409)

    def refuse(message: str) -> HttpResponse:
        return _page(request, staff, errors={"form": message}, status=400)

    pending = _take_state(request, staff)
    if pending is None:
        return refuse(
            _(
                "This answer from Shopify doesn't belong to a connection started here, or it"
                " was already used. Start again."
            )
        )
    expires = pending.get("expires")
    if not isinstance(expires, int | float) or clock.now().timestamp() > expires:
        return refuse(_("The connection took more than 10 minutes. Start again."))
    shop = request.GET.get("shop", "")
    if shop != pending.get("shop"):
        return refuse(_("Shopify answered for another shop than the one you named. Start again."))
    if not signed_by_shopify(request.GET, app.client_secret):
        return refuse(_("Shopify's signature on this answer is wrong. Nothing was saved."))
    if not SHOP_PATTERN.fullmatch(shop) or not fresh_timestamp(
        request.GET.get("timestamp", ""), clock.now()
    ):
        return refuse(_("This answer from Shopify is too old or malformed. Start again."))
    code = request.GET.get("code", "")
    if not code:
        return refuse(_("Shopify sent no authorization code. Start again."))
    try:
        token = shopify.exchange_code(
            shop=shop, client_id=app.client_id, client_secret=app.client_secret, code=code
        )
    except StoreError as error:
        message = _("Shopify refused the connection: %(reason)s") % {"reason": str(error)}
        return _page(request, staff, errors={"form": message}, status=502)
    credentials = {"access_token": token}
    if pending.get("gift_cards") is True:
        credentials[GIFT_CARD_SETTING] = "true"
    try:
        connection: StoreConnection = connect_store(
            merchant=staff.merchant,
            platform=Platform.SHOPIFY,
            name=shop[:80],
            base_url=f"https://{shop}",
            credentials=credentials,
            # Shopify signs the store's webhooks with the app's client secret.
            webhook_secret=app.client_secret,
        )
    except DomainError as error:
        return _page(request, staff, errors={"form": str(error.message)}, status=error.status)
    try:
        register_webhooks(connection.pk)
    except Exception as error:
        # The connection is saved and a backfill still brings the orders: whatever went
        # wrong here is told on the page, never a lost connection or a 500.
        log.warning("registering webhooks for connection %s failed", connection.pk, exc_info=True)
        reason = str(error) if isinstance(error, StoreError) else _("an unexpected error")
        request.session[WEBHOOKS_ERROR_KEY] = _(
            "The store is connected, but its webhooks couldn't be registered: %(reason)s."
            " New orders come in when you run a backfill."
        ) % {"reason": reason}
    return HttpResponseRedirect(_connections_url(staff, connected=str(connection.pk)))
