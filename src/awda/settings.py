"""Django settings, read from ``AWDA_*`` environment variables with safe local defaults.

With nothing set, Awda runs on an embedded SQLite database and a SQLite huey store under
``AWDA_DATA_DIR`` (``./var``): nothing to install or start. ``AWDA_DATABASE_URL``
(``postgres://…``) and ``AWDA_REDIS_URL`` switch to the production engines.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("AWDA_DATA_DIR", Path.cwd() / "var")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The configured key, or one generated once and kept in the data dir for local use."""
    configured = os.environ.get("AWDA_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    import secrets

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


DEBUG = _env_bool("AWDA_DEBUG", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("AWDA_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("AWDA_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "ninja",
    "awda",
    "awda.core",
    "awda.merchants",
    "awda.catalog",
    "awda.orders",
    "awda.policies",
    "awda.wallet",
    "awda.payments",
    "awda.exchanges",
    "awda.shipping",
    "awda.returns",
    "awda.warehouse",
    "awda.support",
    "awda.integrations",
    "awda.analytics",
    "awda.webhooks",
    "awda.api",
    "awda.notifications",
    "awda.portal",
    "awda.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "awda.core.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "awda.urls"
WSGI_APPLICATION = "awda.wsgi.application"

TEMPLATES = [
    # The shopper portal's pages (portal/jinja2/): see awda/portal/jinja.py for why.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"environment": "awda.portal.jinja.environment"},
    },
    # E-mails and the admin.
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    },
]

# -- database -----------------------------------------------------------------------------
DATABASE_URL = os.environ.get("AWDA_DATABASE_URL", "")


def _sqlite(path: Path) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            # Writers take the lock at BEGIN, so a read-then-write transaction never fails
            # half-way with "database is locked"; WAL lets readers go on meanwhile.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
            ),
        },
        "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
    }


