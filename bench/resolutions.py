"""The resolutions benchmark: money issued per second by the real job worker.

Goal (issue 5): *≥ 300 resolutions/s issued on PostgreSQL with the sandbox gateway.*

``python bench/resolutions.py bench --out DIR [--returns 6000] [--runs 3] [--processes 2]
[--threads 2] [--labels]``
  Per run: seeds a batch of approved returns (``seed`` below, not timed into the result),
  starts the real worker (``awda run_huey``: ``--processes`` consumers of ``--threads``
  threads, Redis job store, no periodic jobs), warms it up on a small batch of its own, then
  from this process (the "driver") enqueues one ``dispatch_events`` job per return for its
  ``ReturnApproved`` event — what the return's commit would have enqueued — and waits until
  every resolution is issued and the queue has drained. Appends one JSON line per run to
  DIR/resolutions.runs.jsonl and prints it; the workers are stopped after each run.

``python bench/resolutions.py seed --out DIR --batch NAME --returns N``
  The store ("bench-money", made once like the demo store: default reasons, the sandbox
  carrier and the sandbox gateway, the default policy with refund timing ``immediate`` and
  its 10 % store-credit bonus), then N orders of one line through ``upsert_order`` and one
  return each through ``request_return`` (approved at once), with the outbox's enqueue
  switched off so that their events wait in the outbox. Mix (seeded random): 50 % card
  refunds (a sandbox payment), 30 % store credit, 20 % cash-on-delivery refunds by bank
  transfer (an IBAN given with the return). Unless ``--labels``, each ``ReturnApproved`` gets
  the ``issue_label`` handler's marker, as if its label were already issued: the label (a
  carrier call, a PDF in the shopper's mail) is benchmarked by bench/labels.py, and this
  measures the money. Writes DIR/batch-NAME.json.

``python bench/resolutions.py report --out DIR``
  Medians over the measured runs in DIR/resolutions.runs.jsonl.

``python bench/resolutions.py profile --out DIR [--returns 300]``
  One worker's path in-process and single-threaded (cProfile on CPU time): a fresh batch's
  ``ReturnApproved`` events, then the events their handlers wrote (``RefundRequested``,
  ``RefundIssued``, ``StoreCreditGranted``, …) until none is left; the money's events in
  batches of ``tasks.MONEY_BATCH`` through ``outbox.dispatch_many``, as the worker takes them
  from the money list, the others one at a time.
  Prints CPU and SQL statements per resolution, the time per handler and the top functions.

"Issued": a card refund's row ``succeeded`` (the sandbox gateway answered and it was
settled), store credit granted (its ledger transaction written), a bank transfer requested
(its row waiting for the merchant's next transfer file). The rate is returns ÷ (the last
one issued, from the database's timestamps − the first enqueue). CPU per resolution counts
everything until the queue has drained (the shopper's mails, the timeline notes), split
into the workers ("app"), this database's PostgreSQL backends ("pg", the driver's own
excluded), PostgreSQL's other processes, Redis, the driver, and the rest of the machine.

Env: AWDA_DATABASE_URL (PostgreSQL), AWDA_REDIS_URL, AWDA_DATA_DIR, as bench/run sets them;
BENCH_PG_URL and BENCH_MONEY_DB for the backends' accounting.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import json
import os
import pstats
import random
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import django

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import loadgen  # noqa: E402  (the /proc accounting the other families use)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "awda.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max  # noqa: E402
from schwifty import IBAN  # noqa: E402

from awda import tasks  # noqa: E402
from awda.core import clock, outbox  # noqa: E402
from awda.core.models import Event, HandledEvent  # noqa: E402
from awda.merchants.models import Merchant  # noqa: E402
from awda.merchants.services import create_merchant  # noqa: E402
from awda.orders.services import (  # noqa: E402
    CustomerData,
    LineData,
    LineProductData,
    OrderData,
    PaymentData,
    upsert_order,
)
from awda.payments.models import BankPayout, Refund, RefundStatus  # noqa: E402
from awda.payments.services import connect_gateway  # noqa: E402
from awda.policies.document import default_policy  # noqa: E402
from awda.policies.services import replace_policy  # noqa: E402
from awda.returns.models import ReturnStatus  # noqa: E402
from awda.returns.services import (  # noqa: E402
    ItemRequest,
    install_default_reasons,
    request_return,
)
from awda.shipping.services import connect_carrier  # noqa: E402
from awda.wallet.models import LedgerTransaction, TransactionKind  # noqa: E402

SLUG = "bench-money"
MIX = (("refund", 0.5), ("store_credit", 0.3), ("bank_transfer", 0.2))
PRICES = (9_900, 14_900, 19_900, 24_900, 34_900, 49_900)
LABEL_HANDLER = "awda.tasks.issue_label"
GOAL = 300.0  # resolutions issued per second
WARMUP_RETURNS = 100
PROFILE_WARMUP = 40  # returns dispatched before the profile's timed half (all kinds mailed)
POLL_SECONDS = 0.25
RUNS_LOG = "resolutions.runs.jsonl"


def keep_in_outbox(event_ids: Any, names: Any = ()) -> None:
    """The outbox's enqueue while seeding: the events wait until the benchmark sends them."""


