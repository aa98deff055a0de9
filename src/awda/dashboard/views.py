"""Signing in and out, and the pages that lead to a store's sections."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import auth
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from awda.core import ratelimit
from awda.dashboard.access import (
    ANALYTICS_ROLES,
    OWNER_ROLES,
    STATION_ROLES,
    SUPPORT_ROLES,
    Staff,
    login_url,
    staff_page,
)
from awda.dashboard.pages import context
from awda.merchants.models import StaffMembership, StaffRole

# Failed sign-ins per client address and window: enough for typos, too few to guess.
FAILED_LOGINS_PER_IP = 10
FAILED_LOGIN_WINDOW = timedelta(minutes=15)


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("dashboard:index")


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    form = AuthenticationForm(request, data=request.POST or None)
    status, too_many = 200, False
    if request.method == "POST":
        key = f"staff-login:{ratelimit.client_ip(request)}"
        if ratelimit.peek(key, window=FAILED_LOGIN_WINDOW) >= FAILED_LOGINS_PER_IP:
            status, too_many = 429, True
        elif form.is_valid():
            # auth.login gives the session a new key (no fixation) and rotates the CSRF token.
            auth.login(request, form.get_user())
            return HttpResponseRedirect(_next_url(request))
        else:
            ratelimit.count(key, window=FAILED_LOGIN_WINDOW)
            status = 400
    return render(
        request,
        "dashboard/login.html",
        context(request, form=form, next=_next_url(request), too_many=too_many),
        status=status,
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth.logout(request)
    return HttpResponseRedirect(reverse("dashboard:login"))


@never_cache
@require_http_methods(["GET"])
def index(request: HttpRequest) -> HttpResponse:
    """The stores the signed-in person works for; straight to the store when there is one."""
    if not request.user.is_authenticated:
        return login_url(request)
    memberships = list(
        StaffMembership.objects.filter(user_id=request.user.pk)
        .select_related("merchant")
        .order_by("merchant__name")
    )
    if len(memberships) == 1:
        return HttpResponseRedirect(
            reverse("dashboard:home", kwargs={"store": memberships[0].merchant.slug})
        )
    return render(request, "dashboard/index.html", context(request, memberships=memberships))


@never_cache
@require_http_methods(["GET"])
@staff_page()
def home(request: HttpRequest, staff: Staff) -> HttpResponse:
    """A store's start page: the sections this person's role opens."""
    if staff.role == StaffRole.WAREHOUSE:
        # The warehouse's only section: no page in between.
        return HttpResponseRedirect(
            reverse("dashboard:scan", kwargs={"store": staff.merchant.slug})
        )
    return render(
        request,
        "dashboard/home.html",
        context(
            request,
            staff,
            station=staff.may(*STATION_ROLES),
            support=staff.may(*SUPPORT_ROLES),
            owner=staff.may(*OWNER_ROLES),
            analytics=staff.may(*ANALYTICS_ROLES),
        ),
    )
