"""Seed the carrier-webhook benchmark, and sign the webhooks wrk will send.

``python bench/hooks_seed.py seed --out DIR [--parcels 200]``
  Runs ``awda.demo.seed_demo()`` (store "demo", all through the services), connects a second
  sandbox account to it, "Bench webhooks" (``connect_carrier``: a known webhook secret and
  ``tolerance_seconds`` = one day, priority 0 so it serves the returns opened next), then opens
  ``--parcels`` label returns on delivered demo orders (``request_return``, ``approve_return``
  when the policy asks for a review) and issues their parcels (``issue_return_shipment``): real
  tracking numbers on that account. Then it posts three signed webhooks through Django's test
  client in a rolled-back transaction and fails unless they answer 202, 200 (the same event
  again) and 401 (a tampered body). Writes to DIR:
    hooks_env         ``key=value`` lines for the wrk script: public_id (the account's webhook
                      address is /hooks/carriers/<public_id>/)
    parcels.csv       ``tracking_number,return_number`` per parcel
    hooks_seed.json   what was seeded and how long it took

``python bench/hooks_seed.py sign --out DIR --count 250000 [--append]``
  Signs ``--count`` distinct tracking events exactly as the sandbox carrier does
  (``SandboxCarrier(account settings).build_webhook``: event id from tracking number, status
  and time; ``X-Sandbox-Signature: t=<now>,v1=<HMAC-SHA256 of "<t>.<body>">``), cycling over
  the parcels. Every invocation uses a new nonce (its own start time, to the microsecond) as
  the base of the events' ``occurred_at`` (base + i µs), so the event ids never repeat those
  of an earlier invocation and a ``--reuse`` run never sends an id the database already has (a
  duplicate would be cheaper: it inserts nothing). Writes ``events.txt``: one event per line,
  ``<signature header value> <body>``, padded with spaces to a fixed width so the wrk script
  can seek to line N (the width is in ``events.json``).

``python bench/hooks_seed.py seed-store --out DIR [--bodies 1000]``
  The store-webhook benchmark's (``store_webhooks``): ``seed_demo()`` as above, then a
  Shopify connection "Bench store webhooks" (``connect_store``, a known webhook secret), then
  ``--bodies`` distinct Shopify orders made from the recorded ``order.json``
  (tests/fixtures/shared/shopify-python-api: each with its own id, number and line ids),
  each signed as Shopify signs (``X-Shopify-Hmac-Sha256``: base64 HMAC-SHA256 of the body
  with the secret). Checks through Django's test client, rolled back, that a delivery answers
  202, the same webhook id again 200, a tampered body 401. Writes ``hooks_env`` (``kind=store``,
  ``public_id``, ``shop``) and ``store_bodies.txt`` (``<hmac> <body>`` per line). The wrk script
  gives every request its own ``X-Shopify-Webhook-Id`` (a per-run nonce and a counter), so
  each is a distinct delivery, verified and stored; the HMAC covers the body only, as Shopify's.

Env: AWDA_DATABASE_URL and friends, as bench/run sets them.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "awda.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from awda.core.errors import DomainError  # noqa: E402
from awda.demo import DEMO_SLUG, seed_demo  # noqa: E402
from awda.integrations.models import StoreWebhook  # noqa: E402
from awda.integrations.services import connect_store  # noqa: E402
from awda.merchants.models import Merchant  # noqa: E402
from awda.orders.models import Order, OrderLine  # noqa: E402
from awda.returns.models import Return, ReturnStatus  # noqa: E402
from awda.returns.services import ItemRequest, approve_return, request_return  # noqa: E402
from awda.shipping.carriers.base import TrackingStatus  # noqa: E402
from awda.shipping.carriers.sandbox import SIGNATURE_HEADER, SandboxCarrier  # noqa: E402
from awda.shipping.models import CarrierAccount, InboundWebhook  # noqa: E402
from awda.shipping.services import (  # noqa: E402
    account_settings,
    connect_carrier,
    issue_return_shipment,
)

ACCOUNT_NAME = "Bench webhooks"
STORE_NAME = "Bench store webhooks"
SHOP = "bench-awda.myshopify.com"
ORDER_FIXTURE = (
    Path(__file__).resolve().parent.parent / "tests/fixtures/shared/shopify-python-api/order.json"
)
# Signatures are verified in full; only the window for their timestamp is wide, so events
# signed before the runs stay valid for the whole benchmark.
TOLERANCE_SECONDS = 86_400
HOST = "127.0.0.1"
# One line of events.txt: header value, a space, the body, spaces up to this width, "\n".
LINE_WIDTH = 400


def _read_env(work: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (work / "hooks_env").read_text().splitlines())


def open_parcels(merchant: Merchant, account: CarrierAccount, n: int) -> list[tuple[str, str]]:
    """n label returns on delivered orders, each with its parcel on ``account``."""
    with_return = set(Return.objects.filter(merchant=merchant).values_list("order_id", flat=True))
    orders = (
        Order.objects.for_merchant(merchant)
        .filter(delivered_at__isnull=False)
        .exclude(pk__in=with_return)
        .order_by("-delivered_at", "pk")  # the newest are inside the return window
    )
    parcels: list[tuple[str, str]] = []
    for order in orders.iterator():
        if len(parcels) >= n:
            break
        lines = OrderLine.objects.filter(order=order, delivered_quantity__gt=0).order_by("pk")
        for line in lines:
            try:
                ret = request_return(
                    merchant=merchant,
                    order_number=order.number,
                    items=[ItemRequest(line.line_ref, 1, "size", "too_small")],
                    method="label",
                )
            except DomainError:
                continue  # the policy says no for this line (final sale, underwear…)
            if ret.status == ReturnStatus.PENDING_REVIEW:
                ret = approve_return(merchant=merchant, number=ret.number, actor="bench")
            shipment = issue_return_shipment(return_id=ret.pk)
            if shipment is None or shipment.account_id != account.pk:
                raise SystemExit(f"hooks_seed: return {ret.number} got no parcel on {account}")
            parcels.append((shipment.tracking_number, ret.number))
            break
    if len(parcels) < n:
        raise SystemExit(f"hooks_seed: only {len(parcels)} of {n} parcels could be opened")
    return parcels


def check_webhooks(account: CarrierAccount, parcel: tuple[str, str]) -> None:
    """A signed event answers 202, the same again 200, a tampered one 401; nothing is kept."""
    adapter = SandboxCarrier(account_settings(account))
    headers, body = adapter.build_webhook(
        tracking_number=parcel[0],
        status=TrackingStatus.IN_TRANSIT,
        occurred_at=datetime.now(UTC),
        reference=parcel[1],
    )
    client = Client(HTTP_HOST=HOST)
    path = f"/hooks/carriers/{account.public_id}/"
    extra: dict[str, Any] = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}

    def post(data: bytes) -> int:
        return client.post(path, data=data, content_type="application/json", **extra).status_code

    with transaction.atomic():
        got = (post(body), post(body), post(body.replace(b"Riyadh", b"Jeddah")))
        transaction.set_rollback(True)
    if got != (202, 200, 401):
        raise SystemExit(f"hooks_seed: webhooks answered {got}, expected (202, 200, 401)")


def seed(*, out: Path, parcels: int, orders: int, seed_value: int) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    info = seed_demo(orders=orders, seed=seed_value, progress=False)
    t1 = time.perf_counter()
    merchant = Merchant.objects.get(slug=DEMO_SLUG)
    account = connect_carrier(
        merchant=merchant,
        carrier="sandbox",
        name=ACCOUNT_NAME,
        settings={
            "webhook_secret": secrets.token_urlsafe(32),
            "tolerance_seconds": str(TOLERANCE_SECONDS),
        },
        priority=0,  # before the demo's own sandbox account: the new returns' parcels are ours
    )
    opened = open_parcels(merchant, account, parcels)
    t2 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # fresh statistics, as a live database would have
    t3 = time.perf_counter()
    check_webhooks(account, opened[0])
    t4 = time.perf_counter()

    (out / "parcels.csv").write_text("".join(f"{t},{r}\n" for t, r in opened))
    (out / "hooks_env").write_text(f"public_id={account.public_id}\n")
    demo = dataclasses.asdict(info)
    demo.pop("api_key")
    demo.pop("staff_password")
    result = {
        "kind": "hooks",
        "demo": demo,
        "account": {
            "public_id": account.public_id,
            "carrier": account.carrier,
            "tolerance_seconds": TOLERANCE_SECONDS,
        },
        "parcels": len(opened),
        "webhooks_before": InboundWebhook.objects.count(),
        "timings": {
            "seed_demo_s": round(t1 - t0, 2),
            "parcels_s": round(t2 - t1, 2),
            "analyze_s": round(t3 - t2, 2),
            "check_s": round(t4 - t3, 2),
            "total_s": round(t4 - t0, 2),
        },
    }
    (out / "hooks_seed.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


def sign(*, out: Path, count: int, append: bool) -> dict[str, Any]:
    """Sign ``count`` distinct events into out/events.txt (fixed-width lines)."""
    env = _read_env(out)
    account = CarrierAccount.objects.get(public_id=env["public_id"])
    adapter = SandboxCarrier(account_settings(account))
    parcels = [line.split(",") for line in (out / "parcels.csv").read_text().split()]
    t0 = time.perf_counter()
    nonce = datetime.now(UTC)  # this invocation's: to the microsecond
    base = nonce - timedelta(hours=1)  # the scans happened a little before they are sent
    now = time.time()
    meta_file = out / "events.json"
    before = json.loads(meta_file.read_text())["count"] if append and meta_file.exists() else 0
    ids: set[str] = set()
    with (out / "events.txt").open("a" if append else "w", encoding="utf-8") as f:
        for i in range(count):
            tracking, reference = parcels[i % len(parcels)]
            headers, body = adapter.build_webhook(
                tracking_number=tracking,
                status=TrackingStatus.IN_TRANSIT,
                occurred_at=base + timedelta(microseconds=i),
                reference=reference,
                now=now,
            )
            ids.add(body[7:39].decode())  # '{"id":"sbx_evt_…"': the id is unique per event
            line = f"{headers[SIGNATURE_HEADER]} {body.decode()}"
            if len(line) >= LINE_WIDTH or "\n" in line:
                raise SystemExit(f"hooks_seed: an event is {len(line)} bytes, over {LINE_WIDTH}")
            f.write(line.ljust(LINE_WIDTH - 1) + "\n")
    if len(ids) != count:
        raise SystemExit(f"hooks_seed: {count - len(ids)} repeated event ids")
    meta = {
        "count": before + count,
        "line_width": LINE_WIDTH,
        "nonce": nonce.isoformat(),
        "signed_at": now,
        "tolerance_seconds": int(account_settings(account).get("tolerance_seconds", 300)),
        "sign_s": round(time.perf_counter() - t0, 2),
    }
    meta_file.write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def shopify_bodies(secret: str, n: int) -> list[tuple[str, bytes]]:
    """n distinct orders from the recorded one (own id, number, line ids), each signed."""
    order = json.loads(ORDER_FIXTURE.read_text())["order"]
    out = []
    for i in range(n):
        order["id"] = 9_000_000_000 + i
        order["order_number"] = 500_000 + i
        order["name"] = f"#B{500_000 + i}"
        for j, line in enumerate(order.get("line_items", [])):
            line["id"] = 8_000_000_000 + i * 100 + j
        body = json.dumps({"order": order}, separators=(",", ":"), ensure_ascii=False).encode()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        out.append((base64.b64encode(digest).decode(), body))
    return out


def seed_store(*, out: Path, bodies: int, orders: int, seed_value: int) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    info = seed_demo(orders=orders, seed=seed_value, progress=False)
    merchant = Merchant.objects.get(slug=DEMO_SLUG)
    secret = secrets.token_urlsafe(32)
    connection_ = connect_store(
        merchant=merchant,
        platform="shopify",
        name=STORE_NAME,
        base_url=f"https://{SHOP}",
        credentials={"access_token": "shpat_bench_not_used"},
        webhook_secret=secret,
    )
    signed = shopify_bodies(secret, bodies)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    # 202, the same webhook id again 200, a tampered body 401; nothing kept.
    client = Client(HTTP_HOST=HOST)
    path = f"/hooks/stores/{connection_.public_id}/"
    mac, body = signed[0]

    def post(data: bytes, webhook_id: str) -> int:
        return client.post(
            path,
            data=data,
            content_type="application/json",
            HTTP_X_SHOPIFY_HMAC_SHA256=mac,
            HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id,
            HTTP_X_SHOPIFY_TOPIC="orders/create",
            HTTP_X_SHOPIFY_SHOP_DOMAIN=SHOP,
        ).status_code

    with transaction.atomic():
        got = (post(body, "check-1"), post(body, "check-1"), post(body + b" ", "check-2"))
        transaction.set_rollback(True)
    if got != (202, 200, 401):
        raise SystemExit(f"hooks_seed: store webhooks answered {got}, expected (202, 200, 401)")
    with (out / "store_bodies.txt").open("w", encoding="utf-8") as f:
        for mac_, body_ in signed:
            f.write(f"{mac_} {body_.decode()}\n")
    (out / "hooks_env").write_text(f"kind=store\npublic_id={connection_.public_id}\nshop={SHOP}\n")
    result = {
        "kind": "store_hooks",
        "demo": {"merchant_slug": info.merchant_slug, "orders": info.orders},
        "connection": {"public_id": connection_.public_id, "platform": "shopify"},
        "bodies": len(signed),
        "body_bytes": sorted(len(b) for _m, b in signed)[len(signed) // 2],
        "webhooks_before": StoreWebhook.objects.count(),
        "timings": {"total_s": round(time.perf_counter() - t0, 2)},
    }
    (out / "hooks_seed.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("seed", help="the demo store, the bench account and its parcels")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--parcels", type=int, default=200)
    s.add_argument("--orders", type=int, default=2000, help="seed_demo(orders=…)")
    s.add_argument("--seed", type=int, default=7, help="seed_demo(seed=…)")
    st = sub.add_parser("seed-store", help="the demo store, a Shopify connection, signed orders")
    st.add_argument("--out", type=Path, required=True)
    st.add_argument("--bodies", type=int, default=1000)
    st.add_argument("--orders", type=int, default=2000, help="seed_demo(orders=…)")
    st.add_argument("--seed", type=int, default=7, help="seed_demo(seed=…)")
    g = sub.add_parser("sign", help="sign distinct events for wrk")
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--count", type=int, default=250_000)
    g.add_argument("--append", action="store_true", help="add to events.txt (new nonce)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("note: not PostgreSQL; figures won't match the benchmark", file=sys.stderr)
    if args.command == "seed-store":
        r = seed_store(out=args.out, bodies=args.bodies, orders=args.orders, seed_value=args.seed)
        print(
            f"demo store with a Shopify connection ({r['connection']['public_id']}): "
            f"{r['bodies']:,} signed orders of ~{r['body_bytes']:,} bytes; a delivery answered "
            "202, again 200, tampered 401"
        )
    elif args.command == "seed":
        r = seed(out=args.out, parcels=args.parcels, orders=args.orders, seed_value=args.seed)
        d, t = r["demo"], r["timings"]
        print(
            f"demo store '{d['merchant_slug']}': {d['orders']:,} orders, {d['returns']:,} returns"
            f" ({'seeded' if d['created'] else 'already there'}: {t['seed_demo_s']:.1f} s); "
            f"account '{ACCOUNT_NAME}' ({r['account']['public_id']}) with {r['parcels']} parcels "
            f"({t['parcels_s']:.1f} s); a signed webhook answered 202, again 200, tampered 401"
        )
    else:
        m = sign(out=args.out, count=args.count, append=args.append)
        print(
            f"signed {args.count:,} distinct events in {m['sign_s']:.1f} s "
            f"(nonce {m['nonce']}; {m['count']:,} in events.txt)"
        )


if __name__ == "__main__":
    main()
