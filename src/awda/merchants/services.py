"""Use cases for merchants, staff and API keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils.translation import gettext as _

from awda.core import clock
from awda.core.cache import LocalCache
from awda.core.db import loaded_instance
from awda.core.errors import PermissionDenied
from awda.core.images import clean_image
from awda.merchants.models import ApiKey, Merchant, StaffMembership, StaffRole
from awda.merchants.scopes import ALL, clean_scopes, grants_no_more


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    plaintext: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    # API secrets are 256-bit random strings, so a fast hash is enough: there is nothing
    # to brute-force, and a slow KDF would cost every API request.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_merchant(
    *,
    slug: str,
    name: str,
    name_ar: str = "",
    currency: str = "SAR",
    country: str = "SA",
    default_language: str = "ar",
) -> Merchant:
    """Create a merchant with nothing else yet (reasons and policy are set up separately)."""
    with transaction.atomic():
        return Merchant.objects.create(
            slug=slug,
            name=name,
            name_ar=name_ar,
            currency=currency,
            country=country,
            default_language=default_language,
        )


@dataclass(frozen=True)
class KeyAccess:
    """Who a bearer token speaks for and what it may do there."""

    merchant: Merchant
    scopes: frozenset[str]


def _checked_scopes(scopes: Iterable[str], granted_by: Iterable[str] | None) -> list[str]:
    cleaned = clean_scopes(scopes)
    # A key that hands out keys (or edits one) can't hand out more than it holds itself.
    if granted_by is not None and not grants_no_more(granted_by, cleaned):
        raise PermissionDenied(_("A key can't grant scopes it doesn't have itself."))
    return cleaned


def issue_api_key(
    *,
    merchant: Merchant,
    name: str,
    scopes: Iterable[str] = (ALL,),
    granted_by: Iterable[str] | None = None,
) -> IssuedKey:
    """Create an API key for one merchant and return its plaintext once. ``scopes`` are names
    from ``merchants.scopes`` (full access unless given); ``granted_by`` are the scopes of the
    key asking for it, if a key asks."""
    cleaned = _checked_scopes(scopes, granted_by)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            merchant=merchant,
            name=name,
            prefix=prefix,
            secret_hash=hash_secret(secret),
            scopes=cleaned,
        )
    return IssuedKey(key=key, plaintext=f"awda_{prefix}_{secret}")


def change_api_key_scopes(
    *,
    merchant: Merchant,
    prefix: str,
    scopes: Iterable[str],
    granted_by: Iterable[str] | None = None,
) -> list[str]:
    """Replace a live key's scopes; this process applies them at once, every other within
    ``AWDA_LOCAL_CACHE_SECONDS``. Returns the stored (cleaned) scopes."""
    cleaned = _checked_scopes(scopes, granted_by)
    with transaction.atomic():
        ApiKey.objects.for_merchant(merchant).filter(prefix=prefix, revoked_at__isnull=True).update(
            scopes=cleaned
        )
        _keys.invalidate(prefix)
        transaction.on_commit(lambda: _keys.invalidate(prefix))
    return cleaned


def revoke_api_key(*, merchant: Merchant, prefix: str) -> None:
    """Revoke a key: refused at once by this process, and by every other within
    ``AWDA_LOCAL_CACHE_SECONDS`` (the time they may keep a key they checked)."""
    with transaction.atomic():
        ApiKey.objects.for_merchant(merchant).filter(prefix=prefix, revoked_at__isnull=True).update(
            revoked_at=clock.now()
        )
        _keys.invalidate(prefix)
        transaction.on_commit(lambda: _keys.invalidate(prefix))


_MERCHANT_FIELDS = (
    "id", "slug", "name", "name_ar", "currency", "country", "default_language", "timezone",
    "logo_url", "primary_color",
)  # fmt: skip


# prefix -> (secret hash, scopes, merchant columns) of live keys; never the secret itself. Every API
# request authenticates, so this saves a query each time (bench/README.md has the figures).
_keys: LocalCache[str, tuple[Any, ...]] = LocalCache(
    "api keys", ttl=settings.AWDA_LOCAL_CACHE_SECONDS
)


def _key_row(prefix: str) -> tuple[Any, ...] | None:
    # Plain SQL saves the ORM's per-query build (~0.7 ms).
    columns = ", ".join(f"m.{f}" for f in _MERCHANT_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT k.secret_hash, k.scopes, {columns} FROM {ApiKey._meta.db_table} k "  # noqa: S608
            f"JOIN {Merchant._meta.db_table} m ON m.id = k.merchant_id "
            "WHERE k.prefix = %s AND k.revoked_at IS NULL",
            [prefix],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    # Django has both backends hand JSON back to raw SQL as text; decode it once, here.
    scopes = json.loads(row[1]) if isinstance(row[1], str) else row[1]
    return (row[0], frozenset(scopes or ()), *row[2:])


# slug -> merchant columns, for the shopper pages (every one names its store in the URL).
_stores: LocalCache[str, tuple[Any, ...]] = LocalCache(
    "stores by slug", ttl=settings.AWDA_LOCAL_CACHE_SECONDS
)
_STORE_FIELDS = (*_MERCHANT_FIELDS, "arabic_digits", "hijri_dates")


def _store_row(slug: str) -> tuple[Any, ...] | None:
    row = Merchant.objects.filter(slug=slug).values_list(*_STORE_FIELDS).first()
    return tuple(row) if row is not None else None


def merchant_by_slug(slug: str) -> Merchant | None:
    """The store a public URL names, or None. A renamed or re-branded store shows within
    ``AWDA_LOCAL_CACHE_SECONDS`` in every process; other fields load on first use."""
    row = _stores.get_or_load(slug, lambda: _store_row(slug))
    if row is None:
        return None
    return loaded_instance(Merchant, **dict(zip(_STORE_FIELDS, row, strict=True)))


def forget_store(sender: object, instance: Merchant, **kwargs: object) -> None:
    """Drop a saved merchant from this process's store cache (a ``post_save`` receiver)."""
    _stores.invalidate(instance.slug)


