"""Where a request's time goes: in-process profile of the two benchmarked API calls.

``python bench/profile_requests.py [--requests N] [--scenario returnable_lines|create_return|both]``
drives the real WSGI stack (middleware, Ninja, services, PostgreSQL) through Django's test
client against the benchmark database, single-threaded, and reports per request:

- wall time, and the Python CPU time of the thread (``time.thread_time``: immune to other
  processes competing for the CPU);
- SQL: statement count, client-side wall time, and the server's planning + execution time
  (``EXPLAIN ANALYZE`` of one request's statements, in a rolled-back transaction);
- the Python CPU split by layer (cProfile self time; C functions charged to their caller's
  layer) and the inclusive time of the app's main steps.

``python bench/profile_requests.py pyspy FILE.raw`` summarises a ``py-spy record -f raw`` capture
of a Granian worker the same way (``bench/run --profile`` makes one under wrk load).

Env: BENCH_WORK (the seeder's --out directory), AWDA_DATABASE_URL and friends.
"""

from __future__ import annotations

import argparse
import collections
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
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "awda.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

# (substring of the file path or C-function name, layer), first match wins.
LAYERS: list[tuple[str, str]] = [
    ("psycopg", "driver: psycopg (send/wait/parse rows)"),
    ("django/db/", "ORM: build + compile SQL, rows -> models"),
    ("awda/policies/explain", "policy explanations (gettext + Babel)"),
    ("django/utils/translation", "policy explanations (gettext + Babel)"),
    ("babel/", "policy explanations (gettext + Babel)"),
    ("awda/policies/", "policy engine (facts, rules)"),
    ("awda/returns/quote", "quote + money"),
    ("awda/core/money", "quote + money"),
    ("awda/core/outbox", "outbox + job enqueue"),
    ("awda/tasks", "outbox + job enqueue"),
    ("huey/", "outbox + job enqueue"),
    ("sqlite3", "outbox + job enqueue"),
    ("redis/", "outbox + job enqueue"),
    ("awda/merchants/", "awda: API key check"),
    ("hashlib", "awda: API key check"),
    ("awda/", "awda: API, services, selectors"),
    ("ninja/", "Ninja: routing, auth, params, response"),
    ("pydantic", "pydantic: validate + serialise"),
    ("json/", "JSON encode/decode"),
    ("_json", "JSON encode/decode"),
    ("django/", "Django: handler, middleware, HTTP, URLs"),
    ("asgiref/", "Django: handler, middleware, HTTP, URLs"),
    ("granian/", "Granian (Python side)"),
]
OTHER = "stdlib/other"

# The app's main steps: (file path fragment, function name) -> label.
STEPS: list[tuple[str, str, str]] = [
    ("ninja/operation.py", "run", "whole Ninja operation (auth + handler + response)"),
    ("awda/merchants/services.py", "api_key_access", "API key -> merchant, scopes"),
    ("awda/returns/selectors.py", "returnable_lines", "returnable_lines (selector, whole)"),
    ("awda/orders/selectors.py", "get_order_lines", "  order + lines + product facts"),
    ("awda/orders/selectors.py", "get_order", "get_order (order + lines + payments)"),
    ("awda/policies/selectors.py", "active_compiled_policy", "active policy lookup"),
    ("awda/policies/selectors.py", "facts_for_order", "policy facts"),
    ("awda/policies/rules.py", "evaluate_order", "policy evaluation"),
    ("awda/policies/explain.py", "explain_both", "explanations en+ar"),
    ("awda/returns/quote.py", "quote_return", "quote"),
    ("awda/returns/services.py", "request_return", "request_return (service, whole)"),
    ("awda/returns/services.py", "_normalise_reasons", "  reason lookup"),
    ("awda/returns/services.py", "_build_quote", "  quote"),
    ("awda/returns/services.py", "_create_with_unique_number", "  insert return (savepoint)"),
    ("awda/returns/services.py", "_transition", "  approve (CAS + timeline + event)"),
    ("awda/core/outbox.py", "record_event", "  outbox event rows"),
    ("awda/core/outbox.py", "_enqueue", "job enqueue after commit"),
    ("django/db/transaction.py", "__exit__", "COMMIT (+ on_commit hooks)"),
    ("awda/returns/selectors.py", "get_return", "get_return (reload for response)"),
    ("ninja/schema.py", "from_orm", "Schema.from_orm (response objects)"),
    ("ninja/operation.py", "_result_to_response", "response validation + render"),
    ("ninja/renderers.py", "render", "  JSON render"),
]


