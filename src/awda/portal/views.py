"""Shopper portal pages: find the order, then follow the return. The steps in between
(items, money, the way back, review) are in ``steps``.

A shopper reaches an order only through ``access`` (order number with its e-mail or phone,
or a signed link).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from awda.core import ratelimit
from awda.core.errors import DomainError
from awda.core.formatting import FormatOptions
from awda.merchants.models import Merchant
from awda.notifications.services import request_order_link
from awda.orders.models import Order
from awda.orders.selectors import find_order_for_shopper
from awda.portal import access, steps, story
from awda.portal.forms import LookupForm
from awda.portal.pages import context, language, store_page, too_many
from awda.portal.parcel import parcel_context
from awda.returns.selectors import get_return_summary, money_by_resolution

# -- 1. find the order -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@store_page
def lookup(request: HttpRequest, merchant: Merchant) -> HttpResponse:
    form = LookupForm(request.POST or None)
    not_found = False
    if request.method == "POST" and form.is_valid():
        window = timedelta(minutes=settings.AWDA_PORTAL_LOOKUP_WINDOW_MINUTES)
        by_ip = ratelimit.hit(
            f"lookup-ip:{ratelimit.client_ip(request)}",
            limit=settings.AWDA_PORTAL_LOOKUPS_PER_IP,
            window=window,
        )
        if not by_ip.allowed:
            return too_many(request, merchant, by_ip.retry_after)
        number = form.cleaned_data["order_number"]
        order_key = f"lookup-order:{merchant.pk}:{number}"
        failed = ratelimit.peek(order_key, window=window)
        if failed >= settings.AWDA_PORTAL_FAILED_LOOKUPS_PER_ORDER:
            return too_many(request, merchant, window)
        contact = form.cleaned_data["contact"]
        wants_link = request.POST.get("action") == "link"
        if wants_link and "@" not in contact:
            form.add_error("contact", _("Enter the order's e-mail address to get a link."))
            return render(
                request, "portal/lookup.html", context(request, merchant, form=form), status=422
            )
        order = find_order_for_shopper(merchant=merchant, number=number, contact=contact)
        if order is None:
            ratelimit.count(order_key, window=window)
        if wants_link:
            if order is not None:
                request_order_link(merchant=merchant, order=order, language=language())
            # The same answer either way: it says nothing of whether the order exists.
            return render(
                request, "portal/lookup.html", context(request, merchant, form=form, link_sent=True)
            )
        if order is not None:
            access.grant(request, merchant, order.pk)
            return HttpResponseRedirect(steps.url("items", merchant, order.number))
        not_found = True  # one neutral message: it says nothing of whether the order exists
    return render(
        request,
        "portal/lookup.html",
        context(request, merchant, form=form, not_found=not_found),
        status=200,
    )


@require_http_methods(["GET"])
@store_page
def order_link(request: HttpRequest, merchant: Merchant, token: str) -> HttpResponse:
    order_id = access.read_order_link_token(token, merchant)
    order = (
        Order.objects.for_merchant(merchant).filter(pk=order_id).first()
        if order_id is not None
        else None
    )
    if order is None:
        return render(request, "portal/link_invalid.html", context(request, merchant), status=410)
    access.grant(request, merchant, order.pk)
    return HttpResponseRedirect(steps.url("items", merchant, order.number))


# -- 2–6. the return, step by step ------------------------------------------------------------

order_items = steps.items_view
order_resolution = steps.resolution_view
order_method = steps.method_view
order_review = steps.review_view


# -- 7. the return's status ---------------------------------------------------------------------


@require_http_methods(["GET"])
@store_page
def return_status(request: HttpRequest, merchant: Merchant, number: str) -> HttpResponse:
    try:
        ret = get_return_summary(merchant=merchant, number=number)
    except DomainError:
        raise Http404("no such return") from None
    token = request.GET.get("t", "")
    if token and access.read_order_link_token(token, merchant) == ret.order_id:
        access.grant(request, merchant, ret.order_id)  # the link in the shopper's e-mail
    if not access.may_see(request, merchant, ret.order_id):
        return HttpResponseRedirect(reverse("portal:lookup", kwargs={"store": merchant.slug}))
    return render(
        request,
        "portal/return.html",
        context(
            request,
            merchant,
            ret=ret,
            story=story.for_return(ret.timeline, FormatOptions.of(merchant)),
            money=money_by_resolution(ret, ret.items),
            just_created=request.GET.get("new") == "1",
            **parcel_context(merchant, ret),
        ),
    )