def api_key_access(token: str) -> KeyAccess | None:
    """The merchant and scopes of a bearer token, or None for any unknown or revoked key."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "awda":
        return None
    _scheme, prefix, secret = parts
    row = _keys.get_or_load(prefix, lambda: _key_row(prefix))
    if row is None or not hmac.compare_digest(row[0], hash_secret(secret)):
        return None
    # A fresh instance per request (callers may change it); other fields load on first use.
    merchant = Merchant.from_db(connection.alias, list(_MERCHANT_FIELDS), row[2:])
    return KeyAccess(merchant=merchant, scopes=row[1])


def authenticate_api_key(token: str) -> Merchant | None:
    """The merchant a bearer token belongs to, or None for any unknown or revoked key."""
    access = api_key_access(token)
    return access.merchant if access is not None else None


def add_staff(
    *,
    merchant: Merchant,
    username: str,
    email: str,
    password: str,
    role: StaffRole,
    admin_access: bool = False,
) -> StaffMembership:
    """Create (or reuse) a user and give them a role at ``merchant``.

    ``admin_access`` also opens Django admin (raw configuration) to them.
    """
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(username=username, email=email, password=password)
        if admin_access:
            User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
        membership, _created = StaffMembership.objects.update_or_create(
            merchant=merchant, user=user, defaults={"role": role}
        )
        return membership


LABEL_LOGO_MAX_BYTES = 2 * 1024 * 1024
LABEL_LOGO_MAX_PIXELS = 4_000_000


def set_label_logo(*, merchant: Merchant, data: bytes) -> int:
    """Store the logo printed on return labels, checked and re-encoded by its content (no
    metadata); empty ``data`` removes it. Returns the stored size in bytes."""
    if not data:
        stored = b""
    else:
        stored = clean_image(
            data, max_bytes=LABEL_LOGO_MAX_BYTES, max_pixels=LABEL_LOGO_MAX_PIXELS, field="logo"
        ).content
    with transaction.atomic():
        Merchant.objects.filter(pk=merchant.pk).update(label_logo=stored)
    merchant.label_logo = stored
    forget_store(Merchant, merchant)
    return len(stored)