def layer_of(where: str) -> str | None:
    for fragment, layer in LAYERS:
        if fragment in where:
            return layer
    return None


def _where(func: tuple[str, int, str]) -> tuple[str, bool]:
    filename, _line, name = func
    is_c = filename == "~" or filename.startswith("<")
    return (name if is_c else filename), is_c


def cprofile_layers(stats: pstats.Stats) -> dict[str, float]:
    """Self time per layer; a C function's time goes to its callers' layers."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    own: dict[Any, str] = {}

    def layer_of_func(func: Any, depth: int = 0) -> str:
        if func in own:
            return own[func]
        where, is_c = _where(func)
        layer = layer_of(where)
        if layer is None and is_c and depth < 4:
            callers = raw.get(func, (0, 0, 0, 0, {}))[4]
            if callers:
                top = max(callers.items(), key=lambda kv: kv[1][2])[0]
                layer = layer_of_func(top, depth + 1)
        own[func] = layer or OTHER
        return own[func]

    totals: dict[str, float] = collections.defaultdict(float)
    for func, (_cc, _nc, tt, _ct, callers) in raw.items():
        where, is_c = _where(func)
        if is_c and layer_of(where) is None and callers:
            # Split a builtin's self time over its callers, by what each caller spent in it.
            spent = sum(c[2] for c in callers.values()) or 1.0
            for caller, c in callers.items():
                totals[layer_of_func(caller)] += tt * c[2] / spent
        else:
            totals[layer_of_func(func)] += tt
    return dict(totals)


def cprofile_steps(stats: pstats.Stats) -> dict[str, float]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    found: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in raw.items():
        for fragment, func_name, label in STEPS:
            if name == func_name and filename.endswith(fragment):
                found[label] = found.get(label, 0.0) + ct
    return {label: found[label] for _f, _n, label in STEPS if label in found}


# -- scenarios ------------------------------------------------------------------------------


class Scenario:
    def __init__(self, name: str, work: Path, client: Client) -> None:
        self.name = name
        self.work = work
        self.client = client
        self.orders = (work / "orders.txt").read_text().split()
        self.slots = [s.split(",", 1) for s in (work / "slots.csv").read_text().split()]
        self.offset_file = work / "slot_offset"
        self.rng = random.Random(1)

    def next_slot(self) -> tuple[str, str]:
        offset = int(self.offset_file.read_text()) if self.offset_file.exists() else 0
        if offset >= len(self.slots):
            raise SystemExit("out of return slots: reseed with bench/run")
        self.offset_file.write_text(str(offset + 1))
        number, ref = self.slots[offset]
        return number, ref

    def call(self) -> Any:
        if self.name == "returnable_lines":
            number = self.rng.choice(self.orders)
            response = self.client.get(f"/api/v1/orders/{number}/returnable-lines")
            expected = 200
        else:
            number, ref = self.next_slot()
            body = {
                "order_number": number,
                "method": "label",
                "items": [{"line_ref": ref, "quantity": 1, "reason": "too_small"}],
            }
            response = self.client.post(
                "/api/v1/returns", data=json.dumps(body), content_type="application/json"
            )
            expected = 201
        if response.status_code != expected:
            raise SystemExit(f"{self.name}: HTTP {response.status_code} {response.content[:300]!r}")
        return response


def _explain_analyze(queries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Planning + execution time of each statement, measured by the server, then rolled back."""
    out = []
    with transaction.atomic(), connection.cursor() as cursor:
        for q in queries:
            sql = q["sql"]
            head = sql.lstrip().split(None, 1)[0].upper()
            if head not in {"SELECT", "INSERT", "UPDATE", "DELETE"}:
                out.append({"sql": sql[:200], "planning_ms": None, "execution_ms": None})
                continue
            sid = transaction.savepoint()
            try:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                plan = cursor.fetchone()[0][0]
                out.append(
                    {
                        "sql": sql[:200],
                        "planning_ms": plan.get("Planning Time"),
                        "execution_ms": plan.get("Execution Time"),
                    }
                )
            except Exception as exc:  # a statement that depends on an earlier one's rows
                out.append({"sql": sql[:200], "error": str(exc).splitlines()[0]})
            finally:
                transaction.savepoint_rollback(sid)
        transaction.set_rollback(True)
    return out


