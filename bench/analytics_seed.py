"""The analytics benchmark: a store with N order lines and ~N/10 return items over 13 months,
its rollups built, and every analytics selector timed in-process.

Usage (a database of its own; it is dropped and recreated by ``--fresh``):
  AWDA_DATABASE_URL=postgres://postgres@127.0.0.1:5432/awda_bench_analytics \\
    python bench/analytics_seed.py seed --lines 10000000
  … python bench/analytics_seed.py time --reps 30

``seed`` reuses bench/seed.py's catalog generator and its COPY helpers (ids reserved from the
sequences, per-row foreign-key triggers skipped as the local superuser): orders of 1–5 lines
placed uniformly over the last 400 days, one card payment each; each line is returned with
probability 1/10 (one return per order, 3–20 days after it, a reason, a resolution, a
confirmed refund 1–240 hours later and a parcel with a carrier's scan and delivery). Batches
of 200k orders, one transaction each. Then ``refresh_rollups`` from the first day (timed).
``time`` runs each selector ``--reps`` times for the 90 and 365 days ending today and prints
p50/p95 (ms); results also go to bench/results/analytics.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed as base
from django.db import connection, transaction

from awda.analytics import selectors
from awda.analytics.services import refresh_rollups
from awda.catalog.models import Category, Product, Supplier, Variant
from awda.core import clock
from awda.merchants.models import Merchant
from awda.merchants.services import create_merchant
from awda.orders.models import Customer, Order, OrderLine, Payment
from awda.payments.models import Refund
from awda.returns.models import Return, ReturnItem
from awda.returns.services import install_default_reasons
from awda.shipping.models import CarrierAccount, Shipment

SLUG = "bench-analytics"
REASONS = (
    ["too_small", "too_large", "not_as_described", "defective", "damaged_in_transit",
     "wrong_item", "quality", "changed_my_mind"],
    [20, 15, 12, 10, 5, 3, 15, 20],
)  # fmt: skip
RESOLUTIONS = (["refund", "store_credit", "exchange"], [60, 25, 15])
METHODS = (["label", "qr_dropoff", "pickup"], [50, 35, 15])
CARRIERS = ["sandbox", "smsa", "aramex"]
RESULTS = Path(__file__).resolve().parent / "results" / "analytics.json"


def seed(lines: int, products: int, customers: int, seed_value: int) -> dict[str, Any]:
    rng = random.Random(seed_value)
    now = clock.now()
    started = time.perf_counter()
    merchant = create_merchant(slug=SLUG, name="Bench analytics", currency="SAR", country="SA")
    install_default_reasons(merchant=merchant)
    m = merchant.pk
    accounts = [
        CarrierAccount.objects.create(merchant=merchant, carrier=c, name=c, public_id=f"ba-{c}")
        for c in CARRIERS
    ]
    catalog = base.make_catalog(rng, products)
    counts: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as dc:
        cur = dc.cursor
        checked = base._skip_fk_triggers(cur)
        cat_id = base._reserve_ids(cur, Category, len(base.CATEGORIES))
        cats = {c[0]: cat_id + j for j, c in enumerate(base.CATEGORIES)}
        base._copy(cur, Category, [
            {"id": cats[c[0]], "merchant_id": m, "code": c[0], "name_en": c[1], "name_ar": c[2]}
            for c in base.CATEGORIES
        ])  # fmt: skip
        sup_id = base._reserve_ids(cur, Supplier, len(base.SUPPLIERS))
        sups = {s[0]: sup_id + j for j, s in enumerate(base.SUPPLIERS)}
        base._copy(cur, Supplier, [
            {"id": sups[c], "merchant_id": m, "code": c, "name": n} for c, n in base.SUPPLIERS
        ])  # fmt: skip
        pid0 = base._reserve_ids(cur, Product, len(catalog))
        vid0 = base._reserve_ids(cur, Variant, len(catalog) * len(base.SIZES))
        prod_rows, var_rows, variants = [], [], []
        for j, item in enumerate(catalog):
            p = item.data
            prod_rows.append(
                {
                    "id": pid0 + j,
                    "merchant_id": m,
                    "external_id": p.external_id,
                    "title_en": p.title_en,
                    "title_ar": p.title_ar,
                    "category_id": cats[p.category_code or ""],
                    "supplier_id": sups[p.supplier_code or ""],
                    "tags": [],
                    "final_sale": False,
                    "returnable": True,
                    "image_url": "",
                }
            )
            for v in p.variants:
                vid = vid0 + len(var_rows)
                variants.append((vid, pid0 + j, v.sku, p.title_en, v.price_minor))
                var_rows.append({
                    "id": vid, "merchant_id": m, "product_id": pid0 + j, "sku": v.sku,
                    "options": dict(v.options), "price_minor": v.price_minor, "currency": "SAR",
                    "barcode": v.barcode,
                })  # fmt: skip
        counts["products"] = base._copy(cur, Product, prod_rows)
        counts["variants"] = base._copy(cur, Variant, var_rows)
        cid0 = base._reserve_ids(cur, Customer, customers)
        counts["customers"] = base._copy(cur, Customer, [
            {"id": cid0 + j, "merchant_id": m, "external_id": f"C{j}", "email": "", "phone": "",
             "name": "", "language": "ar", "tags": [], "units_bought": 0, "units_returned": 0,
             "returns_count": 0, "returns_value_minor": 0}
            for j in range(customers)
        ])  # fmt: skip
        if checked:
            cur.execute("SET LOCAL session_replication_role = origin")
    # Skewed popularity and return propensity: some products sell and come back more.
    weights = [rng.paretovariate(1.2) for _ in variants]
    propensity = [min(0.5, 0.1 * rng.lognormvariate(0, 0.6)) for _ in catalog]
    cum = list(__import__("itertools").accumulate(weights))
    timings = {"setup_s": time.perf_counter() - started}
    t = time.perf_counter()
    made = 0
    order_no = 0
    return_no = 0
    while made < lines:
        batch_lines = min(600_000, lines - made)
        counts_b = _batch(rng, m, now, batch_lines, variants, cum, propensity, pid0, cid0,
                          customers, accounts, order_no, return_no)  # fmt: skip
        made += batch_lines
        order_no += counts_b["orders"]
        return_no += counts_b["returns"]
        for k, v in counts_b.items():
            counts[k] = counts.get(k, 0) + v
        rate = made / (time.perf_counter() - t)
        print(f"  {made:,} lines, {counts['return_items']:,} return items ({rate:,.0f} lines/s)",
              flush=True)  # fmt: skip
    timings["copy_s"] = time.perf_counter() - t
    t = time.perf_counter()
    with connection.cursor() as c:
        for model in (Order, OrderLine, Payment, Return, ReturnItem, Refund, Shipment, Customer):
            c.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')
    timings["analyze_s"] = time.perf_counter() - t
    t = time.perf_counter()
    result = refresh_rollups(merchant=merchant)
    timings["refresh_rollups_s"] = time.perf_counter() - t
    with connection.cursor() as c:
        c.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'analytics_%'")
        for (table,) in c.fetchall():
            c.execute(f'VACUUM ANALYZE "{table}"')
    info = {
        "counts": counts,
        "timings": {k: round(v, 1) for k, v in timings.items()},
        "rollup_rows": {
            "sales": result.sales_rows,
            "reasons": result.reason_rows,
            "resolutions": result.resolution_rows,
            "facts": result.facts,
        },
    }
    print(json.dumps(info, indent=2))
    return info


def _batch(rng, m, now, n_lines, variants, cum, propensity, pid0, cid0, n_customers, accounts,
           order_no, return_no) -> dict[str, int]:  # type: ignore[no-untyped-def]  # fmt: skip
    orders, lines, payments, returns, items, refunds, shipments = [], [], [], [], [], [], []
    made = 0
    pick = rng.choices
    while made < n_lines:
        k = min(rng.choices(*base.LINES_PER_ORDER)[0], n_lines - made)
        made += k
        order_no += 1
        placed = now - timedelta(seconds=rng.randrange(400 * 86400))
        customer = cid0 + rng.randrange(n_customers)
        chosen = pick(variants, cum_weights=cum, k=k)
        order_lines = []
        total = 0
        for j, (vid, pid, sku, title, price) in enumerate(chosen):
            qty = rng.choice((1, 1, 1, 2, 3))
            paid = qty * price
            total += paid
            order_lines.append({
                "merchant_id": m, "line_ref": str(j + 1), "variant_id": vid, "product_id": pid,
                "sku": sku, "title_en": title, "title_ar": "", "quantity": qty,
                "delivered_quantity": qty, "returned_quantity": 0, "unit_price_minor": price,
                "discount_minor": 0, "tax_minor": 0, "tax_rate": 0, "paid_minor": paid,
                "refunded_minor": 0, "_order": len(orders),
            })  # fmt: skip
        orders.append({
            "merchant_id": m, "number": f"B{order_no:09d}", "external_id": "",
            "customer_id": customer, "currency": "SAR", "payment_method": "card",
            "prices_include_tax": True, "placed_at": placed, "fulfilled_at": placed,
            "delivered_at": placed + timedelta(days=2), "subtotal_minor": total,
            "discount_minor": 0, "shipping_minor": 0, "tax_minor": 0, "total_minor": total,
            "shipping_country": "SA", "shipping_address": {}, "tags": [], "kind": "sale",
            "replaces_id": None, "replacement_status": "", "exchange_credit_minor": 0,
            "collect_on_delivery_minor": 0, "created_at": now, "updated_at": now,
        })  # fmt: skip
        payments.append({"_order": len(orders) - 1, "captured": total})
        back = [li for li in order_lines if rng.random() < propensity[li["product_id"] - pid0]]
        requested = placed + timedelta(days=rng.randint(3, 20), seconds=rng.randrange(86400))
        if back and requested < now:
            return_no += 1
            number = f"R{return_no:09d}"
            value = 0
            for li in back:
                q = rng.randint(1, li["quantity"])
                li["returned_quantity"] = q
                v = li["paid_minor"] * q // li["quantity"]
                value += v
                items.append({"_line": li, "_return": len(returns), "quantity": q,
                              "reason_code": pick(*REASONS)[0],
                              "resolution": pick(*RESOLUTIONS)[0], "refund_minor": v})  # fmt: skip
            status = "cancelled" if rng.random() < 0.05 else "completed"
            returns.append({
                "merchant_id": m, "number": number, "_order": len(orders) - 1,
                "customer_id": customer, "status": status, "method": pick(*METHODS)[0],
                "currency": "SAR",
                "quote": {"store_credit_bonus": rng.choice((0, 0, 500, 1000)),
                          "shipping_fee": rng.choice((0, 0, 1500))},
                "refund_total_minor": value, "store_credit_total_minor": 0,
                "policy_version": 1, "refund_timing": "delivered", "language": "ar",
                "channel": "portal", "idempotency_key": None, "requested_at": requested,
                "approved_at": requested, "expires_at": None, "expiry_reminder_sent_at": None,
                "closed_at": None, "rejection_reason": "", "money_review_reason": "",
                "payout_iban": "", "payout_name": "", "pickup": {}, "updated_at": now,
            })  # fmt: skip
            account = rng.choice(accounts)
            scan = requested + timedelta(hours=rng.uniform(2, 72))
            delivered = scan + timedelta(hours=rng.uniform(12, 120))
            shipments.append({"_return": len(returns) - 1, "account": account, "scan": scan,
                              "delivered": delivered})  # fmt: skip
            if delivered < now and value > 0:
                refunds.append(
                    {
                        "_return": len(returns) - 1,
                        "amount": value,
                        "settled": delivered + timedelta(hours=rng.uniform(0.1, 48)),
                    }
                )
        lines.extend(order_lines)
    with transaction.atomic(), connection.cursor() as dc:
        cur = dc.cursor
        checked = base._skip_fk_triggers(cur)
        oid0 = base._reserve_ids(cur, Order, len(orders))
        for j, o in enumerate(orders):
            o["id"] = oid0 + j
        lid0 = base._reserve_ids(cur, OrderLine, len(lines))
        for j, li in enumerate(lines):
            li["id"] = lid0 + j
            li["order_id"] = oid0 + li.pop("_order")
        pay0 = base._reserve_ids(cur, Payment, len(payments))
        pay_rows = [
            {
                "id": pay0 + j,
                "merchant_id": m,
                "order_id": oid0 + p["_order"],
                "gateway": "sandbox",
                "reference": f"pi_{oid0 + p['_order']}",
                "method": "card",
                "currency": "SAR",
                "captured_minor": p["captured"],
                "refunded_minor": 0,
                "card_last4": "4242",
            }
            for j, p in enumerate(payments)
        ]
        rid0 = base._reserve_ids(cur, Return, max(1, len(returns)))
        for j, r in enumerate(returns):
            r["id"] = rid0 + j
            r["order_id"] = oid0 + r.pop("_order")
        iid0 = base._reserve_ids(cur, ReturnItem, max(1, len(items)))
        item_rows = [{
            "id": iid0 + j, "merchant_id": m, "return_request_id": rid0 + it["_return"],
            "order_line_id": it["_line"]["id"], "quantity": it["quantity"],
            "reason_code": it["reason_code"], "sub_reason_code": "", "comment": "",
            "resolution": it["resolution"], "exchange_variant_id": None,
            "refund_minor": it["refund_minor"], "reception": "received",
            "received_quantity": it["quantity"], "condition": "", "decision": "accepted",
            "decision_note": "", "at_stake_minor": 0, "disposition": "",
        } for j, it in enumerate(items)]  # fmt: skip
        sid0 = base._reserve_ids(cur, Shipment, max(1, len(shipments)))
        ship_rows = [{
            "id": sid0 + j, "merchant_id": m, "return_request_id": rid0 + s["_return"],
            "account_id": s["account"].pk, "carrier": s["account"].carrier, "direction": "inbound",
            "method": "label", "tracking_number": f"T{rid0 + s['_return']}",
            "carrier_shipment_id": "", "qr_payload": "", "carrier_label_url": "",
            "cost_minor": None, "cost_currency": "", "status": "delivered",
            "status_at": s["delivered"], "first_scan_at": s["scan"],
            "delivered_at": s["delivered"], "polled_at": None, "created_at": s["scan"],
        } for j, s in enumerate(shipments)]  # fmt: skip
        fid0 = base._reserve_ids(cur, Refund, max(1, len(refunds)))
        refund_rows = []
        for j, f in enumerate(refunds):
            r = returns[f["_return"]]
            refund_rows.append({
                "id": fid0 + j, "merchant_id": m,
                "payment_id": pay0 + (r["order_id"] - oid0), "gateway": "sandbox",
                "amount_minor": f["amount"], "currency": "SAR",
                "idempotency_key": f"{r['number']}-refund", "request_key": r["number"],
                "reference": r["number"], "status": "succeeded", "gateway_refund_id": "",
                "failure_message": "", "attempts": 1, "claimed_until": None,
                "created_at": r["requested_at"], "settled_at": f["settled"],
            })  # fmt: skip
        base._copy(cur, Order, orders)
        base._copy(cur, OrderLine, lines)
        base._copy(cur, Payment, pay_rows)
        base._copy(cur, Return, returns)
        base._copy(cur, ReturnItem, item_rows)
        base._copy(cur, Shipment, ship_rows)
        base._copy(cur, Refund, refund_rows)
        if checked:
            cur.execute("SET LOCAL session_replication_role = origin")
    return {
        "orders": len(orders),
        "order_lines": len(lines),
        "returns": len(returns),
        "return_items": len(items),
        "refunds": len(refunds),
        "shipments": len(shipments),
    }


def time_selectors(reps: int, skip: set[str], days_list: list[int]) -> dict[str, Any]:
    merchant = Merchant.objects.get(slug=SLUG)
    today = clock.now().astimezone(ZoneInfo(merchant.timezone)).date()
    top = selectors.return_rates(merchant=merchant, start=today - timedelta(days=89), end=today,
                                 limit=1)  # fmt: skip
    product = top[0].key if top else 0
    calls: dict[str, Callable[..., Any]] = {
        "return_summary": selectors.return_summary,
        "rates_by_product_top50": lambda **kw: selectors.return_rates(**kw, limit=50),
        "rates_by_variant_top50": lambda **kw: selectors.return_rates(**kw, by="variant", limit=50),
        "rates_by_category": lambda **kw: selectors.return_rates(**kw, by="category"),
        "rates_by_supplier": lambda **kw: selectors.return_rates(**kw, by="supplier"),
        "reason_shares": selectors.reason_shares,
        "reason_shares_one_product": lambda **kw: selectors.reason_shares(**kw, product_id=product),
        "reason_trend": selectors.reason_trend,
        "returned_items_drilldown": lambda **kw: selectors.returned_items(
            **kw, reason_code="defective", limit=100
        ),
        "resolution_mix": selectors.resolution_mix,
        "return_costs": selectors.return_costs,
        "refund_times": selectors.refund_times,
        "transit_times": selectors.transit_times,
        "flagged_products": selectors.flagged_products,
        "supplier_scorecards": selectors.supplier_scorecards,
        "customers_who_return": selectors.customers_who_return,
    }  # fmt: skip
    results: dict[str, Any] = {}
    for days in days_list:
        start = today - timedelta(days=days - 1)
        for name, call in calls.items():
            if name in skip:
                continue
            call(merchant=merchant, start=start, end=today)  # warm
            ms = []
            for _ in range(reps):
                t = time.perf_counter()
                call(merchant=merchant, start=start, end=today)
                ms.append((time.perf_counter() - t) * 1000)
            ms.sort()
            p50 = statistics.median(ms)
            p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
            results[f"{name}@{days}d"] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
            print(f"{name:28} {days:4}d  p50 {p50:8.1f} ms  p95 {p95:8.1f} ms", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"reps": reps, "results": results}, indent=2) + "\n")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--lines", type=int, default=10_000_000)
    s.add_argument("--products", type=int, default=2_000)
    s.add_argument("--customers", type=int, default=500_000)
    s.add_argument("--seed", type=int, default=42)
    r = sub.add_parser("time")
    r.add_argument("--reps", type=int, default=30)
    r.add_argument("--skip", default="", help="selectors to leave out, comma-separated")
    r.add_argument("--days", default="90,365", help="period lengths, comma-separated")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("needs PostgreSQL (AWDA_DATABASE_URL=postgres://…)")
    if args.cmd == "seed":
        if Merchant.objects.filter(slug=SLUG).exists():
            raise SystemExit(f"{SLUG} is seeded already: use a fresh database")
        seed(args.lines, args.products, args.customers, args.seed)
    else:
        time_selectors(
            args.reps,
            set(filter(None, args.skip.split(","))),
            [int(d) for d in args.days.split(",")],
        )


if __name__ == "__main__":
    main()
