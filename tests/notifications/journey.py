"""Helpers for the notification tests: a return driven through the real services, its events
dispatched as the worker would, and the links in what the shopper got opened."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.utils import translation

from awda.core.models import Event
from awda.core.outbox import dispatch
from awda.returns.models import Return
from awda.returns.services import ItemRequest, request_return
from awda.tasks import HANDLERS
from tests import factories

ARABIC = re.compile(r"[\u0600-\u06ff]")
LINK = re.compile(r"https://returns\.example/\S+")


def new_return(
    merchant: factories.Merchant,
    *,
    method: str = "label",
    language: str = "en",
    reason: str = "too_small",
    email: str = "shopper@example.com",
    price: int = 24000,
    **kw: Any,
) -> Return:
    order = factories.order(merchant, lines=[factories.line("1", price=price)], email=email)
    return request_return(
        merchant=merchant,
        order_number=order.number,
        items=[ItemRequest(line_ref="1", quantity=1, reason=reason)],
        method=method,
        language=language,
        channel="portal",
        **kw,
    )


def dispatch_events(name: str, ret: Return) -> int:
    """Run the handlers of the return's ``name`` events, as the worker does; how many ran."""
    ids = Event.objects.filter(
        name=name, aggregate_type="return", aggregate_id=str(ret.pk)
    ).order_by("created_at")
    for event_id in ids.values_list("pk", flat=True):
        assert dispatch(str(event_id), HANDLERS).complete
    return len(ids)


def link_in(text: str) -> str:
    links = LINK.findall(text)
    assert len(set(links)) == 1, links
    return links[0]


def assert_opens_the_status_page(url: str, ret: Return) -> None:
    """The link opens the return's status page for a reader with no session: the shopper."""
    response = Client().get(url.removeprefix("https://returns.example"))
    assert response.status_code == 200, url
    assert ret.number in response.content.decode()


def translated(lang: str, message: str, **values: str) -> str:
    with translation.override(lang):
        return translation.gettext(message) % values


# One SMS: 160 characters of the GSM alphabet, or 70 of UCS-2 (Arabic); the link comes on top.
SMS_LIMITS = {"en": 160, "ar": 70}


def assert_fits_one_sms(text: str, language: str) -> None:
    """The message before its status link fits one SMS (with the store names of the tests)."""
    body, _link = text.rsplit(" ", 1)
    assert len(body) <= SMS_LIMITS[language], body
    if language == "en":
        assert body.isascii(), body  # no no-break spaces or dashes that force UCS-2
