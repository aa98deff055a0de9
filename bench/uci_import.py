"""Time the UCI Online Retail import (``awda import-uci``) into a fresh PostgreSQL database.

Usage: python bench/uci_import.py [--runs 3] [--file shared/fixtures/.../online_retail.parquet]
Each run drops and recreates the database ``awda_bench_uci`` (local superuser ``postgres``),
migrates it, then runs the import in a child process and reads its timings. Prints lines/s
for the load alone (read + parse + COPY) and with the rollup refresh, medians of the runs.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT.parent / "shared/fixtures/uci-online-retail/online_retail.parquet"
DB = "awda_bench_uci"
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"


def run_once(path: Path) -> dict[str, float]:
    psql = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c"]
    subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'], check=True)
    subprocess.run([*psql, f'CREATE DATABASE "{DB}"'], check=True)
    env = {**os.environ, "AWDA_DATABASE_URL": URL, "AWDA_REDIS_URL": ""}
    awda = str(ROOT / ".venv/bin/awda")
    subprocess.run([awda, "migrate", "-v0"], check=True, env=env)
    out = subprocess.run(
        [awda, "import-uci", str(path), "--merchant", "uci", "--create-merchant"],
        check=True, env=env, capture_output=True, text=True,
    ).stdout  # fmt: skip
    lines = int(re.search(r"read ([\d,]+) lines", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    times = {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+) s", out)}
    load = times["read"] + times["parse"] + times["write"]
    return {
        "lines": lines,
        "load_s": load,
        "total_s": times["total"],
        "refresh_s": times["refresh"],
        "load_lines_per_s": lines / load,
        "total_lines_per_s": lines / times["total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        r = run_once(args.file)
        runs.append(r)
        print(
            f"run {i + 1}: load {r['load_s']:.2f} s ({r['load_lines_per_s']:,.0f} lines/s), "
            f"with refresh {r['total_s']:.2f} s ({r['total_lines_per_s']:,.0f} lines/s)",
            flush=True,
        )
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"median of {len(runs)}: {med['lines']:,.0f} lines; load {med['load_s']:.2f} s = "
        f"{med['load_lines_per_s']:,.0f} lines/s; refresh {med['refresh_s']:.2f} s; "
        f"import + refresh {med['total_s']:.2f} s = {med['total_lines_per_s']:,.0f} lines/s"
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
