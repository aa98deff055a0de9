"""Outbound webhooks' use cases: subscriptions, a delivery per event, posting it (signed,
retried on a schedule, replayed on demand) and disabling an endpoint that keeps failing.

Nothing here posts inside a transaction: rows are written in one, the POST happens with
none open, and its outcome is written in another.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from awda.core import clock
from awda.core.errors import NotFound
from awda.core.models import Event
from awda.core.outbox import record_event
from awda.merchants.models import Merchant
from awda.merchants.selectors import owner_emails, staff_language
from awda.returns.models import Return
from awda.webhooks import rules, selectors
from awda.webhooks.errors import (
    URL_REASONS,
    DeliveryInProgress,
    SubscriptionInactive,
    UnknownEventType,
    UrlNotAllowed,
)
from awda.webhooks.models import Attempt, Delivery, DeliveryStatus, Subscription

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
RESPONSE_EXCERPT_BYTES = 2048
# Longer than a POST can take (connect + read timeouts), so a claim never lapses mid-send.
CLAIM = timedelta(seconds=60)
USER_AGENT = "Awda-Webhooks/1"


def allow_local() -> bool:
    """Whether localhost endpoints are accepted (development and tests only)."""
    return bool(getattr(settings, "AWDA_WEBHOOKS_ALLOW_LOCAL", settings.DEBUG))


# -- subscriptions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    subscription: Subscription
    secret: str  # shown once


def create_subscription(
    *, merchant: Merchant, url: str, events: Sequence[str], description: str = ""
) -> Created:
    """A new endpoint with a fresh signing secret (returned once, stored encrypted)."""
    url = _checked_url(url)
    names = _checked_events(events)
    secret = _new_secret()
    now = clock.now()
    with transaction.atomic():
        sub = Subscription.objects.create(
            merchant=merchant,
            public_id=f"whsub_{secrets.token_hex(8)}",
            url=url,
            description=description,
            events=names,
            secret=secret,
            created_at=now,
            updated_at=now,
        )
    return Created(subscription=sub, secret=secret)


_UNSET: Any = object()


def update_subscription(
    *,
    merchant: Merchant,
    public_id: str,
    url: str = _UNSET,
    events: Sequence[str] = _UNSET,
    description: str = _UNSET,
    active: bool = _UNSET,
) -> Subscription:
    """Change an endpoint's URL, events, description or switch it on and off. Switching a
    disabled endpoint back on clears its failure count."""
    changes: dict[str, Any] = {}
    if url is not _UNSET:
        changes["url"] = _checked_url(url)
    if events is not _UNSET:
        changes["events"] = _checked_events(events)
    if description is not _UNSET:
        changes["description"] = description
    now = clock.now()
    with transaction.atomic():
        sub = _lock(merchant, public_id)
        if active is not _UNSET and active != sub.active:
            changes["active"] = active
            if active:
                changes.update(consecutive_failures=0, disabled_at=None, disabled_reason="")
            else:
                changes.update(disabled_at=now, disabled_reason="by_merchant")
                _fail_pending(sub, "the webhook was switched off", now)
        for key, value in changes.items():
            setattr(sub, key, value)
        sub.updated_at = now
        sub.save(update_fields=[*changes, "updated_at"])
    return sub


def delete_subscription(*, merchant: Merchant, public_id: str) -> None:
    """Remove an endpoint with its deliveries and their attempts."""
    with transaction.atomic():
        _lock(merchant, public_id).delete()


def rotate_secret(*, merchant: Merchant, public_id: str) -> Created:
    """A new signing secret, effective for the next attempt; the old one stops at once."""
    secret = _new_secret()
    with transaction.atomic():
        sub = _lock(merchant, public_id)
        sub.secret = secret
        sub.updated_at = clock.now()
        sub.save(update_fields=["secret", "updated_at"])
    return Created(subscription=sub, secret=secret)


def _new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def _lock(merchant: Merchant, public_id: str) -> Subscription:
    sub = (
        Subscription.objects.for_merchant(merchant)
        .select_for_update()
        .filter(public_id=public_id)
        .first()
    )
    if sub is None:
        raise NotFound(field="subscription_id", details={"subscription_id": public_id[:60]})
    return sub


def _checked_url(url: str) -> str:
    url = url.strip()
    try:
        host = rules.check_url(url, allow_local=allow_local())
        # A name that already points inside a network is refused now; one that can't be
        # resolved yet is accepted (its DNS may come later) and checked at every delivery.
        _resolve(host, urlsplit(url).port or 443, strict=False)
    except rules.UrlRefused as refused:
        raise UrlNotAllowed(
            URL_REASONS[refused.reason], field="url", details={"reason": refused.reason}
        ) from None
    return url


def _checked_events(events: Sequence[str]) -> list[str]:
    names = list(dict.fromkeys(str(e).strip() for e in events))
    for position, name in enumerate(names):
        if name not in rules.PUBLIC_NAMES:
            raise UnknownEventType(field=f"events.{position}", details={"event": name[:60]})
    if not names:
        raise UnknownEventType(field="events")
    return names


# -- deliveries ---------------------------------------------------------------------------------


def events_to_deliver(*, events: Sequence[Event]) -> list[Event]:
    """The events among these ``record_deliveries`` has anything to do for: a public name
    and an active subscription of their merchant that wants it (one statement for all)."""
    named = [e for e in events if e.merchant_id is not None and e.name in rules.PUBLIC_NAME_FOR]
    if not named:
        return []
    wanted: dict[int, set[str]] = {}
    for merchant_id, names in Subscription.objects.filter(
        merchant_id__in={e.merchant_id for e in named}, active=True
    ).values_list("merchant_id", "events"):
        wanted.setdefault(merchant_id, set()).update(names)
    return [e for e in named if rules.PUBLIC_NAME_FOR[e.name] in wanted.get(e.merchant_id or 0, ())]


def record_deliveries(*, event: Event) -> list[int]:
    """One delivery per active subscription of the event's merchant that wants it (the
    outbox handler, inside its transaction). A replayed handler adds none: the database
    keeps one per subscription and event. Their first attempt is queued after commit."""
    name = rules.PUBLIC_NAME_FOR.get(event.name)
    if name is None or event.merchant_id is None:
        return []
    subs = [
        sub
        for sub in Subscription.objects.for_merchant(event.merchant_id)
        .filter(active=True)
        .only("pk", "events")
        .order_by("pk")
        if name in sub.events
    ]
    if not subs:
        return []
    data = rules.public_data(event.name, _with_return_number(event))
    now = clock.now()
    rows = []
    for sub in subs:
        public_id = f"whd_{secrets.token_hex(10)}"
        body = {
            "id": public_id,
            "type": name,
            "created_at": _iso(event.created_at),
            "data": data,
        }
        rows.append(
            Delivery(
                merchant_id=event.merchant_id,
                public_id=public_id,
                subscription_id=sub.pk,
                event_id=event.pk,
                event_type=name,
                body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                next_attempt_at=now,
                created_at=now,
            )
        )
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        Delivery.objects.filter(
            event_id=event.pk, subscription_id__in=[s.pk for s in subs], attempts=0
        ).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: _enqueue(ids))
    return ids


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _with_return_number(event: Event) -> dict[str, Any]:
    """Events that name a return only by its id get its number (what the API calls it)."""
    payload = dict(event.payload)
    if "return_id" in payload and "number" not in payload:
        payload["return_number"] = (
            Return.objects.for_merchant(int(event.merchant_id or 0))
            .filter(pk=payload["return_id"])
            .values_list("number", flat=True)
            .first()
        )
    return payload


def _enqueue(delivery_ids: Sequence[int]) -> None:
    if not delivery_ids:
        return
    enqueue: Callable[[list[int]], Any] = import_string(settings.AWDA_WEBHOOK_DELIVERY_ENQUEUE)
    try:
        enqueue(list(delivery_ids))
    except Exception:
        # The rows are safe: the sweep of due deliveries sends them within a minute.
        log.exception("could not queue webhook deliveries %s", delivery_ids)


def due_delivery_ids(*, limit: int = 200) -> list[int]:
    """Pending deliveries whose time has come and that no worker holds (the sweep's list)."""
    now = clock.now()
    return list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def send_test(*, merchant: Merchant, public_id: str) -> Delivery:
    """Post a ``webhook.test`` delivery to the endpoint now and report what it answered (no
    retries, and it counts for nothing)."""
    sub = selectors.subscription(merchant=merchant, public_id=public_id)
    if not sub.active:
        raise SubscriptionInactive(field="subscription_id")
    now = clock.now()
    delivery_id = f"whd_{secrets.token_hex(10)}"
    body = {
        "id": delivery_id,
        "type": rules.TEST_EVENT,
        "created_at": _iso(now),
        "data": {"subscription_id": sub.public_id, "message": "Hello from Awda."},
    }
    with transaction.atomic():
        delivery = Delivery.objects.create(
            merchant=merchant,
            public_id=delivery_id,
            subscription=sub,
            event_type=rules.TEST_EVENT,
            body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            created_at=now,
        )
    return _attempt(delivery.pk, manual=True) or delivery


def replay_delivery(*, merchant: Merchant, public_id: str) -> Delivery:
    """Send a delivery again now: the same id and body, a new timestamp and signature. Its
    retry schedule is left as it was unless this attempt succeeds."""
    delivery = (
        Delivery.objects.for_merchant(merchant)
        .select_related("subscription")
        .filter(public_id=public_id)
        .first()
    )
    if delivery is None:
        raise NotFound(field="delivery_id", details={"delivery_id": public_id[:60]})
    if not delivery.subscription.active:
        raise SubscriptionInactive(field="delivery_id")
    attempted = _attempt(delivery.pk, manual=True)
    if attempted is None:
        raise DeliveryInProgress(field="delivery_id")
    return attempted


def attempt_delivery(*, delivery_id: int) -> Delivery | None:
    """The scheduled attempt of a pending delivery whose time has come (the job and the
    sweep); None when it isn't due, is done, or another worker holds it."""
    return _attempt(delivery_id, manual=False)


def _attempt(delivery_id: int, *, manual: bool) -> Delivery | None:
    now = clock.now()
    claim = Delivery.objects.filter(pk=delivery_id).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    if not manual:
        claim = claim.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
    # The claim is its own short transaction (autocommit): no transaction stays open while
    # the other server answers.
    if claim.update(claimed_until=now + CLAIM) != 1:
        return None
    delivery = Delivery.objects.select_related("subscription").get(pk=delivery_id)
    sub = delivery.subscription
    if not sub.active and not manual:
        with transaction.atomic():
            _fail_pending(sub, "the webhook is disabled", now, only=[delivery.pk])
        delivery.refresh_from_db()
        return delivery
    timestamp = int(now.timestamp())
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",  # the excerpt is read raw, never inflated
        "Awda-Webhook-Id": delivery.public_id,
        "Awda-Webhook-Timestamp": str(timestamp),
        "Awda-Webhook-Event": delivery.event_type,
        "Awda-Signature": rules.signature_header(sub.secret, timestamp, body),
    }
    outcome = post(sub.url, body, headers)
    return _record(delivery, outcome, now=now, timestamp=timestamp, manual=manual)


