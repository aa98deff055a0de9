"""Seed the shopper-portal benchmark: the real demo store, plus sessions that may see its orders.

Runs ``awda.demo.seed_demo()`` (store "demo", ~2,000 orders and their returns, all through the
services) against the benchmark's database, then creates N Django sessions in the database
session store, each granted one demo order exactly as ``portal.access.grant`` leaves it
(``session[access.SESSION_KEY] = {str(merchant.pk): [order.pk]}``). Half of them (as far as
there are returns) are orders with a return, so the status page has a return to show.

Before writing anything for wrk it fetches every portal page in both languages through
Django's test client with the first session and fails unless each answers 200.

Usage: AWDA_DATABASE_URL=postgres://… python bench/portal_seed.py --out DIR [--sessions 200]
Writes to DIR:
  sessions.csv       ``cookie_value,order_number,return_number_or_empty`` per session
  portal_env         ``key=value`` lines for the wrk script: store, session_cookie (the
                     cookie's name), csrf_cookie (``name=value`` of a valid CSRF cookie, which
                     a shopper's browser holds after the lookup form)
  portal_seed.json   what was seeded and how long it took
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "awda.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.test import Client  # noqa: E402

from awda.demo import DEMO_SLUG, seed_demo  # noqa: E402
from awda.merchants.models import Merchant  # noqa: E402
from awda.orders.models import Order  # noqa: E402
from awda.portal import access  # noqa: E402
from awda.returns.models import Return  # noqa: E402

HOST = "127.0.0.1"  # in ALLOWED_HOSTS by default
ACCEPT_LANGUAGE = {"ar": "ar-SA,ar;q=0.9,en;q=0.8", "en": "en-US,en;q=0.9,ar;q=0.5"}


def pick_orders(merchant: Merchant, n: int, rng: random.Random) -> list[tuple[Order, str]]:
    """n orders with the number of their latest return ('' if none): half with a return."""
    latest = dict(
        Return.objects.filter(merchant=merchant)
        .values("order_id")
        .annotate(last=Max("pk"))
        .values_list("order_id", "last")
    )
    numbers = dict(Return.objects.filter(pk__in=latest.values()).values_list("pk", "number"))
    with_return = sorted(latest)
    # Orders a shopper would look up to return something: delivered ones.
    without = sorted(
        Order.objects.for_merchant(merchant)
        .filter(delivered_at__isnull=False)
        .exclude(pk__in=with_return)
        .values_list("pk", flat=True)
    )
    k = min(len(with_return), n // 2)
    chosen = rng.sample(with_return, k) + rng.sample(without, min(len(without), n - k))
    orders = Order.objects.in_bulk(chosen)
    return [(orders[pk], numbers[latest[pk]] if pk in latest else "") for pk in sorted(chosen)]


def grant_session(merchant: Merchant, order: Order) -> str:
    """A new database session that may see ``order``, as ``access.grant`` leaves it."""
    session = SessionStore()
    session[access.SESSION_KEY] = {str(merchant.pk): [order.pk]}
    session.create()
    assert session.session_key is not None
    return session.session_key


def check_pages(slug: str, cookie: str, order_number: str, return_number: str) -> str:
    """Every page in both languages answers 200; returns a CSRF cookie the lookup page set."""
    public = Client(HTTP_HOST=HOST)
    shopper = Client(HTTP_HOST=HOST)
    shopper.cookies[settings.SESSION_COOKIE_NAME] = cookie
    csrf = ""
    for lang in ("ar", "en"):
        base = f"/{lang}/r/{slug}/"
        pages = [
            (public, base),
            (public, f"{base}policy/"),
            (shopper, f"{base}orders/{order_number}/"),
            (shopper, f"{base}returns/{return_number}/"),
        ]
        for client, path in pages:
            response = client.get(path, HTTP_ACCEPT_LANGUAGE=ACCEPT_LANGUAGE[lang])
            if response.status_code != 200:
                raise SystemExit(f"portal_seed: GET {path} answered {response.status_code}")
            cookie_set = response.cookies.get(settings.CSRF_COOKIE_NAME)
            if cookie_set is not None and not csrf:
                csrf = cookie_set.value
    if not csrf:
        raise SystemExit("portal_seed: no page set a CSRF cookie")
    return csrf


def seed(*, out: Path, sessions: int, orders: int, seed_value: int) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    info = seed_demo(orders=orders, seed=seed_value, progress=False)
    t1 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # fresh statistics, as a live database would have
    t2 = time.perf_counter()
    merchant = Merchant.objects.get(slug=DEMO_SLUG)
    picked = pick_orders(merchant, sessions, random.Random(seed_value))
    rows = [(grant_session(merchant, order), order.number, ret) for order, ret in picked]
    t3 = time.perf_counter()
    first = next((r for r in rows if r[2]), None)
    if first is None:
        raise SystemExit("portal_seed: the demo store has no returns")
    csrf = check_pages(merchant.slug, *first)
    t4 = time.perf_counter()

    with (out / "sessions.csv").open("w") as f:
        for cookie, number, ret in rows:
            f.write(f"{cookie},{number},{ret}\n")
    (out / "portal_env").write_text(
        f"store={merchant.slug}\n"
        f"session_cookie={settings.SESSION_COOKIE_NAME}\n"
        f"csrf_cookie={settings.CSRF_COOKIE_NAME}={csrf}\n"
    )
    demo = dataclasses.asdict(info)
    demo.pop("api_key")
    demo.pop("staff_password")
    result = {
        "kind": "portal",
        "demo": demo,
        "sessions": len(rows),
        "sessions_with_return": sum(1 for r in rows if r[2]),
        "orders_per_session": 1,
        "timings": {
            "seed_demo_s": round(t1 - t0, 2),
            "analyze_s": round(t2 - t1, 2),
            "sessions_s": round(t3 - t2, 2),
            "check_s": round(t4 - t3, 2),
            "total_s": round(t4 - t0, 2),
        },
    }
    (out / "portal_seed.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--orders", type=int, default=2000, help="seed_demo(orders=…)")
    parser.add_argument("--seed", type=int, default=7, help="seed_demo(seed=…)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("note: not PostgreSQL; figures won't match the benchmark", file=sys.stderr)
    r = seed(out=args.out, sessions=args.sessions, orders=args.orders, seed_value=args.seed)
    d, t = r["demo"], r["timings"]
    print(
        f"demo store '{d['merchant_slug']}': {d['orders']:,} orders, {d['returns']:,} returns, "
        f"{d['products']} products / {d['variants']} variants, {d['customers']:,} customers "
        f"({'seeded' if d['created'] else 'already there'}: {t['seed_demo_s']:.1f} s, "
        f"analyze {t['analyze_s']:.1f} s)"
    )
    print(
        f"{r['sessions']} sessions ({r['sessions_with_return']} with a return) in "
        f"{t['sessions_s']:.2f} s; every page answered 200 in both languages"
    )


if __name__ == "__main__":
    main()
