"""Settings for measuring proposed optimisations without editing the app (bench only).

``bench/run`` uses this module when ``BENCH_EXPERIMENTS`` names changes to try, joined by
``+`` (``prepared+cache_auth``); ``experiment_wsgi.py`` applies the ones that patch code.
Each says what it stands for in the app; the numbers go to the lead, the app stays as is.
"""

import os

from awda.settings import *  # noqa: F403
from awda.settings import DATABASES, MIDDLEWARE

EXPERIMENTS = {e for e in os.environ.get("BENCH_EXPERIMENTS", "").split("+") if e}
KNOWN = {
    "prepared",
    "cache_auth",
    "cache_policy",
    "api_middleware",
    "cache_explain",
    "hooks_middleware",
    "no_enqueue",
}
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

if "hooks_middleware" in EXPERIMENTS:
    # Carrier webhooks past the session, locale, common, CSRF, auth, messages and frame
    # options middleware, none of which does anything for a signed POST from a carrier:
    # experiment_wsgi.WebhookShortcutMiddleware, right after RejectNulMiddleware, hands
    # /hooks/carriers/ straight to its view (SecurityMiddleware and RejectNul still run).
    _at = next(i for i, m in enumerate(MIDDLEWARE) if m.endswith(".RejectNulMiddleware")) + 1
    MIDDLEWARE = [*MIDDLEWARE[:_at], "experiment_wsgi.WebhookShortcutMiddleware", *MIDDLEWARE[_at:]]

if "no_enqueue" in EXPERIMENTS:
    # Not a proposal: the carrier webhook's job is not pushed to Redis at all (the sweep
    # would find the rows a minute later). Measures what the push costs per webhook, the
    # most that batching pushes or a cheaper queue could save.
    AWDA_CARRIER_WEBHOOK_ENQUEUE = "builtins.id"