def _record(
    delivery: Delivery, outcome: Outcome, *, now: datetime, timestamp: int, manual: bool
) -> Delivery:
    success = outcome.status_code is not None and rules.is_success(outcome.status_code)
    sub = delivery.subscription
    with transaction.atomic():
        number = delivery.attempts + 1
        Attempt.objects.create(
            delivery=delivery,
            number=number,
            at=now,
            timestamp=timestamp,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error[:500],
            response_excerpt=outcome.excerpt,
            replay=manual,
        )
        fields: dict[str, Any] = {
            "attempts": number,
            "claimed_until": None,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error[:500],
        }
        exhausted = False
        if success:
            fields.update(
                status=DeliveryStatus.DELIVERED,
                delivered_at=now,
                next_attempt_at=None,
            )
        elif not manual:
            scheduled = Attempt.objects.filter(delivery=delivery, replay=False).count()
            delay = rules.retry_delay(scheduled)
            if delay is None:
                exhausted = True
                fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
            else:
                fields["next_attempt_at"] = now + delay
        elif delivery.next_attempt_at is None and delivery.status == DeliveryStatus.PENDING:
            fields["status"] = DeliveryStatus.FAILED  # a test delivery: nothing scheduled
        Delivery.objects.filter(pk=delivery.pk).update(**fields)
        if success:
            Subscription.objects.filter(pk=sub.pk).update(consecutive_failures=0)
        elif not manual:
            Subscription.objects.filter(pk=sub.pk).update(
                consecutive_failures=F("consecutive_failures") + 1
            )
            failures = (
                Subscription.objects.filter(pk=sub.pk)
                .values_list("consecutive_failures", flat=True)
                .get()
            )
            if exhausted or failures >= rules.DISABLE_AFTER_FAILURES:
                _disable(sub, now=now, failures=failures, delivery=delivery, outcome=outcome)
    delivery.refresh_from_db()
    return delivery


