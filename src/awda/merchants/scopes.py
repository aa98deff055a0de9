"""What an API key may do: ``<area>:read`` / ``<area>:write`` per area of the API, or ``*``.

Defined here once; the API's authentication (``awda.api.auth``) checks them and the admin
offers them as checkboxes. ``write`` implies ``read`` of the same area; ``*`` is everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from awda.core.errors import DomainError, InvalidInput

ALL = "*"
READ_METHODS = frozenset({"GET", "HEAD"})


class Area(models.TextChoices):
    """One part of the API; each router of ``awda.api`` belongs to exactly one."""

    ORDERS = "orders", _("Orders")
    RETURNS = "returns", _("Returns")
    POLICY = "policy", _("Return policy")
    SHIPPING = "shipping", _("Shipping")
    MONEY = "money", _("Money (store credit, bank transfers, refunds)")
    WAREHOUSE = "warehouse", _("Warehouse and stock")
    INTEGRATIONS = "integrations", _("Store connections")
    WEBHOOKS = "webhooks", _("Webhooks")
    SUPPORT = "support", _("Customers, goodwill and audit log")
    ANALYTICS = "analytics", _("Analytics")


# Every scope name with its label, in the order the admin lists them.
SCOPES: dict[str, str | Promise] = {
    ALL: _("Everything (all areas, read and write)"),
    "orders:read": _("Orders: read"),
    "orders:write": _("Orders: read and write"),
    "returns:read": _("Returns: read"),
    "returns:write": _("Returns: read and write"),
    "policy:read": _("Return policy: read"),
    "policy:write": _("Return policy: read and write"),
    "shipping:read": _("Shipping: read"),
    "shipping:write": _("Shipping: read and write"),
    "money:read": _("Money: read"),
    "money:write": _("Money: read and write"),
    "warehouse:read": _("Warehouse: read"),
    "warehouse:write": _("Warehouse: read and write"),
    "integrations:read": _("Store connections: read"),
    "integrations:write": _("Store connections: read and write"),
    "webhooks:read": _("Webhooks: read"),
    "webhooks:write": _("Webhooks: read and write"),
    "support:read": _("Customers and audit log: read"),
    "support:write": _("Customers: read, add notes and grant goodwill"),
    "analytics:read": _("Analytics: read"),
    "analytics:write": _("Analytics: read and write"),
}


class ScopeMissing(DomainError):
    """A valid key whose scopes don't cover the operation."""

    code = "scope_missing"
    status = 403

    def __init__(self, needed: str) -> None:
        super().__init__(
            _("This API key lacks the scope “%(scope)s” this operation needs.") % {"scope": needed}
        )
        self.needed = needed

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "needed": self.needed}


def needed_scope(area: str | None, method: str) -> str:
    """The scope an operation of ``area`` needs for an HTTP ``method``; ``*`` without an
    area (an operation no area claims is open to full-access keys only)."""
    if area is None:
        return ALL
    return f"{area}:{'read' if method.upper() in READ_METHODS else 'write'}"


def allows(held: Iterable[str], needed: str) -> bool:
    """Whether scopes ``held`` cover ``needed`` (``*`` covers all; write covers read)."""
    held = set(held)
    if ALL in held or needed in held:
        return True
    area, _sep, level = needed.partition(":")
    return level == "read" and f"{area}:write" in held


def clean_scopes(scopes: Iterable[str]) -> list[str]:
    """Known scope names, deduplicated and in the listed order; an unknown name is refused."""
    wanted = list(scopes)
    unknown = sorted({s for s in wanted if s not in SCOPES})
    if unknown:
        raise InvalidInput(
            _("Unknown scope(s): %(unknown)s. Known: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(SCOPES)},
            field="scopes",
        )
    return [s for s in SCOPES if s in wanted]


def grants_no_more(held: Iterable[str], requested: Iterable[str]) -> bool:
    """Whether a key with scopes ``held`` may give ``requested`` (never more than it has)."""
    held = list(held)
    return all(allows(held, s) if s != ALL else ALL in held for s in requested)