def _database() -> dict[str, Any]:
    if not DATABASE_URL:
        return _sqlite(DATA_DIR / "awda.sqlite3")
    if DATABASE_URL.startswith("sqlite:///"):
        return _sqlite(Path(DATABASE_URL.removeprefix("sqlite:///")))
    config: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=0))
    if config["ENGINE"] == "django.db.backends.postgresql":
        options = config.setdefault("OPTIONS", {})
        if _env_bool("AWDA_DB_PREPARED", True):
            # Server-side binding lets psycopg prepare repeated statements: PostgreSQL then
            # skips planning the same joins on every request (bench: +54% lookups/s).
            # Turn off behind a transaction-pooling PgBouncer older than 1.21.
            options["server_side_binding"] = True
            options["prepare_threshold"] = 5
        if _env_bool("AWDA_DB_POOL", True):
            # psycopg 3's pool lives in each process; web processes stay stateless.
            options["pool"] = {
                "min_size": int(os.environ.get("AWDA_DB_POOL_MIN", "2")),
                "max_size": int(os.environ.get("AWDA_DB_POOL_MAX", "20")),
                "timeout": 10,
            }
        else:
            config["CONN_MAX_AGE"] = 60
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# -- jobs -----------------------------------------------------------------------------------
REDIS_URL = os.environ.get("AWDA_REDIS_URL", "")
HUEY_IMMEDIATE = _env_bool("AWDA_JOBS_IMMEDIATE", False)
if REDIS_URL:
    HUEY: dict[str, Any] = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": os.environ.get("AWDA_JOBS_NAME", "awda"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "results": False,
        "consumer": {"workers": 4, "worker_type": "thread"},
    }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "awda",
        "filename": str(DATA_DIR / "jobs.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "results": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

# -- sessions -------------------------------------------------------------------------------
# Shopper sessions (order grants, the draft between portal steps) are kept in the database;
# with Redis configured they are cached there too, so a page reads its session without a
# query (a write still goes to both: losing Redis loses nothing).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("AWDA_JOBS_NAME", "awda"),
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Text messages (SMS/WhatsApp) to shoppers go through this channel (dotted path to a
# TextChannel); the console channel writes them to DATA_DIR/sms.log. Empty: no texts.
AWDA_TEXT_CHANNEL = os.environ.get(
    "AWDA_TEXT_CHANNEL", "awda.notifications.channels.ConsoleChannel"
)

# The outbox hands committed events to this callable (a huey task in production).
AWDA_OUTBOX_ENQUEUE = "awda.tasks.enqueue_event"
# Stored carrier webhooks are handed to this callable for processing.
AWDA_CARRIER_WEBHOOK_ENQUEUE = "awda.tasks.enqueue_carrier_webhook"
# Stored payment gateway webhooks (a paid payment link) likewise.
AWDA_GATEWAY_WEBHOOK_ENQUEUE = "awda.tasks.enqueue_gateway_webhook"
# Stored store (Shopify, WooCommerce, Zid) webhooks likewise.
AWDA_STORE_WEBHOOK_ENQUEUE = "awda.tasks.enqueue_store_webhook"
# New outbound webhook deliveries (merchants' endpoints) are handed to this callable.
AWDA_WEBHOOK_DELIVERY_ENQUEUE = "awda.tasks.enqueue_webhook_deliveries"
# Outbound webhooks to http://localhost / 127.0.0.1 (development only; never in production,
# where every endpoint must be https and resolve to public addresses).
AWDA_WEBHOOKS_ALLOW_LOCAL = _env_bool("AWDA_WEBHOOKS_ALLOW_LOCAL", DEBUG)

# -- auth ----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

# -- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ar", _("Arabic"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"

# -- uploaded files (return photos) -----------------------------------------------------------
# Files go through Django's storage API: on disk under the data dir by default, or any
# storage backend by configuration, e.g. S3-compatible object storage with django-storages:
#   AWDA_STORAGE_BACKEND=storages.backends.s3.S3Storage
#   AWDA_STORAGE_OPTIONS='{"bucket_name": "awda", "endpoint_url": "https://…"}'
# Shoppers' photos are private: MEDIA_ROOT is not served by Awda and must not be exposed.
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"


def _storages() -> dict[str, Any]:
    default: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    backend = os.environ.get("AWDA_STORAGE_BACKEND", "").strip()
    if backend:
        raw = os.environ.get("AWDA_STORAGE_OPTIONS", "").strip() or "{}"
        try:
            options = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ImproperlyConfigured(f"AWDA_STORAGE_OPTIONS is not valid JSON: {exc}") from None
        if not isinstance(options, dict):
            raise ImproperlyConfigured("AWDA_STORAGE_OPTIONS must be a JSON object")
        default = {"BACKEND": backend, "OPTIONS": options}
    return {
        "default": default,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


STORAGES = _storages()

AWDA_PHOTO_MAX_BYTES = int(os.environ.get("AWDA_PHOTO_MAX_BYTES", str(10 * 1024 * 1024)))
AWDA_PHOTO_MAX_PIXELS = int(os.environ.get("AWDA_PHOTO_MAX_PIXELS", "40000000"))
AWDA_PHOTO_MAX_PER_ORDER = int(os.environ.get("AWDA_PHOTO_MAX_PER_ORDER", "10"))

# -- encryption at rest (bank details) --------------------------------------------------------
# Comma-separated Fernet keys: the first encrypts, all decrypt, so a new key goes first and
# the old one stays until every value has been re-encrypted. Empty: one key derived from
# SECRET_KEY (fine locally; in production set explicit keys, or changing the secret key
# makes the stored values unreadable).
AWDA_ENCRYPTION_KEYS = [
    k.strip() for k in os.environ.get("AWDA_ENCRYPTION_KEYS", "").split(",") if k.strip()
]

# -- e-mail -----------------------------------------------------------------------------------
# AWDA_SMTP_URL names the mail server: smtp://user:password@host:587?tls=1 (STARTTLS) or
# smtps://user:password@host:465 (TLS from the first byte); ?timeout=N seconds (default 10).
# Percent-encode special characters of the user and password (p@ss -> p%40ss). Without it,
# every mail is written as a file under DATA_DIR/mail: fine for a demo, never for shoppers.
_EMAIL_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _email_settings(url: str) -> dict[str, Any]:
    """Django's EMAIL_* settings for an ``smtp://`` / ``smtps://`` URL, or the mail folder."""
    from urllib.parse import parse_qs, unquote, urlsplit

    url = url.strip()
    if not url:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": DATA_DIR / "mail",
        }
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ImproperlyConfigured("AWDA_SMTP_URL must look like smtp://user:password@host:587")
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(options) - {"tls", "timeout"})
    if unknown:
        raise ImproperlyConfigured(f"AWDA_SMTP_URL: unknown option(s) {', '.join(unknown)}")
    use_ssl = parts.scheme == "smtps"
    use_tls = _EMAIL_FLAGS.get(options.get("tls", "0").lower())
    if use_tls is None:
        raise ImproperlyConfigured("AWDA_SMTP_URL: tls must be 1 or 0")
    if use_ssl and use_tls:
        raise ImproperlyConfigured("AWDA_SMTP_URL: smtps:// is TLS already; drop ?tls=1")
    try:
        port = parts.port or (465 if use_ssl else 587 if use_tls else 25)
        timeout = float(options.get("timeout", "10"))
    except ValueError as exc:
        raise ImproperlyConfigured(f"AWDA_SMTP_URL: {exc}") from None
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        # A mail server that stops answering must not hold a worker thread for ever.
        "EMAIL_TIMEOUT": timeout,
    }