def _disable(
    sub: Subscription, *, now: datetime, failures: int, delivery: Delivery, outcome: Outcome
) -> None:
    """Switch off an endpoint that keeps failing (once: a compare-and-swap on ``active``),
    fail its other pending deliveries, and tell the owners (``WebhookSubscriptionDisabled``)."""
    reason = "failing"
    if not Subscription.objects.filter(pk=sub.pk, active=True).update(
        active=False, disabled_at=now, disabled_reason=reason, updated_at=now
    ):
        return
    _fail_pending(sub, "the webhook was disabled after repeated failures", now)
    record_event(
        "WebhookSubscriptionDisabled",
        {
            "subscription_id": sub.pk,
            "public_id": sub.public_id,
            "url": sub.url,
            "failures": failures,
            "last_delivery_id": delivery.public_id,
            "last_status_code": outcome.status_code,
        },
        merchant_id=sub.merchant_id,
        aggregate_type="webhook_subscription",
        aggregate_id=sub.pk,
    )


def _fail_pending(
    sub: Subscription, error: str, now: datetime, *, only: Sequence[int] | None = None
) -> None:
    pending = Delivery.objects.filter(subscription=sub, status=DeliveryStatus.PENDING)
    if only is not None:
        pending = pending.filter(pk__in=only)
    pending.update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, claimed_until=None, last_error=error
    )


