"""Prepare the analytics pages' HTTP benchmark on the database bench/analytics_seed.py seeded
(10M order lines, ~1.1M return items, the ``bench-analytics`` store): an analyst signed in
in N database sessions, as ``django.contrib.auth.login`` leaves a session, and a reason code
with returns for the drill-down. Seeds nothing else and never drops anything: run it again
and it reuses the analyst (and adds N new sessions).

Before writing anything for wrk it opens every page kind through Django's test client with
the first session, in both languages: the overview, the four rate breakdowns, the drill-down
and one table's CSV, each must answer 200.

Usage: AWDA_DATABASE_URL=postgres://…/awda_bench_analytics \
         python bench/analytics_pages_seed.py --out DIR [--sessions 8]
Writes to DIR:
  analytics_sessions.txt  one session cookie value per line
  analytics_env           ``store``, ``session_cookie`` (the cookie's name) and ``reason``
                          (the drill-down's reason code) for analytics.lua
  analytics_pages_seed.json  what was checked, with each check's time (one request each:
                          not a measurement)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "awda.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from awda.analytics import selectors  # noqa: E402
from awda.dashboard.analytics_views import today_of  # noqa: E402
from awda.merchants.models import Merchant, StaffRole  # noqa: E402
from awda.merchants.services import add_staff  # noqa: E402

SLUG = "bench-analytics"  # bench/analytics_seed.py's store
ANALYST_USERNAME = "bench-analyst"
ANALYST_PASSWORD = "bench-analyst-password"  # a benchmark database's user, never a real one
HOST = "127.0.0.1"  # in ALLOWED_HOSTS by default
ACCEPT_LANGUAGE = {"ar": "ar-SA,ar;q=0.9,en;q=0.8", "en": "en-US,en;q=0.9,ar;q=0.5"}
DIMENSIONS = ("product", "variant", "category", "supplier")
CHECK_PERIOD = "30"  # the checks' period: the cheapest; wrk's warm-up sees the others
ESTIMATED = {
    "orders_orderline": "order_lines",
    "orders_order": "orders",
    "returns_return": "returns",
    "returns_returnitem": "return_items",
}


def signed_in_session(user: User) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    assert session.session_key is not None
    return session.session_key


def pick_reason(merchant: Merchant) -> tuple[str, int]:
    """The reason with the most returned items in the last 30 days (so every period's
    drill-down has a full page of items), and that count."""
    today = today_of(merchant)
    shares = selectors.reason_shares(
        merchant=merchant, start=today - timedelta(days=int(CHECK_PERIOD) - 1), end=today
    )
    coded = [s for s in shares if s.code and s.items > 0]
    if not coded:
        raise SystemExit(
            f"analytics_pages_seed: {SLUG} has no returns with a reason in the last "
            f"{CHECK_PERIOD} days (seeded long ago? the seed spreads orders over the 400 days "
            "before it ran)"
        )
    best = max(coded, key=lambda s: s.items)
    return best.code, best.items


def table_estimates() -> dict[str, int]:
    """The big tables' row counts as PostgreSQL estimates them (no 10M-row count)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relname = ANY(%s)",
            [list(ESTIMATED)],
        )
        found = dict(cursor.fetchall())
    return {name: int(found.get(table, -1)) for table, name in ESTIMATED.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sessions", type=int, default=8)
    args = parser.parse_args()
    merchant = Merchant.objects.filter(slug=SLUG).first()
    if merchant is None:
        raise SystemExit(
            f"analytics_pages_seed: no store {SLUG!r} in {settings.DATABASES['default']['NAME']}:"
            " seed it first with bench/analytics_seed.py seed (see bench/README.md, Analytics)"
        )
    membership = add_staff(  # creates the analyst the first time, reuses it afterwards
        merchant=merchant,
        username=ANALYST_USERNAME,
        email="analyst@bench-analytics.awda.invalid",
        password=ANALYST_PASSWORD,
        role=StaffRole.ANALYST,
    )
    user = User.objects.get(pk=membership.user_id)
    cookies = [signed_in_session(user) for _ in range(args.sessions)]
    reason, reason_items = pick_reason(merchant)

    client = Client(HTTP_HOST=HOST)
    client.cookies[settings.SESSION_COOKIE_NAME] = cookies[0]
    checks: list[dict[str, Any]] = []
    for lang in ("ar", "en"):
        base = f"/{lang}/staff/{merchant.slug}/analytics/"
        period = f"period={CHECK_PERIOD}"
        paths = [f"{base}?{period}"]
        paths += [f"{base}rates/{by}/?{period}" for by in DIMENSIONS]
        paths += [f"{base}items/?{period}&reason={reason}", f"{base}reasons.csv?{period}"]
        for path in paths:
            started = time.perf_counter()
            answer = client.get(path, HTTP_ACCEPT_LANGUAGE=ACCEPT_LANGUAGE[lang])
            ms = round((time.perf_counter() - started) * 1000, 1)
            checks.append({"path": path, "status": answer.status_code, "ms": ms})
            if answer.status_code != 200:
                raise SystemExit(
                    f"analytics_pages_seed: GET {path} answered {answer.status_code}, not 200: "
                    + answer.content[:300].decode("utf-8", "replace")
                )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "analytics_sessions.txt").write_text("\n".join(cookies) + "\n")
    (args.out / "analytics_env").write_text(
        f"store={merchant.slug}\nsession_cookie={settings.SESSION_COOKIE_NAME}\nreason={reason}\n"
    )
    (args.out / "analytics_pages_seed.json").write_text(
        json.dumps(
            {
                "kind": "analytics",
                "store": merchant.slug,
                "analyst": ANALYST_USERNAME,
                "sessions": len(cookies),
                "reason": reason,
                "reason_items_30d": reason_items,
                "estimated_rows": table_estimates(),
                "checks": checks,
            },
            indent=2,
        )
        + "\n"
    )
    print(
        f"analytics: {len(cookies)} analyst sessions on {merchant.slug}; drill-down reason "
        f"{reason!r} ({reason_items:,} items in {CHECK_PERIOD} days); overview, rates x4, "
        "drill-down and CSV answered 200 in both languages",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
