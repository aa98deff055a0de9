"""Where a carrier webhook's time goes: in-process profile of ``POST /hooks/carriers/<id>/``.

``python bench/profile_hooks.py [--requests N]`` posts signed sandbox webhooks (a new event
each, signed beforehand with the bench account's secret, as bench/hooks_seed.py does) through
Django's test client (the whole WSGI stack: middleware, view, service, PostgreSQL, the job
pushed to Redis after commit) against the benchmark's database, one request at a time, and
reports per request:

- wall time and the Python CPU time of the thread (``time.thread_time``);
- SQL: statements (BEGIN/COMMIT included when Django sends them), client-side wall time, and
  the server's planning + execution time (``EXPLAIN ANALYZE``, rolled back);
- the Python CPU split by layer (middleware, signature, JSON, the insert, the job enqueue…)
  and the inclusive CPU of the main steps: with py-spy (``BENCH_PYSPY`` or on PATH) by
  sampling this process from outside, otherwise from cProfile on thread CPU time (whose
  per-call overhead over-weights code made of many small calls).

``python bench/profile_hooks.py pyspy FILE.raw`` summarises a ``py-spy record -f raw`` capture
of a Granian worker under wrk (``bench/run --profile`` makes one).

Reuses bench/profile_requests.py's machinery with the webhook's layers and steps.
Env: BENCH_WORK (hooks_seed.py's --out), AWDA_DATABASE_URL and friends.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import profile_requests as pr  # django.setup() happens there
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from awda.shipping.carriers.base import TrackingStatus
from awda.shipping.carriers.sandbox import SandboxCarrier
from awda.shipping.models import CarrierAccount
from awda.shipping.services import account_settings

HOST = "127.0.0.1"

# (substring of the file path or C-function name, layer), first match wins.
LAYERS: list[tuple[str, str]] = [
    ("psycopg", "driver: psycopg (send/wait/parse rows)"),
    ("django/db/backends", "Django DB: cursor, execute wrapper, BEGIN/COMMIT"),
    ("django/db/transaction", "Django DB: cursor, execute wrapper, BEGIN/COMMIT"),
    ("django/db/", "Django DB: cursor, execute wrapper, BEGIN/COMMIT"),
    ("huey/", "job enqueue (huey + Redis)"),
    ("redis/", "job enqueue (huey + Redis)"),
    ("awda/tasks", "job enqueue (huey + Redis)"),
    ("pickle", "job enqueue (huey + Redis)"),
    ("hmac", "signature (HMAC-SHA256)"),
    ("hashlib", "signature (HMAC-SHA256)"),
    ("_hashlib", "signature (HMAC-SHA256)"),
    ("awda/shipping/carriers/", "adapter: verify + parse (sandbox)"),
    ("json/", "JSON"),
    ("_json", "JSON"),
    ("django/contrib/sessions", "middleware: session, auth, messages, CSRF, locale"),
    ("django/contrib/auth", "middleware: session, auth, messages, CSRF, locale"),
    ("django/contrib/messages", "middleware: session, auth, messages, CSRF, locale"),
    ("django/middleware/csrf", "middleware: session, auth, messages, CSRF, locale"),
    ("django/middleware/locale", "middleware: session, auth, messages, CSRF, locale"),
    ("django/utils/translation", "middleware: session, auth, messages, CSRF, locale"),
    ("gettext", "middleware: session, auth, messages, CSRF, locale"),
    ("django/middleware/", "middleware: security, common, frame options"),
    ("awda/core/middleware", "middleware: security, common, frame options"),
    ("django/urls/", "URL resolve"),
    ("awda/shipping/services", "awda: service (receive_carrier_webhook)"),
    ("awda/", "awda: view, cache, clock"),
    ("django/test/", "test client (not in production)"),
    ("django/http/", "Django: request, headers, JsonResponse"),
    ("django/", "Django: handler"),
    ("asgiref/", "Django: handler"),
    ("granian/", "Granian (Python side)"),
]

# The webhook's main steps: (file path fragment, function name) -> label (inclusive CPU).
STEPS: list[tuple[str, str, str]] = [
    ("django/core/handlers/base.py", "_get_response", "URL resolve + view"),
    ("awda/api/hooks.py", "carrier_webhook", "  view (carrier_webhook)"),
    ("django/http/request.py", "headers", "    request.headers"),
    ("awda/shipping/services.py", "receive_carrier_webhook", "    receive_carrier_webhook"),
    ("awda/shipping/services.py", "connected_carrier", "      account + adapter (cache)"),
    ("awda/shipping/carriers/sandbox.py", "verify_webhook", "      verify_webhook (HMAC)"),
    ("awda/shipping/carriers/sandbox.py", "parse_webhook", "      parse_webhook (JSON)"),
    ("django/db/transaction.py", "__enter__", "      atomic: enter"),
    ("django/db/backends/utils.py", "execute", "      INSERT … RETURNING (execute)"),
    ("django/db/transaction.py", "__exit__", "      atomic: exit (COMMIT + on-commit)"),
    ("awda/shipping/services.py", "_enqueue_webhook", "        job enqueue (Redis)"),
    ("django/http/response.py", "__init__", "    JsonResponse"),
    ("django/contrib/sessions/middleware.py", "process_request", "session: request"),
    ("django/contrib/sessions/middleware.py", "process_response", "session: response"),
    ("django/middleware/locale.py", "process_request", "locale: request"),
    ("django/middleware/locale.py", "process_response", "locale: response"),
    ("django/middleware/common.py", "process_request", "common: request"),
    ("django/middleware/common.py", "process_response", "common: response"),
    ("django/middleware/csrf.py", "process_request", "CSRF: request"),
    ("django/middleware/csrf.py", "process_view", "CSRF: view"),
    ("django/middleware/csrf.py", "process_response", "CSRF: response"),
    ("django/contrib/auth/middleware.py", "process_request", "auth: request"),
    ("django/contrib/messages/middleware.py", "process_request", "messages: request"),
    ("django/contrib/messages/middleware.py", "process_response", "messages: response"),
    ("django/middleware/security.py", "process_request", "security: request"),
    ("django/middleware/security.py", "process_response", "security: response"),
    ("django/middleware/clickjacking.py", "process_response", "frame options: response"),
    ("awda/core/middleware.py", "__call__", "RejectNul (whole chain below it)"),
]


def _caller(work: Path, n: int) -> Callable[[], Any]:
    """Posts the next of n + 100 freshly signed events (signed before any timing)."""
    env = dict(line.split("=", 1) for line in (work / "hooks_env").read_text().splitlines())
    account = CarrierAccount.objects.get(public_id=env["public_id"])
    adapter = SandboxCarrier(account_settings(account))
    parcels = [line.split(",") for line in (work / "parcels.csv").read_text().split()]
    base, now = datetime.now(UTC) - timedelta(hours=2), time.time()
    events = []
    for i in range(n):
        tracking, reference = parcels[i % len(parcels)]
        headers, body = adapter.build_webhook(
            tracking_number=tracking,
            status=TrackingStatus.IN_TRANSIT,
            occurred_at=base + timedelta(microseconds=i),
            reference=reference,
            now=now,
        )
        extra: dict[str, Any] = {
            "HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()
        }
        events.append((extra, body))
    client = Client(HTTP_HOST=HOST, HTTP_USER_AGENT="sandbox-webhooks/1.0")
    path = f"/hooks/carriers/{account.public_id}/"
    it = iter(events)

    def call() -> Any:
        extra, body = next(it)
        response = client.post(path, data=body, content_type="application/json", **extra)
        if response.status_code != 202:
            raise SystemExit(f"webhook: HTTP {response.status_code} {response.content[:300]!r}")
        return response

    return call


def timing(work: Path, n: int) -> dict[str, Any]:
    """CPU and wall per request, nothing attached: to compare two versions of the code."""
    call = _caller(work, 40 + n)
    for _ in range(40):  # warm: imports, the account cache, the pool, Redis
        call()
    wall, cpu = [], []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.thread_time()
        call()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    return {"requests": n, "cpu_ms": statistics.median(cpu) * 1000,
            "cpu_mean_ms": statistics.fmean(cpu) * 1000,
            "wall_ms": statistics.median(wall) * 1000}  # fmt: skip


def profile_hooks(work: Path, n: int, raw_dir: Path | None) -> dict[str, Any]:
    call = _caller(work, 40 + n + min(n, 100) + n)
    for _ in range(40):  # warm: imports, the account cache, the pool, Redis
        call()
    wall, cpu = [], []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.thread_time()
        call()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)

    counts, sql_ms = [], []
    sample: list[dict[str, Any]] = []
    spent = [0.0]

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += time.perf_counter() - t0

    for _ in range(min(n, 100)):
        spent[0] = 0.0
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timed):
            call()
        counts.append(len(ctx.captured_queries))
        sql_ms.append(spent[0] * 1000)
        sample = list(ctx.captured_queries)
    server = pr._explain_analyze(sample)

    pyspy = os.environ.get("BENCH_PYSPY") or shutil.which("py-spy")
    lines_share: dict[str, float] = {}
    top: list[tuple[str, float]] = []
    if pyspy and Path(pyspy).exists():
        profiler = "py-spy"
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "self.raw"
            spy = subprocess.Popen(
                [pyspy, "record", "--pid", str(os.getpid()), "--rate", "500", "--nonblocking",
                 "--gil", "--format", "raw", "--output", str(raw)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1.0)
            for _ in range(n):
                call()
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
            summary = pr.summarise_pyspy(raw)
            if raw_dir is not None:
                raw_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(raw, raw_dir / "in_process_carrier_webhooks.raw")
        layers_share, steps_share = summary["layers"], summary["steps"]
        lines_share = summary["app_lines"]
    else:
        profiler = "cProfile"
        prof = cProfile.Profile(time.thread_time)
        prof.enable()
        for _ in range(n):
            call()
        prof.disable()
        stats = pstats.Stats(prof)
        layers = pr.cprofile_layers(stats)
        whole = sum(layers.values()) or 1.0
        layers_share = {k: v / whole for k, v in layers.items()}
        steps_share = {k: v / whole for k, v in pr.cprofile_steps(stats).items()}
        raw_stats: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
        own = sorted(raw_stats.items(), key=lambda kv: -kv[1][2])[:20]
        top = [
            (f"{'/'.join(Path(f).parts[-2:])}:{line} {name}", v[2] / whole)
            for (f, line, name), v in own
        ]
    cpu_ms = statistics.median(cpu) * 1000
    return {
        "scenario": "carrier_webhooks",
        "requests": n,
        "profiler": profiler,
        "wall_ms": {
            "median": statistics.median(wall) * 1000,
            "p90": sorted(wall)[int(0.9 * len(wall))] * 1000,
        },
        "python_cpu_ms": cpu_ms,
        "sql": {
            "statements": statistics.median(counts),
            "client_wall_ms": statistics.median(sql_ms),
            "server_ms": sum(
                (q.get("planning_ms") or 0) + (q.get("execution_ms") or 0) for q in server
            ),
            "statements_sample": server,
        },
        "cpu_layers_ms": {
            k: v * cpu_ms for k, v in sorted(layers_share.items(), key=lambda kv: -kv[1])
        },
        "steps_cpu_ms": {k: v * cpu_ms for k, v in steps_share.items()},
        "app_lines_cpu_ms": {k: v * cpu_ms for k, v in lines_share.items()},
        "top_self_cpu_ms": {k: v * cpu_ms for k, v in top},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    spy = sub.add_parser("pyspy", help="summarise a py-spy raw capture of a Granian worker")
    spy.add_argument("raw", type=Path)
    spy.add_argument("--title", default="")
    spy.add_argument("--json", type=Path)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument(
        "--timing-only",
        type=int,
        metavar="ROUNDS",
        help="only CPU per request (median of --requests), ROUNDS times: for before/after",
    )
    args = parser.parse_args()
    # profile_requests' summarisers look these up at call time: give them the webhook's.
    pr.LAYERS[:] = LAYERS
    pr.STEPS[:] = STEPS
    if args.command == "pyspy":
        summary = pr.summarise_pyspy(args.raw)
        pr.print_pyspy(summary, args.title or args.raw.name)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2) + "\n")
        return
    work = Path(os.environ.get("BENCH_WORK", "bench/results/work-hooks"))
    if not (work / "hooks_env").exists():
        sys.exit(f"profile_hooks: no {work}/hooks_env: run bench/hooks_seed.py seed first")
    if connection.vendor != "postgresql":
        print("note: not PostgreSQL; figures won't match the benchmark", file=sys.stderr)
    if args.timing_only:
        rounds = [timing(work, args.requests) for _ in range(args.timing_only)]
        for r in rounds:
            print(
                f"{r['requests']} webhooks one at a time: Python CPU {r['cpu_ms']:.3f} ms median "
                f"({r['cpu_mean_ms']:.3f} mean), wall {r['wall_ms']:.3f} ms median"
            )
        print(f"median of rounds: {statistics.median(r['cpu_ms'] for r in rounds):.3f} ms CPU")
        return
    result = profile_hooks(work, args.requests, args.json.parent if args.json else None)
    pr.print_profile(result)
    if result["top_self_cpu_ms"]:
        print("functions with the most own CPU (cProfile, ms/request):")
        for where, ms in result["top_self_cpu_ms"].items():
            print(f"  {ms:6.2f} ms  {where}")
    if args.json:
        args.json.write_text(json.dumps([result], indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