def profile_scenario(name: str, work: Path, n: int, raw_dir: Path | None) -> dict[str, Any]:
    key = (work / "api_key").read_text().strip()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="127.0.0.1")
    sc = Scenario(name, work, client)
    for _ in range(30):  # warm: imports, policy cache, pool, translations
        sc.call()

    # 1. wall and CPU time per request, nothing attached.
    wall, cpu = [], []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.thread_time()
        sc.call()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)

    # 2. SQL per request.
    counts, sql_ms = [], []
    sample: list[dict[str, Any]] = []
    for _ in range(min(n, 100)):
        with CaptureQueriesContext(connection) as ctx:
            sc.call()
        counts.append(len(ctx.captured_queries))
        sql_ms.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        sample = list(ctx.captured_queries)
    server = _explain_analyze(sample)

    # 3. CPU by layer and by step. py-spy samples this very process from outside (no
    # overhead); without it cProfile measures thread CPU time, but its per-call overhead
    # inflates code made of many small calls (the ORM) relative to the rest.
    pyspy = os.environ.get("BENCH_PYSPY") or shutil.which("py-spy")
    layers_share: dict[str, float]
    steps_share: dict[str, float]
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
            time.sleep(1.0)  # let it attach
            for _ in range(n):
                sc.call()
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
            summary = summarise_pyspy(raw, main_thread_only=True)
            if raw_dir is not None:
                raw_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(raw, raw_dir / f"in_process_{name}.raw")
        layers_share, steps_share = summary["layers"], summary["steps"]
        lines_share = summary["app_lines"]
    else:
        profiler = "cProfile"
        prof = cProfile.Profile(time.thread_time)
        prof.enable()
        for _ in range(n):
            sc.call()
        prof.disable()
        stats = pstats.Stats(prof)
        layers = cprofile_layers(stats)
        whole = sum(layers.values()) or 1.0
        layers_share = {k: v / whole for k, v in layers.items()}
        steps_share = {k: v / whole for k, v in cprofile_steps(stats).items()}
        lines_share = {}
    cpu_ms = statistics.median(cpu) * 1000
    return {
        "scenario": name,
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
        # Shares of the Python CPU time, scaled to ms per request.
        "cpu_layers_ms": {
            k: v * cpu_ms for k, v in sorted(layers_share.items(), key=lambda kv: -kv[1])
        },
        "steps_cpu_ms": {k: v * cpu_ms for k, v in steps_share.items()},
        "app_lines_cpu_ms": {k: v * cpu_ms for k, v in lines_share.items()},
    }


def print_profile(p: dict[str, Any]) -> None:
    s = p["sql"]
    print(f"\n== {p['scenario']} ({p['requests']} requests, one at a time, in-process) ==")
    print(
        f"wall {p['wall_ms']['median']:.2f} ms median (p90 {p['wall_ms']['p90']:.2f}); "
        f"Python CPU {p['python_cpu_ms']:.2f} ms; SQL {s['statements']:.0f} statements, "
        f"{s['client_wall_ms']:.2f} ms client wall, {s['server_ms']:.2f} ms server (plan+exec)"
    )
    print(f"Python CPU by layer ({p['profiler']} shares x CPU time, ms/request):")
    for layer, ms in p["cpu_layers_ms"].items():
        print(f"  {ms:6.2f} ms  {ms / p['python_cpu_ms']:5.1%}  {layer}")
    print("main steps (inclusive CPU, ms/request):")
    for label, ms in p["steps_cpu_ms"].items():
        print(f"  {ms:6.2f} ms  {label}")
    if p.get("app_lines_cpu_ms"):
        print("app code lines (innermost awda frame, with the library work beneath it):")
        for where, ms in p["app_lines_cpu_ms"].items():
            print(f"  {ms:6.2f} ms  {where}")
    print("statements of one request (server planning + execution ms):")
    for q in s["statements_sample"]:
        if "error" in q:
            print(f"      n/a     {q['sql'][:100]}")
        elif q["execution_ms"] is None:
            print(f"       -      {q['sql'][:100]}")
        else:
            print(f"  {q['planning_ms']:5.2f}+{q['execution_ms']:5.2f}  {q['sql'][:100]}")


