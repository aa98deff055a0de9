"""Seed the receiving station's benchmark on the demo store bench/portal_seed.py made: the
demo's warehouse person (``awda.demo.WAREHOUSE_USERNAME``) signed in in N database
sessions, as ``django.contrib.auth.login`` leaves a session, and the codes to scan.

Before writing anything for wrk it opens the station in both languages through Django's
test client with the first session: a scan must answer 302 (to the return's page) and the
return's page 200.

Usage: AWDA_DATABASE_URL=postgres://… python bench/station_seed.py --out DIR [--sessions 20]
Writes to DIR:
  station_sessions.txt  one session cookie value per line
  station_codes.txt     ``tracking_number,return_number`` per parcel of the demo's returns
  station_env           ``store`` and ``session_cookie`` (the cookie's name) for station.lua
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "awda.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.test import Client  # noqa: E402

from awda.demo import DEMO_PASSWORD, DEMO_SLUG, WAREHOUSE_USERNAME  # noqa: E402
from awda.merchants.models import Merchant, StaffRole  # noqa: E402
from awda.merchants.services import add_staff  # noqa: E402
from awda.shipping.models import Shipment  # noqa: E402

HOST = "127.0.0.1"


def signed_in_session(user: User) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    assert session.session_key is not None
    return session.session_key


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    merchant = Merchant.objects.get(slug=DEMO_SLUG)
    membership = add_staff(  # the demo made it; a store seeded before it existed gets it now
        merchant=merchant,
        username=WAREHOUSE_USERNAME,
        email="warehouse@demo.awda.invalid",
        password=DEMO_PASSWORD,
        role=StaffRole.WAREHOUSE,
    )
    user = User.objects.get(pk=membership.user_id)
    cookies = [signed_in_session(user) for _ in range(args.sessions)]
    parcels = list(
        Shipment.objects.for_merchant(merchant)
        .exclude(tracking_number="")
        .values_list("tracking_number", "return_request__number")
        .order_by("pk")
    )
    if not parcels:
        raise SystemExit("station_seed: the demo store has no parcels")
    client = Client(HTTP_HOST=HOST)
    client.cookies[settings.SESSION_COOKIE_NAME] = cookies[0]
    tracking, number = parcels[0]
    for lang in ("ar", "en"):
        base = f"/{lang}/staff/{merchant.slug}/warehouse/"
        scan = client.get(base, {"code": tracking})
        page = client.get(f"{base}returns/{number}/")
        if scan.status_code != 302 or page.status_code != 200:
            raise SystemExit(
                f"station_seed: scan answered {scan.status_code}, return page {page.status_code}"
            )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "station_sessions.txt").write_text("\n".join(cookies) + "\n")
    (args.out / "station_codes.txt").write_text("".join(f"{t},{n}\n" for t, n in parcels))
    (args.out / "station_env").write_text(
        f"store={merchant.slug}\nsession_cookie={settings.SESSION_COOKIE_NAME}\n"
    )
    print(
        f"station: {len(cookies)} warehouse sessions, {len(parcels)} parcels to scan; "
        "scan and return page answered in both languages",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
