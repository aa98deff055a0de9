"""Settings for measuring proposed optimisations without editing the app (bench only).

``bench/run`` uses this module when ``BENCH_EXPERIMENTS`` names changes to try, joined by
``+`` (``prepared+cache_auth``); ``experiment_wsgi.py`` applies the ones that patch code.
Each says what it stands for in the app; the numbers go to the lead, the app stays as is.
"""

import os

from awda.settings import *  # noqa: F403
from awda.settings import DATABASES, MIDDLEWARE

EXPERIMENTS = {e for e in os.environ.get("BENCH_EXPERIMENTS", "").split("+") if e}
KNOWN = {"prepared", "cache_auth", "cache_policy", "api_middleware", "cache_explain"}
if EXPERIMENTS - KNOWN:
    raise RuntimeError(f"unknown experiments {sorted(EXPERIMENTS - KNOWN)}; known: {sorted(KNOWN)}")

if "prepared" in EXPERIMENTS:
    # Server-side parameter binding lets psycopg prepare a statement after it has run 5
    # times on a connection, so PostgreSQL stops re-planning the same few queries.
    # (Django's default is client-side binding with preparation off, for PgBouncer's sake.)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 5}
    )

if "api_middleware" in EXPERIMENTS:
    # The API authenticates with bearer keys: sessions, CSRF, user auth, messages and
    # frame options do nothing for it. (The admin would need them; the benchmark doesn't.)
    MIDDLEWARE = [
        m
        for m in MIDDLEWARE
        if m.rsplit(".", 1)[-1]
        not in {
            "SessionMiddleware",
            "CsrfViewMiddleware",
            "AuthenticationMiddleware",
            "MessageMiddleware",
            "XFrameOptionsMiddleware",
        }
    ]