# -- seeding --------------------------------------------------------------------------------------


def bench_merchant() -> Merchant:
    """The benchmark's store, made once the way the demo store is (awda.demo._seed)."""
    merchant = Merchant.objects.filter(slug=SLUG).first()
    if merchant is not None:
        return merchant
    merchant = create_merchant(
        slug=SLUG,
        name="Awda Demo (money benchmark)",
        name_ar="متجر عودة التجريبي (قياس الأداء)",
        currency="SAR",
        country="SA",
        default_language="ar",
    )
    install_default_reasons(merchant=merchant)
    merchant.return_address = {
        "name": "Awda Demo Returns",
        "line1": "Warehouse 7, Al Sulay Logistics Park",
        "city": "Riyadh",
        "postcode": "14322",
        "country": "SA",
        "phone": "+966110000000",
    }
    merchant.save(update_fields=["return_address"])
    connect_carrier(merchant=merchant, carrier="sandbox", name="Sandbox Express", settings={})
    connect_gateway(merchant=merchant, gateway="sandbox", name="Sandbox Pay", settings={})
    policy = default_policy(currency="SAR", country="SA").to_data()
    policy["defaults"]["refund_timing"] = "immediate"  # the money moves on approval
    replace_policy(merchant=merchant, document=policy)
    return merchant


def _kind(rng: random.Random) -> str:
    roll, edge = rng.random(), 0.0
    for kind, share in MIX:
        edge += share
        if roll < edge:
            return kind
    return MIX[-1][0]


def _iban(rng: random.Random) -> str:
    return str(IBAN.generate("SA", bank_code="80", account_code=f"{rng.randrange(10**18):018d}"))


