"""Run wrk once and account for the CPU it took; summarise many runs. Used by ``bench/run``.

``loadgen.py run``: runs one wrk scenario, reads the JSON line its Lua ``done`` hook prints,
and measures CPU over the run from /proc: the server's processes (Granian's process group),
PostgreSQL's processes (the benchmark database's backends and the rest), wrk itself, and
what everything else on the machine used (other people's jobs distort a run; the report flags
such runs). Appends one JSON record to --log.

``loadgen.py report``: medians per (configuration, scenario) over the logged runs, a table,
and the results file (with bench/page_weight.py's figures when given).
Standard library only: no Django needed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HZ = os.sysconf("SC_CLK_TCK")
SCRIPTS = {
    "baseline": None,  # GET /healthz: Django + middleware + one SELECT 1, the framework floor
    "returnable_lines": HERE / "returnable_lines.lua",
    "create_return": HERE / "create_return.lua",
    # Shopper portal pages on the demo store (bench/portal_seed.py); one script for all four.
    "portal_lookup": HERE / "portal.lua",
    "portal_items": HERE / "portal.lua",
    "portal_policy": HERE / "portal.lua",
    "portal_status": HERE / "portal.lua",
    # The warehouse's receiving station on the same store (bench/station_seed.py).
    "station_scan": HERE / "station.lua",
    "station_return": HERE / "station.lua",
    # Signed carrier tracking webhooks, a new event each (bench/hooks_seed.py, own database).
    "carrier_webhooks": HERE / "hooks.lua",
    # Signed Shopify order webhooks, a distinct delivery each (hooks_seed.py seed-store).
    "store_webhooks": HERE / "store_hooks.lua",
    # The staff analytics pages over 10M order lines (bench/analytics_seed.py's database,
    # bench/analytics_pages_seed.py's analyst sessions).
    "analytics_overview": HERE / "analytics.lua",
    "analytics_rates": HERE / "analytics.lua",
    "analytics_items": HERE / "analytics.lua",
}
# Scenarios whose Lua script sends a signed-in session cookie (no API key) and names its page
# in BENCH_PORTAL_PAGE; the warm-up counts every answer other than the expected one.
PAGE_SCENARIOS = ("portal_", "station_", "analytics_")
PATHS = {"baseline": "/healthz"}
# Other processes using more than this many cores during a run make it "contended".
CONTENDED_CORES = 0.25
# Goals: req/s for the API calls; p95 latency at 50 connections for the portal pages.
RPS_GOALS = {
    "returnable_lines": 1500.0,
    "create_return": 400.0,
    "carrier_webhooks": 1000.0,
    "store_webhooks": 500.0,  # issue 8: inbound order webhooks verified and stored
}
# Where each webhook scenario's deliveries are stored (one row per 202).
WEBHOOK_TABLES = {
    "carrier_webhooks": "shipping_inboundwebhook",
    "store_webhooks": "integrations_storewebhook",
}
# carrier_webhooks: a run prebuilds at most duration x this many signed events (wrk stops
# loudly if a run is faster, rather than send an event twice).
HOOKS_MAX_RATE = int(os.environ.get("BENCH_HOOKS_MAX_RATE", "5000"))
P95_GOAL_MS = 50.0
# Issue 7: the analytics pages over 10M order lines answer < 500 ms p95.
ANALYTICS_P95_GOAL_MS = 500.0
ANALYTICS_PERIODS = ("30", "90", "365")


def _busy_jiffies() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def _proc_jiffies(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _pids(where: str, value: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if where == "pgid":
                stat = (entry / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[2] == value:
                    pids.append(int(entry.name))
            elif (entry / "comm").read_text().strip() == value:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _bench_backends(db_url: str, db: str) -> list[int]:
    psql = shutil.which("psql")
    if not psql:
        return []
    out = subprocess.run(
        [psql, db_url, "-Atc", f"SELECT pid FROM pg_stat_activity WHERE datname = '{db}'"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [int(x) for x in out.split() if x.isdigit()]


def _snapshot(pgid: str | None) -> dict[str, Any]:
    server = _pids("pgid", pgid) if pgid else []
    postgres = _pids("comm", "postgres")
    return {
        "busy": _busy_jiffies(),
        "server": {p: _proc_jiffies(p) for p in server},
        "postgres": {p: _proc_jiffies(p) for p in postgres},
    }


def _delta(before: dict[int, int], after: dict[int, int]) -> dict[int, int]:
    return {p: after[p] - before.get(p, 0) for p in after}


def _wait_quiet(limit_s: float) -> float:
    """Wait (up to ``limit_s``) until the machine is idle between runs; returns the wait."""
    started = time.time()
    while time.time() - started < limit_s:
        a = _busy_jiffies()[0]
        time.sleep(2)
        if (_busy_jiffies()[0] - a) / HZ / 2 < CONTENDED_CORES:
            break
    return round(time.time() - started, 1)


def _webhook_rows(db_url: str, db: str, table: str) -> int:
    """Rows in the webhooks' table, once the server has finished what it was doing."""
    url = db_url.rsplit("/", 1)[0] + "/" + db
    last = -1
    for _ in range(50):
        out = subprocess.run(
            ["psql", url, "-Atc", f"SELECT count(*) FROM {table}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = int(out.strip())
        if rows == last:  # requests still in flight when wrk stopped have been stored
            return rows
        last = rows
        time.sleep(0.3)
    return last


def _hooks_events(work: Path, duration: int) -> tuple[int, int, int]:
    """(offset, limit, line width) of the signed events for a run; signs more if short."""
    offset_file = work / "hooks_offset"
    offset = int(offset_file.read_text().strip()) if offset_file.exists() else 0
    meta = json.loads((work / "events.json").read_text())
    limit = duration * HOOKS_MAX_RATE
    if meta["count"] - offset < limit:
        # Outside the measured window (before the wait for a quiet machine).
        subprocess.run(
            [sys.executable, str(HERE / "hooks_seed.py"), "sign", "--out", str(work),
             "--count", str(max(limit, 100_000)), "--append"],
            check=True,
        )  # fmt: skip
        meta = json.loads((work / "events.json").read_text())
    return offset, limit, int(meta["line_width"])


def cmd_run(args: argparse.Namespace) -> None:
    work = Path(os.environ["BENCH_WORK"])
    hooks = args.scenario in WEBHOOK_TABLES
    # Carrier events are signed beforehand, each sent once; store deliveries get their ids in
    # the wrk script (Shopify's signature covers the body only).
    signed_events = args.scenario == "carrier_webhooks"
    if signed_events:
        hooks_offset, hooks_limit, hooks_width = _hooks_events(work, args.duration)
    waited = _wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else 0.0
    env = {**os.environ, "BENCH_THREADS": str(args.threads)}
    if signed_events:
        env["BENCH_HOOKS_OFFSET"] = str(hooks_offset)
        env["BENCH_HOOKS_LIMIT"] = str(hooks_limit)
        env["BENCH_HOOKS_WIDTH"] = str(hooks_width)
    if hooks and args.label == "warmup":
        env["BENCH_CHECK"] = "1"  # print the first answers other than 202
    portal = args.scenario.startswith(PAGE_SCENARIOS)
    config = json.loads(args.config)
    if args.scenario.startswith("analytics_"):
        # One period (BENCH_ANALYTICS_PERIOD) or all three in turn; part of the configuration,
        # so the report keeps each period's runs apart.
        period = env.get("BENCH_ANALYTICS_PERIOD", "").strip() or "all"
        if period not in (*ANALYTICS_PERIODS, "all"):
            raise SystemExit(f"BENCH_ANALYTICS_PERIOD must be 30, 90 or 365, not {period!r}")
        env["BENCH_ANALYTICS_PERIOD"] = "" if period == "all" else period
        config["period"] = "30+90+365" if period == "all" else period
    if portal:
        env["BENCH_PORTAL_PAGE"] = args.scenario
        if args.label == "warmup":
            # The warm-up counts every answer other than 200: a lost session would otherwise
            # measure the redirect to the lookup form (wrk counts only >= 400 as errors).
            env["BENCH_CHECK"] = "1"
    offset_file = work / "slot_offset"
    if args.scenario == "create_return":
        env["BENCH_SLOT_OFFSET"] = offset_file.read_text().strip() if offset_file.exists() else "0"
        slots = sum(1 for _ in (work / "slots.csv").open())
        left = slots - int(env["BENCH_SLOT_OFFSET"])
        # A generous ceiling on what a run can use; wrk aborts a thread when slots run out.
        if left < args.duration * 2000:
            print(f"warning: only {left} return slots left; reseed if runs fail", file=sys.stderr)
    script = SCRIPTS[args.scenario]
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    cmd += ["--timeout", "10s"]
    if script is not None:
        cmd += ["-s", str(script)]
        url = args.url
    else:
        cmd += ["-s", str(HERE / "baseline.lua")]
        url = args.url.rstrip("/") + PATHS[args.scenario]
    cmd.append(url)

    table = WEBHOOK_TABLES.get(args.scenario, "")
    rows_before = _webhook_rows(args.pg_url, args.db, table) if hooks else 0
    backends = _bench_backends(args.pg_url, args.db)
    before = _snapshot(args.server_pgid)
    started = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    after = _snapshot(args.server_pgid)
    elapsed = time.time() - started
    # Backends the pool opened during the run count from zero, which is what they used.
    backends = sorted(set(backends) | set(_bench_backends(args.pg_url, args.db)))
    match = re.search(r"^BENCH_JSON (\{.*\})$", out, re.MULTILINE)
    if os.waitstatus_to_exitcode(status) != 0 or match is None:
        sys.stderr.write(out + err)
        raise SystemExit(f"wrk failed for {args.scenario}")
    record: dict[str, Any] = json.loads(match.group(1))
    record["scenario"] = args.scenario
    if err.strip():
        record["wrk_stderr"] = err.strip()[:2000]
    if args.scenario == "create_return":
        offset_file.write_text(str(record["next_offset"]))
    if signed_events:
        (work / "hooks_offset").write_text(str(record["next_offset"]))
    if hooks:
        # "Stored" proven: the rows this run added against the 202 answers wrk counted.
        # Requests in flight when wrk stopped are served (and stored) but not counted, so the
        # rows may exceed the 202s by at most those: sent - answered.
        counts = record["status_counts"]
        answered = sum(counts.values())
        rows = _webhook_rows(args.pg_url, args.db, table) - rows_before
        in_flight = record["sent"] - answered
        record["webhooks"] = {
            "rows_stored": rows,
            "accepted_202": counts["202"],
            "in_flight_at_stop": in_flight,
            "rows_match_202": counts["202"] <= rows <= counts["202"] + in_flight,
            "all_202": answered == counts["202"],
        }
        if args.label == "warmup" and not (
            record["webhooks"]["all_202"] and record["webhooks"]["rows_match_202"]
        ):
            sys.stderr.write(err)
            raise SystemExit(
                f"{args.scenario} warm-up: answers {counts}, {rows} rows stored, "
                f"{in_flight} in flight: expected every answer 202 and one row per 202"
            )
    if portal and args.label == "warmup" and record.get("non_2xx_counted"):
        sys.stderr.write(err)
        raise SystemExit(
            f"{args.scenario}: {record['non_2xx_counted']} answers other than 200 in the warm-up"
            " (first ones above): check the sessions/data (reseed: bench/run without --reuse)"
        )

    busy = (after["busy"][0] - before["busy"][0]) / HZ
    server = sum(_delta(before["server"], after["server"]).values()) / HZ
    pg = _delta(before["postgres"], after["postgres"])
    pg_bench = sum(v for p, v in pg.items() if p in backends) / HZ
    # The rest of PostgreSQL: its background writers (partly ours) and other databases'
    # backends (not ours: other people's test runs share this server).
    pg_rest = sum(v for p, v in pg.items() if p not in backends) / HZ
    wrk_cpu = usage.ru_utime + usage.ru_stime
    other = max(0.0, busy - server - pg_bench - pg_rest - wrk_cpu)
    n = max(1, record["requests"])
    record["cpu"] = {
        "seconds": round(elapsed, 2),
        "machine_busy_cores": round(busy / elapsed, 2),
        "server_cores": round(server / elapsed, 2),
        "postgres_cores": round(pg_bench / elapsed, 2),
        "postgres_rest_cores": round(pg_rest / elapsed, 2),
        "wrk_cores": round(wrk_cpu / elapsed, 2),
        "other_cores": round(other / elapsed, 2),
        # Per request, so runs on a busy machine still say what a request costs.
        "server_ms_per_request": round(server * 1000 / n, 3),
        "postgres_ms_per_request": round(pg_bench * 1000 / n, 3),
        "postgres_rest_ms_per_request": round(pg_rest * 1000 / n, 3),
        "wrk_ms_per_request": round(wrk_cpu * 1000 / n, 3),
    }
    record["contended"] = (other + pg_rest) / elapsed > CONTENDED_CORES
    record["config"] = config
    record["label"] = args.label
    record["waited_for_quiet_s"] = waited
    record["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    with args.log.open("a") as log:
        log.write(json.dumps(record) + "\n")
    lat = record["latency_us"]
    errors = sum(record["errors"].values())
    c = record["cpu"]
    if hooks:
        w = record["webhooks"]
        print(
            f"  {'':<7} {args.scenario}: answers {record['status_counts']}; "
            f"{w['rows_stored']:,} rows stored for {w['accepted_202']:,} answers 202 "
            f"(+{w['in_flight_at_stop']} in flight at stop): "
            + ("ok" if w["rows_match_202"] and w["all_202"] else "MISMATCH")
        )
    print(
        f"  {args.label:<7} {_label(args.scenario, config):<17} {record['rps']:>8.1f} req/s  "
        f"p50 {lat['p50'] / 1000:7.1f} ms  p95 {lat.get('p95', float('nan')) / 1000:7.1f} ms  "
        f"p99 {lat['p99'] / 1000:7.1f} ms  errors {errors:>5}  "
        f"cpu/req: app {c['server_ms_per_request']:.2f} ms, "
        f"pg {c['postgres_ms_per_request']:.2f} ms, "
        f"wrk {c['wrk_ms_per_request']:.2f} ms; others used "
        f"{c['other_cores'] + c['postgres_rest_cores']:.2f} cores"
        + ("  [CONTENDED]" if record["contended"] else "")
    )


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def _conns(config: dict[str, Any]) -> str:
    """Connections, with "t" when each one paused between requests like a reading shopper."""
    think = config.get("think_ms", "0")
    return f"{config['connections']}{'t' if think not in ('0', '', None) else ''}"


def _label(scenario: str, config: dict[str, Any]) -> str:
    """The scenario, with its period when an analytics run asked for one period only."""
    period = config.get("period", "")
    return f"{scenario}@{period}" if period in ANALYTICS_PERIODS else scenario


def cmd_report(args: argparse.Namespace) -> None:
    runs = [json.loads(line) for line in args.log.read_text().splitlines() if line.strip()]
    measured = [r for r in runs if r.get("label") == "run"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in measured:
        groups[(json.dumps(r["config"], sort_keys=True), r["scenario"])].append(r)
    seed = json.loads(args.seed.read_text()) if args.seed and args.seed.exists() else None
    summary = []
    for (config_key, scenario), rs in groups.items():
        config = json.loads(config_key)
        cpu_keys = rs[0]["cpu"].keys()
        row = {
            "scenario": scenario,
            "config": config,
            "runs": len(rs),
            "contended_runs": sum(1 for r in rs if r["contended"]),
            "rps": _median([r["rps"] for r in rs]),
            "rps_all": [r["rps"] for r in rs],
            "p50_ms": _median([r["latency_us"]["p50"] / 1000 for r in rs]),
            # Logs from before p95 was recorded have none: NaN.
            "p95_ms": _median(
                [r["latency_us"]["p95"] / 1000 for r in rs if "p95" in r["latency_us"]]
            ),
            "p99_ms": _median([r["latency_us"]["p99"] / 1000 for r in rs]),
            "errors": sum(sum(r["errors"].values()) for r in rs),
            "non_2xx": sum(r["errors"]["status"] for r in rs),
            "requests": sum(r["requests"] for r in rs),
            "cpu": {k: _median([r["cpu"][k] for r in rs]) for k in cpu_keys},
        }
        cost = sum(
            row["cpu"][k]
            for k in ("server_ms_per_request", "postgres_ms_per_request", "wrk_ms_per_request")
        )
        cores = os.cpu_count() or 1
        # What the measured CPU per request (app + its PostgreSQL backends + wrk) allows on
        # this machine with nothing else running: a ceiling, not a measurement.
        row["cpu_bound_rps_ceiling"] = round(cores * 1000 / cost) if cost else None
        if scenario in RPS_GOALS:
            row["goal_rps"] = RPS_GOALS[scenario]
            row["ratio_to_goal"] = round(row["rps"] / RPS_GOALS[scenario], 3)
        if scenario in WEBHOOK_TABLES:
            row["webhooks"] = {
                "rows_stored": sum(r["webhooks"]["rows_stored"] for r in rs),
                "accepted_202": sum(r["webhooks"]["accepted_202"] for r in rs),
                "in_flight_at_stop": sum(r["webhooks"]["in_flight_at_stop"] for r in rs),
                "runs_matching": sum(1 for r in rs if r["webhooks"]["rows_match_202"]),
                "runs_all_202": sum(1 for r in rs if r["webhooks"]["all_202"]),
                "status_counts": {
                    k: sum(r["status_counts"][k] for r in rs) for k in rs[0]["status_counts"]
                },
            }
            row["cpu_ms_per_request"] = round(cost, 3)
        if scenario.startswith("portal_"):
            row["goal_p95_ms"] = P95_GOAL_MS
            row["meets_p95_goal"] = row["p95_ms"] < P95_GOAL_MS
            row["cpu_ms_per_request"] = round(cost, 3)
        if scenario.startswith("analytics_"):
            row["goal_p95_ms"] = ANALYTICS_P95_GOAL_MS
            row["meets_p95_goal"] = row["p95_ms"] < ANALYTICS_P95_GOAL_MS
            row["cpu_ms_per_request"] = round(cost, 3)
        checked = [r["non_2xx_counted"] for r in rs if r.get("non_2xx_counted") is not None]
        if checked and scenario.startswith(PAGE_SCENARIOS):
            # BENCH_CHECK=1 on measured runs: answers other than the expected one, 3xx too.
            row["checked_runs"] = len(checked)
            row["unexpected_answers"] = sum(checked)
        summary.append(row)
    summary.sort(key=lambda r: (json.dumps(r["config"], sort_keys=True), r["scenario"]))

    width = max([17] + [len(_label(r["scenario"], r["config"])) for r in summary])
    header = (
        f"{'scenario':<{width}} {'workers':>7} {'thr':>3} {'conns':>5} {'req/s':>8} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'p99 ms':>7} {'non-2xx':>7} {'errors':>6} {'app ms':>6} {'pg ms':>6} "
        f"{'ceil':>6} {'goal':>5} runs  experiments @ code"
    )
    print(header)
    print("-" * len(header))
    for r in summary:
        c = r["config"]
        goal = f"{r['ratio_to_goal']:.0%}" if "ratio_to_goal" in r else "-"
        if "meets_p95_goal" in r:
            goal = "ok" if r["meets_p95_goal"] else "miss"
        print(
            f"{_label(r['scenario'], c):<{width}} {c['workers']:>7} {c['blocking_threads']:>3} "
            f"{_conns(c):>5} {r['rps']:>8.1f} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} "
            f"{r['p99_ms']:>7.1f} "
            f"{r['non_2xx']:>7} {r['errors']:>6} {r['cpu']['server_ms_per_request']:>6.2f} "
            f"{r['cpu']['postgres_ms_per_request']:>6.2f} {r['cpu_bound_rps_ceiling'] or 0:>6} "
            f"{goal:>5} {r['runs']}"
            + (f" ({r['contended_runs']} contended)" if r["contended_runs"] else "")
            + f"  {c.get('experiments', 'none')} @ {c.get('code', '?')}"
        )
    print(
        "req/s, p50, p95, p99: medians over runs; non-2xx: responses with status >= 400 (all runs);"
        " errors: all wrk errors incl. socket;\napp ms / pg ms: CPU per request of the Granian "
        "processes / of the benchmark database's PostgreSQL backends; ceil: req/s those costs "
        "(+ wrk's)\nwould allow on all cores of an otherwise idle machine; goal: req/s against "
        "the goal (1,500 lookups/s, 400 returns/s, 1,000 webhooks/s),\nor for portal pages "
        f"whether p95 < {P95_GOAL_MS:.0f} ms at 50 connections, for analytics pages whether "
        f"p95 < {ANALYTICS_P95_GOAL_MS:.0f} ms\n(issue 7); conns with t: each connection "
        "paused BENCH_THINK_MS between pages, like a shopper reading (otherwise closed loop);\n"
        "analytics_*@P: period P only (BENCH_ANALYTICS_PERIOD), otherwise 30, 90 and 365 days "
        "in turn."
    )
    for r in summary:
        if "checked_runs" in r:
            print(
                f"checked (BENCH_CHECK=1): {_label(r['scenario'], r['config'])} @ "
                f"{_conns(r['config'])} conns: {r['unexpected_answers']} answers other than the "
                f"expected one in {r['checked_runs']}/{r['runs']} runs"
            )
    for r in summary:
        if "webhooks" in r:
            w = r["webhooks"]
            print(
                f"{r['scenario']} @ {r['config']['connections']} conns: {w['rows_stored']:,} "
                f"rows stored, {w['accepted_202']:,} answers 202 (+{w['in_flight_at_stop']} in "
                f"flight at stop), answers {w['status_counts']}; runs with rows = 202s: "
                f"{w['runs_matching']}/{r['runs']}, runs with only 202: "
                f"{w['runs_all_202']}/{r['runs']}"
            )
    if seed and seed.get("kind") == "hooks":
        d, t = seed["demo"], seed["timings"]
        print(
            f"seeding: demo store, {d['orders']:,} orders in {t['seed_demo_s']:.1f} s; "
            f"{seed['parcels']} parcels on the sandbox account {seed['account']['public_id']} "
            f"(tolerance {seed['account']['tolerance_seconds']:,} s) in {t['parcels_s']:.1f} s"
        )
    elif seed and seed.get("kind") == "store_hooks":
        print(
            f"seeding: demo store, {seed['demo']['orders']:,} orders, a Shopify connection "
            f"{seed['connection']['public_id']}, {seed['bodies']:,} signed orders of "
            f"~{seed['body_bytes']:,} bytes (each request its own webhook id)"
        )
    elif seed and seed.get("kind") == "analytics":
        rows = seed["estimated_rows"]
        print(
            f"data: store {seed['store']} as bench/analytics_seed.py left it (~"
            f"{rows['order_lines']:,} order lines, ~{rows['return_items']:,} return items, "
            f"PostgreSQL's estimates); {seed['sessions']} analyst sessions; drill-down reason "
            f"{seed['reason']!r} ({seed['reason_items_30d']:,} items in the last 30 days)"
        )
    elif seed and seed.get("kind") == "portal":
        d, t = seed["demo"], seed["timings"]
        print(
            f"seeding: demo store, {d['orders']:,} orders / {d['returns']:,} returns in "
            f"{t['seed_demo_s']:.1f} s; {seed['sessions']} sessions "
            f"({seed['sessions_with_return']} with a return)"
        )
    elif seed:
        t = seed["timings"]
        print(
            f"seeding: {seed['counts']['order_lines']:,} lines / "
            f"{seed['counts']['orders']:,} orders"
            f" in {t['total_s']:.2f} s ({seed['rows']:,} rows; COPY {seed['rows_per_s']:,} rows/s)"
        )
    result = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "memory_gib": round(
                os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
            ),
            "max_rss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        },
        "command": args.command_line,
        "git": args.git,
        "seed": seed,
        "summary": summary,
        "page_weight": (
            json.loads(args.page_weight.read_text())
            if args.page_weight and args.page_weight.exists()
            else None
        ),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results: {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--scenario", choices=sorted(SCRIPTS), required=True)
    run.add_argument("--url", required=True)
    run.add_argument("--duration", type=int, required=True)
    run.add_argument("--connections", type=int, required=True)
    run.add_argument("--threads", type=int, default=2)
    run.add_argument("--server-pgid")
    run.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    run.add_argument("--db", default="awda_bench")
    run.add_argument("--config", default="{}")
    run.add_argument("--label", default="run")
    run.add_argument(
        "--wait-quiet", type=float, default=0, help="wait up to this long for an idle machine"
    )
    run.add_argument("--log", type=Path, required=True)
    report = sub.add_parser("report")
    report.add_argument("--log", type=Path, required=True)
    report.add_argument("--seed", type=Path)
    report.add_argument("--out", type=Path, required=True)
    report.add_argument("--command-line", default="")
    report.add_argument("--git", default="")
    report.add_argument("--page-weight", type=Path, help="bench/page_weight.py's --json file")
    args = parser.parse_args()
    {"run": cmd_run, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
