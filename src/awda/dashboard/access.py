"""Who may open a staff page: written once, as a decorator, and checked on every request.

``staff_page(StaffRole.WAREHOUSE, StaffRole.OWNER)`` resolves ``<store>`` from the URL to the
signed-in user's membership of that merchant and hands the view a ``Staff`` (merchant,
user, role). Anonymous → the sign-in page (then back); no membership of that store → 404,
the same answer as a store that doesn't exist, so staff of one merchant can't tell which
other stores exist; a role not listed → 403. Views scope every query by ``staff.merchant``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from awda.dashboard.pages import context
from awda.merchants.models import Merchant, StaffMembership, StaffRole

P = ParamSpec("P")


@dataclass(frozen=True)
class Staff:
    """The signed-in person at one store: what every staff view is given."""

    merchant: Merchant
    user: AbstractBaseUser
    role: str

    @property
    def actor(self) -> str:
        # The timeline's and stock ledger's "who": stable across renames of the user.
        return f"staff:{self.user.pk}"

    def may(self, *roles: str) -> bool:
        return self.role in roles


StaffView = Callable[Concatenate[HttpRequest, Staff, P], HttpResponse]
StoreView = Callable[Concatenate[HttpRequest, str, P], HttpResponse]

# Who opens what; the store's home page lists the sections a role may open.
STATION_ROLES = (StaffRole.WAREHOUSE, StaffRole.OWNER)
SUPPORT_ROLES = (StaffRole.AGENT, StaffRole.OWNER)  # customers, returns, goodwill, notes
OWNER_ROLES = (StaffRole.OWNER,)  # budgets, goodwill approvals, the audit log
ANALYTICS_ROLES = (StaffRole.ANALYST, StaffRole.OWNER)  # the analytics pages and their CSV


def login_url(request: HttpRequest) -> HttpResponse:
    return redirect_to_login(request.get_full_path(), reverse("dashboard:login"))


def membership_of(user: AbstractBaseUser, store: str) -> StaffMembership | None:
    """The user's membership of the store the URL names (one query, merchant joined)."""
    return (
        StaffMembership.objects.select_related("merchant")
        .filter(user_id=user.pk, merchant__slug=store)
        .first()
    )


def staff_page(*roles: str) -> Callable[[StaffView[P]], StoreView[P]]:
    """Only signed-in members of the URL's store with one of ``roles`` (any role when none
    is given) reach the view; see the module's docstring for the answers to the others."""

    def decorate(view: StaffView[P]) -> StoreView[P]:
        @wraps(view)
        def wrapper(
            request: HttpRequest, store: str, *args: P.args, **kwargs: P.kwargs
        ) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return login_url(request)
            membership = membership_of(user, store)
            if membership is None:
                raise Http404("no such store")
            staff = Staff(merchant=membership.merchant, user=user, role=membership.role)
            if roles and membership.role not in roles:
                return render(
                    request, "dashboard/forbidden.html", context(request, staff), status=403
                )
            return view(request, staff, *args, **kwargs)

        return wrapper

    return decorate