_EMAIL = _email_settings(os.environ.get("AWDA_SMTP_URL", ""))
EMAIL_BACKEND: str = _EMAIL["EMAIL_BACKEND"]
EMAIL_FILE_PATH: Path = _EMAIL.get("EMAIL_FILE_PATH", DATA_DIR / "mail")
EMAIL_HOST: str = _EMAIL.get("EMAIL_HOST", "localhost")
EMAIL_PORT: int = _EMAIL.get("EMAIL_PORT", 25)
EMAIL_HOST_USER: str = _EMAIL.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD: str = _EMAIL.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS: bool = _EMAIL.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL: bool = _EMAIL.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT: float = _EMAIL.get("EMAIL_TIMEOUT", 10.0)
DEFAULT_FROM_EMAIL = os.environ.get("AWDA_EMAIL_FROM", "Awda <returns@localhost>")

# -- API -------------------------------------------------------------------------------------
AWDA_API_PAGE_SIZE_MAX = 200
# How long a process may keep an API key, the active policy or the reason list it has read
# (awda.core.cache): a revoked key or a new policy takes effect at once in the process that
# made the change and within this many seconds in every other. 0 turns the caches off.
AWDA_LOCAL_CACHE_SECONDS = float(os.environ.get("AWDA_LOCAL_CACHE_SECONDS", "5"))
AWDA_PUBLIC_URL = os.environ.get("AWDA_PUBLIC_URL", "http://127.0.0.1:8000")
AWDA_SHOPIFY_CLIENT_ID = os.environ.get("AWDA_SHOPIFY_CLIENT_ID", "")
AWDA_SHOPIFY_CLIENT_SECRET = os.environ.get("AWDA_SHOPIFY_CLIENT_SECRET", "")

# -- shopper portal --------------------------------------------------------------------------
# Signed order links in e-mails stay valid this many days.
AWDA_PORTAL_LINK_DAYS = int(os.environ.get("AWDA_PORTAL_LINK_DAYS", "30"))
# Order lookups: every attempt counts against the address, failed ones against the order.
AWDA_PORTAL_LOOKUPS_PER_IP = int(os.environ.get("AWDA_PORTAL_LOOKUPS_PER_IP", "20"))
AWDA_PORTAL_FAILED_LOOKUPS_PER_ORDER = int(
    os.environ.get("AWDA_PORTAL_FAILED_LOOKUPS_PER_ORDER", "5")
)
AWDA_PORTAL_LOOKUP_WINDOW_MINUTES = int(os.environ.get("AWDA_PORTAL_LOOKUP_WINDOW_MINUTES", "15"))
# Behind N reverse proxies, the client address is the N-th from the right in X-Forwarded-For.
AWDA_TRUSTED_PROXIES = int(os.environ.get("AWDA_TRUSTED_PROXIES", "0"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("AWDA_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"