def seed_batch(*, work: Path, batch: str, returns: int, labels: bool) -> dict[str, Any]:
    """``returns`` approved returns whose events wait in the outbox; see the module doc."""
    merchant = bench_merchant()
    rng = random.Random(f"{batch}:{returns}")
    settings.AWDA_OUTBOX_ENQUEUE = f"{__name__}.keep_in_outbox"
    started, seeded_at = time.monotonic(), clock.now()
    now = clock.now()
    kinds: collections.Counter[str] = collections.Counter()
    return_ids: list[int] = []
    customers = max(1, int(returns * 0.6))  # some shoppers return twice: shared accounts
    for i in range(returns):
        kind = _kind(rng)
        shopper = rng.randrange(customers)
        price = rng.choice(PRICES)
        number = f"M{batch}-{i:06d}"
        cod = kind == "bank_transfer"
        delivered = now - timedelta(days=rng.randint(1, 10), minutes=rng.randint(0, 600))
        upsert_order(
            merchant=merchant,
            data=OrderData(
                number=number,
                currency="SAR",
                placed_at=delivered - timedelta(days=2),
                fulfilled_at=delivered - timedelta(days=1),
                delivered_at=delivered,
                customer=CustomerData(
                    email=f"shopper{shopper}@bench.awda.invalid",
                    name=f"Shopper {shopper}",
                    phone=f"+9665{shopper:08d}",
                    language=rng.choice(("ar", "en")),
                ),
                lines=[
                    LineData(
                        line_ref="1",
                        sku=f"BM-{price}",
                        title_en=f"Bench item {price}",
                        title_ar=f"منتج {price}",
                        quantity=1,
                        unit_price_minor=price,
                        tax_rate=Decimal(15),
                        product=LineProductData(
                            external_id=f"bm-{price}", category="shirts", supplier="acme"
                        ),
                    )
                ],
                payment_method="cash_on_delivery" if cod else "card",
                shipping_country="SA",
                payments=(
                    []
                    if cod
                    else [
                        PaymentData(
                            gateway="sandbox",
                            reference=f"pi_bench_{batch}_{i}",
                            method="card",
                            captured_minor=price,
                            card_last4=f"{rng.randrange(10_000):04d}",
                        )
                    ]
                ),
            ),
        )
        ret = request_return(
            merchant=merchant,
            order_number=number,
            items=[
                ItemRequest(
                    line_ref="1",
                    quantity=1,
                    reason="size",
                    sub_reason="too_small",
                    resolution="store_credit" if kind == "store_credit" else "refund",
                )
            ],
            method="label",
            language=rng.choice(("ar", "en")),
            payout_iban=_iban(rng) if cod else "",
            payout_name=f"Shopper {shopper}" if cod else "",
        )
        if ret.status != ReturnStatus.APPROVED:
            raise SystemExit(f"{ret.number} is {ret.status}, not approved: check the policy")
        kinds[kind] += 1
        return_ids.append(ret.pk)
        if (i + 1) % 1000 == 0:
            print(f"  seeded {i + 1:,} of {returns:,} returns", flush=True)
    events = list(
        Event.objects.filter(
            name="ReturnApproved",
            aggregate_type="return",
            aggregate_id__in=[str(pk) for pk in return_ids],
        ).values_list("pk", flat=True)
    )
    if len(events) != returns:
        raise SystemExit(f"{len(events)} ReturnApproved events for {returns} returns")
    if not labels:
        HandledEvent.objects.bulk_create(
            [HandledEvent(event_id=pk, handler=LABEL_HANDLER) for pk in events],
            ignore_conflicts=True,
        )
    info = {
        "batch": batch,
        "returns": returns,
        "kinds": dict(kinds),
        "labels": labels,
        "seeded_at": seeded_at.isoformat(),
        "seconds": round(time.monotonic() - started, 1),
        "event_ids": [str(pk) for pk in events],
    }
    (work / f"batch-{batch}.json").write_text(json.dumps(info))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics for the grown tables, as a seeder leaves
    print(
        f"  batch {batch}: {returns:,} approved returns {dict(kinds)} in {info['seconds']} s"
        + ("" if labels else " (labels marked issued: the money alone is measured)"),
        flush=True,
    )
    return info


# -- the worker and the measurement ---------------------------------------------------------------