# -- the POST -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str = ""
    excerpt: str = ""


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST ``body`` to ``url``: its name resolved once and every address checked, then the
    connection made to that very address (a DNS answer changed in between can't send it
    inside the network); no redirects, 10 s timeouts, at most 2 KB of the answer read."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        host = rules.check_url(url, allow_local=allow_local())
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _resolve(host, port, strict=True)
    except rules.UrlRefused as refused:
        return Outcome(None, took(), error=f"address refused: {refused.reason}")
    except OSError as exc:
        return Outcome(None, took(), error=f"could not resolve {host}: {exc}")
    assert address is not None
    literal = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    netloc_host = f"[{host}]" if ":" in host else host
    default_port = port == (443 if parts.scheme == "https" else 80)
    request_headers = {**headers, "Host": netloc_host if default_port else f"{netloc_host}:{port}"}
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    try:
        # trust_env=False: a proxy from the environment would resolve the name again.
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client,
            client.stream(
                "POST", pinned, content=body, headers=request_headers, extensions=extensions
            ) as response,
        ):
            excerpt = _read_capped(response)
            return Outcome(response.status_code, took(), excerpt=excerpt)
    except httpx.TimeoutException as exc:
        return Outcome(None, took(), error=f"timed out: {type(exc).__name__}")
    except httpx.HTTPError as exc:
        return Outcome(None, took(), error=f"{type(exc).__name__}: {exc}"[:500])


def _read_capped(response: httpx.Response) -> str:
    data = b""
    for chunk in response.iter_raw():
        data += chunk
        if len(data) >= RESPONSE_EXCERPT_BYTES:
            break
    return data[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace")


def _resolve(host: str, port: int, *, strict: bool) -> str | None:
    """The first address ``host`` resolves to, after checking them all. ``strict``: a name
    that doesn't resolve raises OSError (else None)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        if strict:
            raise
        return None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        rules.check_address(address.split("%")[0], allow_local=allow_local())
    return addresses[0] if addresses else None


# -- telling the owners -------------------------------------------------------------------------


def email_owners_disabled(*, subscription_id: int, failures: int) -> int:
    """Mail the store's owners that a webhook was switched off after repeated failures, in
    the store's language. Returns how many mails went out."""
    sub = Subscription.objects.select_related("merchant").filter(pk=subscription_id).first()
    if sub is None or sub.active:
        return 0  # deleted, or switched back on before the mail went out
    merchant = sub.merchant
    emails = owner_emails(merchant)
    if not emails:
        return 0
    lang = staff_language(merchant)
    last = sub.deliveries.order_by("-created_at", "-pk").first()
    with translation.override(lang):
        store = merchant.name_ar if lang == "ar" and merchant.name_ar else merchant.name
        context = {
            "lang": lang,
            "direction": "rtl" if lang == "ar" else "ltr",
            "store": store,
            "url": sub.url,
            "subscription_id": sub.public_id,
            "failures": failures,
            "last_status": last.last_status_code if last else None,
            "last_error": last.last_error if last else "",
            "api_path": f"/api/v1/webhooks/subscriptions/{sub.public_id}",
        }
        subject = _("A webhook of %(store)s was disabled") % {"store": store}
        text = render_to_string("webhooks/disabled.txt", context)
        html = render_to_string("webhooks/disabled.html", context)
    for to in emails:
        message = EmailMultiAlternatives(
            subject=" ".join(subject.split()),
            body=text.strip() + "\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            headers={"Auto-Submitted": "auto-generated", "Content-Language": lang},
        )
        message.attach_alternative(html, "text/html")
        message.send()
    return len(emails)