# -- py-spy ---------------------------------------------------------------------------------


def _frame_where(frame: str) -> tuple[str, str]:
    """'func (path/file.py:12)' -> ('func', 'path/file.py')."""
    name, _, rest = frame.rpartition(" (")
    return name, rest.rsplit(":", 1)[0]


def summarise_pyspy(path: Path, *, main_thread_only: bool = False) -> dict[str, Any]:
    self_layer: dict[str, int] = collections.Counter()
    inclusive: dict[str, int] = collections.Counter()
    # Each sample charged to the innermost line of app code on its stack, whatever library
    # code runs beneath it: "which line of ours costs what".
    app_lines: dict[str, int] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        if main_thread_only and not any("profile_requests.py" in f for f in frames):
            continue  # py-spy's own helper threads, the pool's workers
        total += n
        leaf_layer = None
        for frame in reversed(frames):
            leaf_layer = layer_of(_frame_where(frame)[1])
            if leaf_layer is not None:
                break
        self_layer[leaf_layer or OTHER] += n
        for frame in reversed(frames):
            # A middleware's get_response call would take in all of Django and Ninja beneath.
            if "awda/" in frame and "middleware.py" not in frame:
                where = frame.split("awda/", 1)[-1].rstrip(")")
                app_lines[f"{where}  {frame.split(' (')[0]}"] += n
                break
        else:
            app_lines["(no app code on the stack: Django, Ninja, Granian)"] += n
        seen = set()
        for frame in frames:
            name, where = _frame_where(frame)
            for fragment, func_name, label in STEPS:
                if name.endswith(func_name) and where.endswith(fragment) and label not in seen:
                    seen.add(label)
                    inclusive[label] += n
    return {
        "samples": total,
        "layers": {k: v / total for k, v in self_layer.most_common()},
        "steps": {label: inclusive[label] / total for _f, _n, label in STEPS if label in inclusive},
        "app_lines": {k: v / total for k, v in app_lines.most_common(15)},
    }


def print_pyspy(s: dict[str, Any], title: str) -> None:
    print(f"\n== py-spy: {title} ({s['samples']} samples of a busy worker) ==")
    print("by layer (innermost frame's layer; waits on PostgreSQL show as the driver):")
    for layer, share in s["layers"].items():
        print(f"  {share:6.1%}  {layer}")
    print("main steps (share of samples inside them):")
    for label, share in s["steps"].items():
        print(f"  {share:6.1%}  {label}")
    print("app code lines (innermost awda frame, with the library work beneath it):")
    for where, share in s["app_lines"].items():
        print(f"  {share:6.1%}  {where}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    spy = sub.add_parser("pyspy", help="summarise a py-spy raw capture")
    spy.add_argument("raw", type=Path)
    spy.add_argument("--title", default="")
    spy.add_argument("--json", type=Path)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--scenario", choices=["returnable_lines", "create_return", "both"], default="both"
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    if args.command == "pyspy":
        summary = summarise_pyspy(args.raw)
        print_pyspy(summary, args.title or args.raw.name)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2) + "\n")
        return
    work = Path(os.environ.get("BENCH_WORK", "bench/results/work"))
    if connection.vendor != "postgresql":
        print("note: not PostgreSQL; figures won't match the benchmark", file=sys.stderr)
    names = ["returnable_lines", "create_return"] if args.scenario == "both" else [args.scenario]
    results = []
    for name in names:
        result = profile_scenario(
            name, work, args.requests, args.json.parent if args.json else None
        )
        print_profile(result)
        results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