@contextmanager
def workers(processes: int, threads: int, log: Path) -> Iterator[list[int]]:
    """``processes`` huey consumers, each in its own process group (their pgids)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "awda.settings"}
    cmd = [sys.executable, "-m", "awda.cli", "run_huey", "--workers", str(threads)]
    cmd += ["--worker-type", "thread", "--no-periodic", "--quiet"]
    procs = []
    with log.open("a") as out:
        for _ in range(processes):
            procs.append(
                subprocess.Popen(cmd, env=env, stdout=out, stderr=out, start_new_session=True)
            )
    try:
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGINT)  # huey's graceful stop
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _issued(since: datetime) -> tuple[int, datetime | None, int]:
    """(resolutions issued since, when the last was, refunds in review since)."""
    refunds = Refund.objects.filter(created_at__gte=since)
    done = refunds.filter(status=RefundStatus.SUCCEEDED)
    grants = LedgerTransaction.objects.filter(created_at__gte=since, kind=TransactionKind.GRANT)
    payouts = BankPayout.objects.filter(created_at__gte=since)
    count = done.count() + grants.count() + payouts.count()
    last = [
        done.aggregate(at=Max("settled_at"))["at"],
        grants.aggregate(at=Max("created_at"))["at"],
        payouts.aggregate(at=Max("created_at"))["at"],
    ]
    moments = [m for m in last if m is not None]
    return count, max(moments) if moments else None, refunds.filter(status="review").count()


def _drained(event_ids: list[str], since: datetime) -> bool:
    """The batch's events and every event their handlers wrote are dispatched, and no job
    is waiting (a job being run leaves its event undispatched until it ends)."""
    from huey.contrib.djhuey import HUEY

    if Event.objects.filter(dispatched_at__isnull=True, created_at__gte=since).exists():
        return False
    if Event.objects.filter(pk__in=event_ids, dispatched_at__isnull=True).exists():
        return False
    return HUEY.storage.queue_size() == 0


def _send(event_ids: list[str]) -> None:
    # One job per return, as its transaction's commit would have enqueued it (with the
    # queue priority the outbox gives an approval).
    for event_id in event_ids:
        tasks.enqueue_event([event_id], ["ReturnApproved"])


def _wait(
    n: int, event_ids: list[str], since: datetime, limit_s: float
) -> tuple[datetime | None, float | None, int]:
    """Poll until ``n`` resolutions are issued and the queue drained: (last issued at, drained
    after s, refunds in review)."""
    started = time.time()
    last_at, review = None, 0
    while time.time() - started < limit_s:
        count, last_at, review = _issued(since)
        if count + review >= n and _drained(event_ids, since):
            return last_at, time.time() - started, review
        time.sleep(POLL_SECONDS)
    return last_at, None, review


def _pg_backends(db_url: str, db: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        mine = cursor.fetchone()[0]
    return set(loadgen._bench_backends(db_url, db)) - {mine}


def _snapshot(pgids: list[int]) -> dict[str, Any]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "busy": loadgen._busy_jiffies()[0],
        "workers": {
            p: loadgen._proc_jiffies(p) for g in pgids for p in loadgen._pids("pgid", str(g))
        },
        "postgres": {p: loadgen._proc_jiffies(p) for p in loadgen._pids("comm", "postgres")},
        "redis": {p: loadgen._proc_jiffies(p) for p in loadgen._pids("comm", "redis-server")},
        "driver": usage.ru_utime + usage.ru_stime,
    }


def measure(
    *, work: Path, batch: dict[str, Any], warmup: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    from huey.contrib.djhuey import HUEY

    HUEY.flush()
    n = batch["returns"]
    with workers(args.processes, args.threads, work / "workers.log") as pgids:
        # Warm-up: imports, connections, caches, the first gateway and carrier adapters.
        warm_since = clock.now()
        _send(warmup["event_ids"])
        warm_at, warm_drained, _review = _wait(
            warmup["returns"], warmup["event_ids"], warm_since, 120
        )
        if warm_drained is None:
            raise SystemExit("the warm-up batch was not issued within 120 s: see workers.log")
        waited = loadgen._wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else 0.0
        backends = _pg_backends(args.pg_url, args.db)
        before = _snapshot(pgids)
        since = clock.now()
        t0 = time.time()
        _send(batch["event_ids"])
        enqueued_s = time.time() - t0
        last_at, drained_s, review = _wait(n, batch["event_ids"], since, args.limit)
        after = _snapshot(pgids)
        elapsed = time.time() - t0
        backends |= _pg_backends(args.pg_url, args.db)
    issued, _last, review = _issued(since)
    if drained_s is None or last_at is None:
        raise SystemExit(f"only {issued} of {n} resolutions issued within {args.limit} s")
    issued_s = last_at.timestamp() - t0
    hz = loadgen.HZ
    app = sum(loadgen._delta(before["workers"], after["workers"]).values()) / hz
    pg = loadgen._delta(before["postgres"], after["postgres"])
    pg_bench = sum(v for p, v in pg.items() if p in backends) / hz
    pg_rest = sum(v for p, v in pg.items() if p not in backends) / hz
    redis_cpu = sum(loadgen._delta(before["redis"], after["redis"]).values()) / hz
    driver = after["driver"] - before["driver"]
    busy = (after["busy"] - before["busy"]) / hz
    other = max(0.0, busy - app - pg_bench - pg_rest - redis_cpu - driver)
    per = 1000 / n
    record = {
        "scenario": "resolutions",
        "label": "run",
        "batch": batch["batch"],
        "resolutions": n,
        "kinds": batch["kinds"],
        "labels": batch["labels"],
        "in_review": review,
        "issued": issued,
        "rate": round(n / issued_s, 1),
        "issued_s": round(issued_s, 2),
        "drained_s": round(elapsed, 2),
        "enqueue_s": round(enqueued_s, 2),
        "config": {"processes": args.processes, "threads": args.threads, "jobs": "redis"},
        "cpu": {
            "app_ms_per_resolution": round(app * per, 3),
            "postgres_ms_per_resolution": round(pg_bench * per, 3),
            "postgres_rest_ms_per_resolution": round(pg_rest * per, 3),
            "redis_ms_per_resolution": round(redis_cpu * per, 3),
            "driver_ms_per_resolution": round(driver * per, 3),
            "app_cores": round(app / elapsed, 2),
            "postgres_cores": round(pg_bench / elapsed, 2),
            "other_cores": round((other + pg_rest) / elapsed, 2),
            "machine_busy_cores": round(busy / elapsed, 2),
        },
        "contended": (other + pg_rest) / elapsed > loadgen.CONTENDED_CORES,
        "waited_for_quiet_s": waited,
        "warmup_issued_in_s": round(warm_drained, 2) if warm_at else None,
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return record


def _print_run(r: dict[str, Any]) -> None:
    c = r["cpu"]
    print(
        f"  run {r['batch']}: {r['resolutions']:,} resolutions issued in {r['issued_s']:.1f} s ="
        f" {r['rate']:.0f}/s (queue drained at {r['drained_s']:.1f} s; enqueue took"
        f" {r['enqueue_s']:.1f} s); cpu per resolution: app {c['app_ms_per_resolution']:.2f} ms,"
        f" pg {c['postgres_ms_per_resolution']:.2f} ms, redis {c['redis_ms_per_resolution']:.2f}"
        f" ms, driver {c['driver_ms_per_resolution']:.2f} ms; others used"
        f" {c['other_cores']:.2f} cores" + ("  [CONTENDED]" if r["contended"] else ""),
        flush=True,
    )
    if r["in_review"]:
        print(f"  WARNING: {r['in_review']} refunds went to review", flush=True)


def cmd_bench(args: argparse.Namespace) -> None:
    work = args.out
    work.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    for run in range(1, args.runs + 1):
        print(f"-- run {run} of {args.runs}: seeding (not measured)", flush=True)
        warmup = seed_batch(
            work=work, batch=f"{stamp}w{run}", returns=WARMUP_RETURNS, labels=args.labels
        )
        batch = seed_batch(
            work=work, batch=f"{stamp}r{run}", returns=args.returns, labels=args.labels
        )
        record = measure(work=work, batch=batch, warmup=warmup, args=args)
        with (work / RUNS_LOG).open("a") as log:
            log.write(json.dumps(record) + "\n")
        _print_run(record)
    cmd_report(args)


def cmd_report(args: argparse.Namespace) -> None:
    path = args.out / RUNS_LOG
    runs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    groups: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in runs:
        key = json.dumps({**r["config"], "labels": r["labels"], "n": r["resolutions"]})
        groups[key].append(r)
    summary = []
    print("\n== resolutions: medians per configuration (goal ≥ 300/s)")
    for key, rs in groups.items():
        rs = rs[-args.last :] if args.last else rs
        med = {
            "config": json.loads(key),
            "runs": len(rs),
            "contended_runs": sum(1 for r in rs if r["contended"]),
            "rate": statistics.median(r["rate"] for r in rs),
            "rate_all": [r["rate"] for r in rs],
            "cpu": {
                k: statistics.median(r["cpu"][k] for r in rs)
                for k in rs[0]["cpu"]
                if k.endswith("_per_resolution")
            },
        }
        c = med["cpu"]
        ceiling = (
            (os.cpu_count() or 1)
            * 1000
            / max(
                0.001,
                c["app_ms_per_resolution"]
                + c["postgres_ms_per_resolution"]
                + c["redis_ms_per_resolution"]
                + c["driver_ms_per_resolution"],
            )
        )
        med["ceiling_by_cpu"] = round(ceiling)
        summary.append(med)
        print(
            f"  {med['config']}: {med['rate']:.0f}/s (runs {med['rate_all']}),"
            f" {med['contended_runs']} contended; cpu per resolution app"
            f" {c['app_ms_per_resolution']:.2f} / pg {c['postgres_ms_per_resolution']:.2f} /"
            f" redis {c['redis_ms_per_resolution']:.2f} ms; ceiling by cpu {ceiling:.0f}/s;"
            f" {med['rate'] / GOAL:.0%} of the goal"
        )
    (args.out / "resolutions.summary.json").write_text(json.dumps(summary, indent=2))


# -- in-process profile ---------------------------------------------------------------------------

LAYERS: list[tuple[str, str]] = [
    ("psycopg", "driver: psycopg"),
    ("django/db/", "ORM: build + compile SQL, rows -> models"),
    ("django/template", "mail templates"),
    ("awda/notifications/", "notifications (mail, text)"),
    ("django/core/mail", "mail backend (file)"),
    ("email/", "mail backend (file)"),
    ("django/utils/translation", "translation + formatting"),
    ("babel/", "translation + formatting"),
    ("awda/core/formatting", "translation + formatting"),
    ("awda/payments/", "payments (refunds, sandbox gateway)"),
    ("awda/wallet/", "wallet (store credit)"),
    ("awda/returns/", "returns (resolutions, timeline)"),
    ("awda/orders/", "orders (payments, line refunds)"),
    ("awda/core/outbox", "outbox dispatch"),
    ("awda/tasks", "outbox dispatch"),
    ("awda/core/crypto", "encryption (IBAN, codes)"),
    ("cryptography", "encryption (IBAN, codes)"),
    ("awda/", "other awda"),
    ("django/", "other django"),
]
HANDLERS_OF_INTEREST = (
    "start_money", "send_refunds", "note_refund_issued", "email_refund_issued",
    "email_store_credit", "issue_label", "email_shopper", "text_shopper",
)  # fmt: skip


def _layer(filename: str, name: str) -> str:
    if "psycopg" in filename and name.startswith("wait"):
        return "waiting for PostgreSQL (wall time, not CPU)"
    for fragment, layer in LAYERS:
        if fragment in filename:
            return layer
    return "python + other libraries"


class _Meter:
    """CPU time and SQL statements per handler, and for the dispatch around them (loading
    the event, each handler's marker, the event's own updates): no profiler involved."""

    AROUND = "outbox.dispatch around the handlers"

    def __init__(self) -> None:
        self.cpu: dict[str, float] = collections.defaultdict(float)
        self.statements: dict[str, int] = collections.defaultdict(int)
        self.current = self.AROUND

    def wrap(self, handler: Any) -> Any:
        # functools.wraps keeps __module__, __qualname__ (the handler's marker key) and the
        # outside_transaction flag; a batched handler's ``together`` is measured as its own.
        measured = self._measure(handler, handler.__name__)
        if getattr(handler, "together", None) is not None:
            measured.together = self._measure(handler.together, handler.__name__)
        return measured

    def _measure(self, fn: Any, name: str) -> Any:
        @functools.wraps(fn)
        def measured(arg: Any) -> Any:
            outer, self.current = self.current, name
            started = time.thread_time()
            try:
                return fn(arg)
            finally:
                self.cpu[name] += time.thread_time() - started
                self.current = outer

        return measured

    def count(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements[self.current] += 1
        return execute(sql, params, many, context)


def _dispatch_all(event_ids: list[str], handlers: Any = None) -> None:
    """What one worker thread does for the batch: the approvals, then the events their
    handlers wrote, until nothing is left; the money's events in batches of
    ``tasks.MONEY_BATCH`` (the money list), the others one by one."""
    handlers = handlers or tasks.HANDLERS
    since = clock.now()
    _dispatch_money(event_ids, handlers)
    while True:
        more = list(
            Event.objects.filter(dispatched_at__isnull=True, created_at__gte=since)
            .order_by("created_at")
            .values_list("pk", "name")
        )
        if not more:
            return
        _dispatch_money([str(pk) for pk, name in more if name in tasks.MONEY_FIRST], handlers)
        for pk, name in more:
            if name not in tasks.MONEY_FIRST:
                outbox.dispatch(str(pk), handlers)


def _dispatch_money(event_ids: list[str], handlers: Any) -> None:
    for start in range(0, len(event_ids), tasks.MONEY_BATCH):
        outbox.dispatch_many(event_ids[start : start + tasks.MONEY_BATCH], handlers)


def cmd_profile(args: argparse.Namespace) -> None:
    """Half the batch timed (no profiler), half under cProfile (wall clock, so the waits on
    PostgreSQL show as their own line), after a warm-up batch that is not counted: a
    process's first mail loads its templates, catalogs and fonts (about 1.5 s once), which
    the timed half would otherwise charge to the few credits it mails."""
    work = args.out
    work.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.now(UTC):%H%M%S}"
    warm = seed_batch(work=work, batch=f"p{stamp}w", returns=PROFILE_WARMUP, labels=args.labels)
    batch = seed_batch(work=work, batch=f"p{stamp}", returns=args.returns, labels=args.labels)
    settings.AWDA_OUTBOX_ENQUEUE = f"{__name__}.keep_in_outbox"  # dispatched right here
    _dispatch_all(warm["event_ids"])
    half = len(batch["event_ids"]) // 2
    timed_ids, profiled_ids = batch["event_ids"][:half], batch["event_ids"][half:]
    meter = _Meter()
    measured = {name: [meter.wrap(h) for h in hs] for name, hs in tasks.HANDLERS.items()}
    since = clock.now()
    wall, cpu = time.perf_counter(), time.thread_time()
    with connection.execute_wrapper(meter.count):
        _dispatch_all(timed_ids, measured)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    n = len(timed_ids)
    statements = sum(meter.statements.values())
    meter.cpu[meter.AROUND] = cpu - sum(meter.cpu.values())
    events = collections.Counter(
        Event.objects.filter(created_at__gte=since).values_list("name", flat=True)
    )
    events["ReturnApproved"] = n
    profiler = cProfile.Profile()
    profiler.enable()
    _dispatch_all(profiled_ids)
    profiler.disable()
    issued, _last, review = _issued(since)
    m = len(profiled_ids)
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values()) or 1.0
    layers: dict[str, float] = collections.defaultdict(float)
    for (filename, _line, name), (_cc, _nc, tt, _ct, _callers) in raw.items():
        layers[_layer(filename, name)] += tt
    handlers = {
        name: ct
        for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in raw.items()
        if filename.endswith("awda/tasks.py") and name in HANDLERS_OF_INTEREST
    }
    # The dispatch around them: loading the event, a marker per handler, the event's update.
    handlers["outbox.dispatch (all of the above included)"] = sum(
        ct
        for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in raw.items()
        if filename.endswith("awda/core/outbox.py") and name == "dispatch"
    )
    top = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:25]
    result = {
        "returns": len(batch["event_ids"]),
        "issued": issued,
        "in_review": review,
        "labels": batch["labels"],
        "kinds": batch["kinds"],
        "timed_returns": n,
        "cpu_ms_per_resolution": round(cpu * 1000 / n, 2),
        "wall_ms_per_resolution": round(wall * 1000 / n, 2),
        "statements_per_resolution": round(statements / n, 1),
        "events_per_resolution": {k: round(v / n, 2) for k, v in events.most_common()},
        "by_handler_per_resolution": {
            k: {"cpu_ms": round(meter.cpu[k] * 1000 / n, 2), "statements": round(v / n, 1)}
            for k, v in sorted(meter.statements.items(), key=lambda kv: -meter.cpu[kv[0]])
        },
        "profiled_returns": m,
        "profiled_wall_ms_per_resolution": round(total * 1000 / m, 2),
        "layers_share": {
            k: round(v / total, 3) for k, v in sorted(layers.items(), key=lambda kv: -kv[1])
        },
        "handler_wall_ms_per_resolution": {
            k: round(v * 1000 / m, 2) for k, v in sorted(handlers.items(), key=lambda kv: -kv[1])
        },
        "top_self_time": [
            {
                "function": f"{Path(f).name}:{line} {name}",
                "self_ms_per_resolution": round(tt * 1000 / m, 3),
                "calls_per_resolution": round(nc / m, 1),
            }
            for (f, line, name), (_cc, nc, tt, _ct, _callers) in top
        ],
    }
    print(
        f"\n== in-process profile: {result['returns']} resolutions {batch['kinds']}, money in"
        f" batches of {tasks.MONEY_BATCH} ({issued} issued, {review} in review)"
    )
    print(
        f"  timed ({n}, no profiler): {result['cpu_ms_per_resolution']} ms CPU and"
        f" {result['wall_ms_per_resolution']} ms wall per resolution,"
        f" {result['statements_per_resolution']} SQL statements"
    )
    print(f"  events dispatched per resolution: {result['events_per_resolution']}")
    print("  CPU and SQL statements per resolution, by handler (timed pass):")
    for k, v in result["by_handler_per_resolution"].items():
        print(f"    {k:<40} {v['cpu_ms']:7.2f} ms  {v['statements']:5.1f} statements")
    print(f"  profiled ({m}, cProfile, wall clock): handlers, inclusive ms per resolution:")
    for k, v in result["handler_wall_ms_per_resolution"].items():
        print(f"    {k:<45} {v:7.2f}")
    print("  self time by layer:")
    for k, v in result["layers_share"].items():
        print(f"    {v:6.1%}  {k}")
    print("  top functions by self time (ms per resolution):")
    for row in result["top_self_time"][:15]:
        print(
            f"    {row['self_ms_per_resolution']:7.3f}  x{row['calls_per_resolution']:<6}"
            f" {row['function']}"
        )
    (work / "resolutions.profile.json").write_text(json.dumps(result, indent=2))
    profiler.dump_stats(str(work / "resolutions.prof"))
    print(f"  written: {work / 'resolutions.profile.json'}, {work / 'resolutions.prof'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("bench", "seed", "report", "profile"):
        p = sub.add_parser(name)
        p.add_argument("--out", type=Path, required=True)
        p.add_argument("--returns", type=int, default=6000 if name != "profile" else 300)
        p.add_argument("--labels", action="store_true")
        p.add_argument("--last", type=int, default=0, help="report: only the last N runs")
        if name == "seed":
            p.add_argument("--batch", required=True)
        if name == "bench":
            p.add_argument("--runs", type=int, default=3)
            p.add_argument("--processes", type=int, default=2)
            p.add_argument("--threads", type=int, default=2)
            p.add_argument("--limit", type=float, default=600, help="seconds a run may take")
            p.add_argument("--wait-quiet", type=float, default=60)
            p.add_argument(
                "--pg-url",
                default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
                + "/postgres",
            )
            p.add_argument("--db", default=os.environ.get("BENCH_MONEY_DB", "awda_bench_money"))
    args = parser.parse_args(argv)
    if args.command == "bench":
        cmd_bench(args)
    elif args.command == "seed":
        args.out.mkdir(parents=True, exist_ok=True)
        seed_batch(work=args.out, batch=args.batch, returns=args.returns, labels=args.labels)
    elif args.command == "report":
        cmd_report(args)
    else:
        cmd_profile(args)


if __name__ == "__main__":
    main()
