"""Where a portal page's time goes: in-process profile of the shopper portal's pages.

``python bench/profile_portal.py [--requests N] [--pages "portal_items portal_status"]``
renders the pages through Django's test client (the whole WSGI stack: middleware, sessions,
views, templates) against the benchmark's demo store (bench/portal_seed.py), one request at a
time, alternating Arabic and English and the seeded sessions, and reports per page:

- wall time and the Python CPU time of the thread (``time.thread_time``);
- SQL: statements, client-side wall time, and the server's planning + execution time
  (``EXPLAIN ANALYZE`` of one request's statements, rolled back);
- the Python CPU split by layer (template engine, translation, ORM, driver, sessions, policy
  engine…) and the inclusive CPU of the page's main steps. With py-spy (``BENCH_PYSPY`` or on
  PATH) the split comes from sampling this process from outside; otherwise from cProfile on
  thread CPU time, whose per-call overhead over-weights code made of many small calls (the
  template engine, the ORM): read its shares as an upper bound for those.

``python bench/profile_portal.py pyspy FILE.raw`` summarises a ``py-spy record -f raw`` capture
of a Granian worker serving portal pages (``bench/run --profile`` makes one under wrk load).

Reuses bench/profile_requests.py's machinery with the portal's layers and steps.
Env: BENCH_WORK (portal_seed.py's --out), AWDA_DATABASE_URL and friends.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import profile_requests as pr  # django.setup() happens there
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

HOST = "127.0.0.1"
ACCEPT_LANGUAGE = {"ar": "ar-SA,ar;q=0.9,en;q=0.8", "en": "en-US,en;q=0.9,ar;q=0.5"}
PAGES = ("portal_lookup", "portal_items", "portal_policy", "portal_status")

# (substring of the file path or C-function name, layer), first match wins.
LAYERS: list[tuple[str, str]] = [
    ("psycopg", "driver: psycopg (send/wait/parse rows)"),
    ("django/db/", "ORM: build + compile SQL, rows -> models"),
    ("django/contrib/sessions", "sessions (load, decode)"),
    ("django/core/signing", "sessions (load, decode)"),
    ("django/middleware/csrf", "CSRF token"),
    ("awda/portal/templatetags", "templates: awda tags (money, dates, numbers)"),
    ("awda/core/formatting", "templates: awda tags (money, dates, numbers)"),
    ("babel/", "Babel (number, date, money formats)"),
    ("django/template/", "templates: Django engine (parse, render, escape)"),
    ("django/templatetags/", "templates: Django engine (parse, render, escape)"),
    ("django/utils/html", "templates: Django engine (parse, render, escape)"),
    ("django/utils/safestring", "templates: Django engine (parse, render, escape)"),
    ("django/utils/formats", "templates: Django engine (parse, render, escape)"),
    ("django/utils/translation", "gettext (translation lookups)"),
    ("gettext", "gettext (translation lookups)"),
    ("django/urls/", "URLs: resolve, reverse, translate_url"),
    ("awda/policies/explain", "policy explanations"),
    ("awda/policies/public", "public policy text"),
    ("awda/policies/", "policy engine (facts, rules, document)"),
    ("awda/returns/quote", "quote + money"),
    ("awda/core/money", "quote + money"),
    ("awda/portal/", "portal views"),
    ("awda/", "awda: selectors, services, branding"),
    ("hashlib", "ETag (sha256)"),
    ("json/", "JSON"),
    ("_json", "JSON"),
    ("django/", "Django: handler, middleware, HTTP"),
    ("asgiref/", "Django: handler, middleware, HTTP"),
]

# The pages' main steps: (file path fragment, function name) -> label (inclusive CPU).
STEPS: list[tuple[str, str, str]] = [
    ("django/contrib/sessions/backends/db.py", "load", "session load (SELECT + decode)"),
    ("django/core/handlers/base.py", "_get_response", "URL resolve + view (incl. render)"),
    ("awda/portal/steps.py", "wrapper", "  order_step (order + access check, then the view)"),
    ("awda/portal/steps.py", "items_view", "  items_view"),
    ("awda/returns/selectors.py", "returnable_lines", "    returnable_lines (selector)"),
    ("awda/orders/selectors.py", "get_order_lines", "      order + lines + product facts"),
    ("awda/policies/selectors.py", "active_compiled_policy", "      active policy"),
    ("awda/policies/rules.py", "evaluate_order", "      policy evaluation"),
    ("awda/policies/explain.py", "explain_both", "      explanations en+ar"),
    ("awda/returns/quote.py", "quote_return", "      quote preview per line"),
    ("awda/portal/steps.py", "_reason_choices", "    reason choices"),
    ("awda/portal/steps.py", "_line_extras", "    line extras (image, options)"),
    ("awda/portal/views.py", "return_status", "  return_status"),
    ("awda/returns/selectors.py", "get_return", "    get_return (+ items, timeline)"),
    ("awda/portal/story.py", "for_return", "    story (timeline in words)"),
    ("awda/portal/views.py", "lookup", "  lookup"),
    ("awda/portal/policy_views.py", "policy_page", "  policy_page"),
    ("awda/policies/public.py", "public_policy", "    public_policy (the page's text)"),
    ("awda/portal/policy_views.py", "_cacheable", "    ETag (sha256 of the body)"),
    ("awda/returns/selectors.py", "list_reasons", "    list_reasons"),
    ("awda/portal/pages.py", "context", "  page context (storefront, language link)"),
    ("django/urls/base.py", "translate_url", "    translate_url (the language link)"),
    ("django/shortcuts.py", "render", "  render (template)"),
    ("django/middleware/csrf.py", "get_token", "    CSRF token"),
]


def _requests(work: Path, page: str) -> list[tuple[str, str, dict[str, str]]]:
    """(path, lang, cookies) for a page, as bench/portal.lua sends them."""
    env = dict(
        line.split("=", 1) for line in (work / "portal_env").read_text().splitlines() if line
    )
    csrf_name, csrf_value = env["csrf_cookie"].split("=", 1)
    out = []
    for lang in ("ar", "en"):
        base = f"/{lang}/r/{env['store']}/"
        if page == "portal_lookup":
            out.append((base, lang, {}))
        elif page == "portal_policy":
            out.append((f"{base}policy/", lang, {}))
        else:
            for line in (work / "sessions.csv").read_text().split():
                key, number, ret = line.split(",")
                cookies = {env["session_cookie"]: key, csrf_name: csrf_value}
                if page == "portal_items":
                    out.append((f"{base}orders/{number}/", lang, cookies))
                elif ret:
                    out.append((f"{base}returns/{ret}/", lang, cookies))
    return out


def _caller(work: Path, page: str) -> Callable[[], Any]:
    reqs = _requests(work, page)
    by_lang = {lang: [r for r in reqs if r[1] == lang] for lang in ("ar", "en")}
    rng = random.Random(1)
    clients: dict[tuple[tuple[str, str], ...], Client] = {}
    counter = [0]

    def call() -> Any:
        counter[0] += 1
        lang = "ar" if counter[0] % 2 else "en"
        path, _lang, cookies = rng.choice(by_lang[lang])
        key = tuple(sorted(cookies.items()))
        client = clients.get(key)
        if client is None:
            client = clients[key] = Client(HTTP_HOST=HOST)
            for name, value in cookies.items():
                client.cookies[name] = value
        response = client.get(path, HTTP_ACCEPT_LANGUAGE=ACCEPT_LANGUAGE[lang])
        if response.status_code != 200:
            raise SystemExit(f"{page}: GET {path} answered {response.status_code}")
        return response

    return call


def profile_page(page: str, work: Path, n: int, raw_dir: Path | None) -> dict[str, Any]:
    call = _caller(work, page)
    for _ in range(40):  # warm: imports, templates, translations, pool, caches
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
        # CaptureQueriesContext rounds each statement's time to 1 ms: time them here.
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
                shutil.copy(raw, raw_dir / f"in_process_{page}.raw")
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
        own = sorted(raw_stats.items(), key=lambda kv: -kv[1][2])[:15]
        top = [
            (f"{'/'.join(Path(f).parts[-2:])}:{line} {name}", v[2] / whole)
            for (f, line, name), v in own
        ]
    cpu_ms = statistics.median(cpu) * 1000
    return {
        "page": page,
        "requests": n,
        "profiler": profiler,
        "wall_ms": {
            "median": statistics.median(wall) * 1000,
            "p90": sorted(wall)[int(0.9 * len(wall))] * 1000,
            "p95": sorted(wall)[int(0.95 * len(wall))] * 1000,
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


def print_profile(p: dict[str, Any]) -> None:
    pr.print_profile({**p, "scenario": p["page"]})
    if p["top_self_cpu_ms"]:
        print("functions with the most own CPU (cProfile, ms/request):")
        for where, ms in p["top_self_cpu_ms"].items():
            print(f"  {ms:6.2f} ms  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    spy = sub.add_parser("pyspy", help="summarise a py-spy raw capture of a Granian worker")
    spy.add_argument("raw", type=Path)
    spy.add_argument("--title", default="")
    spy.add_argument("--json", type=Path)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pages", default=" ".join(PAGES), help="space-separated")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    # profile_requests' summarisers look these up at call time: give them the portal's.
    pr.LAYERS[:] = LAYERS
    pr.STEPS[:] = STEPS
    if args.command == "pyspy":
        summary = pr.summarise_pyspy(args.raw)
        pr.print_pyspy(summary, args.title or args.raw.name)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2) + "\n")
        return
    work = Path(os.environ.get("BENCH_WORK", "bench/results/work-portal"))
    if not (work / "sessions.csv").exists():
        sys.exit(f"profile_portal: no {work}/sessions.csv: run bench/portal_seed.py first")
    if connection.vendor != "postgresql":
        print("note: not PostgreSQL; figures won't match the benchmark", file=sys.stderr)
    print(f"(session cookie {settings.SESSION_COOKIE_NAME}; data from {work})")
    results = []
    for page in args.pages.split():
        if page not in PAGES:
            sys.exit(f"profile_portal: unknown page {page} (one of {', '.join(PAGES)})")
        result = profile_page(page, work, args.requests, args.json.parent if args.json else None)
        print_profile(result)
        results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
