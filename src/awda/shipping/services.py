"""Shipping use cases (the only code that writes shipping tables).

Carrier calls never run inside a transaction: a use case asks the carrier first, then
writes what it answered in one short transaction (return row locked before shipment rows,
everywhere, so two writers can't deadlock). A retried job repeats a carrier call with the
same idempotency key, and the database's unique constraints keep one live parcel per return.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from awda.core import clock
from awda.core.cache import LocalCache
from awda.core.errors import InvalidInput, NotFound
from awda.core.outbox import record_event
from awda.merchants.models import Merchant
from awda.returns import services as returns_services
from awda.returns.models import Return, ReturnMethod, ReturnStatus
from awda.shipping.carriers import ADAPTERS, build_carrier
from awda.shipping.carriers.base import (
    STATUS_RANK,
    Address,
    Carrier,
    CarrierError,
    MalformedWebhook,
    Parcel,
    PickupRequest,
    PickupSlot,
    ShipmentRequest,
    ShipsToShopper,
    TrackingStatus,
    TrackingUpdate,
    WebhookRejected,
)
from awda.shipping.models import (
    CarrierAccount,
    DropOffPoint,
    InboundWebhook,
    Pickup,
    PickupStatus,
    Shipment,
    ShipmentDirection,
    ShipmentStatus,
    TrackingEvent,
)

log = logging.getLogger(__name__)

# The return methods a carrier account can serve.
CARRIER_METHODS = (ReturnMethod.LABEL, ReturnMethod.QR_DROPOFF, ReturnMethod.PICKUP)


# -- drop-off points --------------------------------------------------------------------------


@dataclass(frozen=True)
class DropOffPointData:
    carrier: str
    code: str
    name_en: str
    address_en: str
    city_en: str
    country: str
    name_ar: str = ""
    address_ar: str = ""
    city_ar: str = ""
    hours_en: str = ""
    hours_ar: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def save_drop_off_points(*, merchant: Merchant, points: Sequence[DropOffPointData]) -> int:
    """Create or update points by (carrier, code); returns how many were new."""
    created = 0
    with transaction.atomic():
        for point in points:
            fields = asdict(point)
            carrier, code = fields.pop("carrier"), fields.pop("code")
            fields["country"] = fields["country"].upper()
            _row, new = DropOffPoint.objects.update_or_create(
                merchant=merchant, carrier=carrier, code=code, defaults={**fields, "active": True}
            )
            created += new
    return created


# -- carrier accounts -------------------------------------------------------------------------


def connect_carrier(
    *,
    merchant: Merchant,
    carrier: str,
    name: str,
    settings: Mapping[str, str],
    methods: Sequence[str] = CARRIER_METHODS,
    priority: int = 100,
) -> CarrierAccount:
    """Add a carrier account; its settings (credentials) are encrypted at rest."""
    if carrier not in ADAPTERS:
        raise InvalidInput(_("Unknown carrier."), field="carrier")
    unknown = [m for m in methods if m not in CARRIER_METHODS]
    if unknown:
        raise InvalidInput(_("Unknown return method."), field="methods")
    if not name.strip():
        raise InvalidInput(_("Give the account a name."), field="name")
    data = {str(k): str(v) for k, v in settings.items()}
    if carrier == "sandbox":
        data.setdefault("webhook_secret", secrets.token_urlsafe(32))
        data.setdefault("account_salt", secrets.token_hex(4))
    with transaction.atomic():
        try:
            return CarrierAccount.objects.create(
                merchant=merchant,
                carrier=carrier,
                name=name.strip(),
                public_id=secrets.token_urlsafe(16),
                settings=json.dumps(data),
                methods=list(methods),
                priority=priority,
            )
        except IntegrityError:
            raise InvalidInput(_("An account with this name exists."), field="name") from None


def account_settings(account: CarrierAccount) -> dict[str, str]:
    return dict(json.loads(account.settings or "{}"))


@dataclass(frozen=True, slots=True)
class ConnectedCarrier:
    """An account with its ready adapter, as the webhook path needs it (cached)."""

    account_id: int
    merchant_id: int
    code: str
    adapter: Carrier


# The account behind a webhook address, with its adapter: read and decrypted on every
# delivery otherwise. Another process sees a changed or disabled account within
# AWDA_LOCAL_CACHE_SECONDS.
_connected: LocalCache[str, ConnectedCarrier] = LocalCache(
    "carrier-accounts", ttl=django_settings.AWDA_LOCAL_CACHE_SECONDS
)


def carrier_for(account: CarrierAccount) -> Carrier:
    """A new adapter for ``account``; the caller closes it (or uses ``using_carrier``)."""
    return build_carrier(account.carrier, account_settings(account))


@contextlib.contextmanager
def using_carrier(account: CarrierAccount) -> Iterator[Carrier]:
    """An adapter for one use case, its HTTP connections closed afterwards."""
    adapter = carrier_for(account)
    try:
        yield adapter
    finally:
        adapter.close()


def connected_carrier(public_id: str) -> ConnectedCarrier | None:
    def load() -> ConnectedCarrier | None:
        account = CarrierAccount.objects.filter(public_id=public_id, active=True).first()
        if account is None or account.carrier not in ADAPTERS:
            return None
        return ConnectedCarrier(
            account.pk, account.merchant_id, account.carrier, carrier_for(account)
        )

    return _connected.get_or_load(public_id, load)


def forget_carrier_account(public_id: str) -> None:
    _connected.invalidate(public_id)


def account_for_method(merchant_id: int, method: str) -> CarrierAccount | None:
    """The merchant's active account that serves ``method``, by priority."""
    for account in CarrierAccount.objects.filter(merchant_id=merchant_id, active=True).order_by(
        "priority", "pk"
    ):
        if not account.methods or method in account.methods:
            return account
    return None


# -- issuing the return shipment ---------------------------------------------------------------


def _address(data: Mapping[str, Any], **fallback: str) -> Address:
    def pick(key: str) -> str:
        return str(data.get(key) or fallback.get(key, "") or "")

    return Address(
        name=pick("name"),
        line1=pick("line1") or pick("address"),
        line2=pick("line2"),
        district=pick("district"),
        city=pick("city"),
        region=pick("region"),
        postcode=pick("postcode"),
        country=(pick("country") or "SA").upper(),
        phone=pick("phone"),
        email=pick("email"),
        company=pick("company"),
    )


def shopper_address(ret: Return) -> Address:
    """Where the parcel starts: the pickup address the shopper gave, else the order's."""
    order, customer = ret.order, ret.customer
    data = dict(order.shipping_address or {})
    data.update({k: v for k, v in (ret.pickup or {}).get("address", {}).items() if v})
    return _address(
        data,
        name=customer.name,
        phone=customer.phone,
        email=customer.email,
        country=order.shipping_country,
    )


def merchant_address(merchant: Merchant) -> Address:
    return _address(
        merchant.return_address or {},
        name=merchant.name,
        company=merchant.name,
        country=merchant.country,
    )


def _idempotency_key(ret: Return, what: str) -> str:
    return f"awda-{ret.merchant_id}-{ret.number}-{what}"


def issue_return_shipment(*, return_id: int) -> Shipment | None:
    """Ask the merchant's carrier for the return parcel's tracking number, label and QR.

    Idempotent: an existing live shipment is returned as is. None when the return needs no
    parcel (keep-item, closed) or no carrier account serves its method (staff are told on
    the return's timeline). A carrier's refusal is written on the timeline too; a carrier
    that can't be reached raises, so the job retries.
    """
    ret = (
        Return.objects.select_related("order", "customer", "merchant").filter(pk=return_id).first()
    )
    if ret is None or ret.method == ReturnMethod.KEEP_ITEM or ret.status != ReturnStatus.APPROVED:
        return None
    existing = live_shipment(ret.pk)
    if existing is not None:
        return existing
    account = account_for_method(ret.merchant_id, ret.method)
    now = clock.now()
    if account is None:
        with transaction.atomic():
            returns_services.add_timeline_entry(
                return_id=ret.pk,
                merchant_id=ret.merchant_id,
                kind="label_failed",
                at=now,
                actor="system",
                note="no_carrier",
            )
        return None
    units = sum(ret.items.values_list("quantity", flat=True))
    request = ShipmentRequest(
        reference=ret.number,
        shopper=shopper_address(ret),
        merchant=merchant_address(ret.merchant),
        parcel=Parcel(pieces=1, weight_grams=max(500, 700 * units), currency=ret.currency),
        method=ret.method,
        idempotency_key=_idempotency_key(ret, "inbound"),
    )
    try:
        with using_carrier(account) as adapter:
            result = adapter.create_return_shipment(request)
    except CarrierError as exc:
        if exc.retryable:
            raise
        with transaction.atomic():
            returns_services.add_timeline_entry(
                return_id=ret.pk,
                merchant_id=ret.merchant_id,
                kind="label_failed",
                at=now,
                actor=f"carrier:{account.carrier}",
                note=exc.message[:500],
            )
            record_event(
                "LabelFailed",
                {"return_id": ret.pk, "number": ret.number, "message": exc.message[:500]},
                merchant_id=ret.merchant_id,
                aggregate_type="return",
                aggregate_id=ret.pk,
            )
        return None
    with transaction.atomic():
        locked = Return.objects.select_for_update().filter(pk=ret.pk).first()
        if locked is None or locked.status != ReturnStatus.APPROVED:
            cancelled = True
        else:
            cancelled = False
            try:
                with transaction.atomic():
                    shipment = Shipment.objects.create(
                        merchant_id=ret.merchant_id,
                        return_request=ret,
                        account=account,
                        carrier=account.carrier,
                        direction=ShipmentDirection.INBOUND,
                        method=ret.method,
                        tracking_number=result.tracking_number,
                        carrier_shipment_id=result.carrier_shipment_id,
                        qr_payload=result.qr_payload or result.tracking_number,
                        carrier_label_url=result.carrier_label_url,
                        cost_minor=result.cost_minor,
                        cost_currency=result.cost_currency,
                        status=ShipmentStatus.LABEL_CREATED,
                        status_at=now,
                        created_at=now,
                    )
            except IntegrityError:
                # Another worker issued it first: theirs is the one.
                return live_shipment(ret.pk)
            returns_services.add_timeline_entry(
                return_id=ret.pk,
                merchant_id=ret.merchant_id,
                kind="label_issued",
                at=now,
                actor=f"carrier:{account.carrier}",
                data={"tracking_number": result.tracking_number, "carrier": account.carrier},
            )
            record_event(
                "LabelIssued",
                {
                    "return_id": ret.pk,
                    "number": ret.number,
                    "shipment_id": shipment.pk,
                    "tracking_number": shipment.tracking_number,
                    "carrier": account.carrier,
                    "method": ret.method,
                },
                merchant_id=ret.merchant_id,
                aggregate_type="return",
                aggregate_id=ret.pk,
            )
    if cancelled:
        # The return closed while the carrier answered: don't leave a paid label behind.
        _cancel_quietly(account, result.tracking_number, result.carrier_shipment_id)
        return None
    return shipment


def _cancel_quietly(account: CarrierAccount, tracking_number: str, shipment_id: str) -> None:
    try:
        with using_carrier(account) as adapter:
            adapter.cancel_shipment(
                tracking_number=tracking_number, carrier_shipment_id=shipment_id
            )
    except CarrierError:
        log.warning("could not cancel %s shipment %s", account.carrier, tracking_number)


@dataclass(frozen=True)
class SendBack:
    """The parcel taking rejected items back to the shopper, or why there is none:
    ``no_carrier``, ``carrier_cannot_ship_to_shopper`` or the carrier's refusal."""

    shipment: Shipment | None
    problem: str = ""


def issue_send_back_shipment(*, return_id: int, units: int) -> SendBack:
    """Ask the merchant's carrier for a parcel from the return address to the shopper, for
    ``units`` rejected units going back.

    Idempotent: a live outbound parcel is returned as is, the carrier is asked with a key
    derived from the return number, and the database keeps one live outbound parcel per
    return. The account is the one the return parcel came with (else the label account).
    A carrier that can't be reached raises, so the job retries; one that refuses, or can't
    ship to shoppers, gives a problem for staff instead of a parcel.
    """
    ret = Return.objects.select_related("order", "customer", "merchant").get(pk=return_id)
    existing = live_shipment(ret.pk, ShipmentDirection.OUTBOUND)
    if existing is not None:
        return SendBack(existing)
    inbound = live_shipment(ret.pk)
    account = (
        inbound.account
        if inbound is not None and inbound.account.active
        else account_for_method(ret.merchant_id, ReturnMethod.LABEL)
    )
    if account is None:
        return SendBack(None, "no_carrier")
    request = ShipmentRequest(
        reference=f"{ret.number}-B",
        shopper=shopper_address(ret),
        merchant=merchant_address(ret.merchant),
        parcel=Parcel(
            pieces=1,
            weight_grams=max(500, 700 * units),
            currency=ret.currency,
            description="Returned items sent back",
        ),
        method=ReturnMethod.LABEL,
        idempotency_key=_idempotency_key(ret, "outbound"),
    )
    with using_carrier(account) as adapter:
        if not isinstance(adapter, ShipsToShopper):
            return SendBack(None, "carrier_cannot_ship_to_shopper")
        try:
            result = adapter.create_outbound_shipment(request)
        except CarrierError as exc:
            if exc.retryable:
                raise
            return SendBack(None, exc.message[:500])
    now = clock.now()
    try:
        with transaction.atomic():
            Return.objects.select_for_update().filter(pk=ret.pk).first()  # return before shipment
            shipment = Shipment.objects.create(
                merchant_id=ret.merchant_id,
                return_request=ret,
                account=account,
                carrier=account.carrier,
                direction=ShipmentDirection.OUTBOUND,
                method=ReturnMethod.LABEL,
                tracking_number=result.tracking_number,
                carrier_shipment_id=result.carrier_shipment_id,
                qr_payload=result.qr_payload or result.tracking_number,
                carrier_label_url=result.carrier_label_url,
                cost_minor=result.cost_minor,
                cost_currency=result.cost_currency,
                status=ShipmentStatus.LABEL_CREATED,
                status_at=now,
                created_at=now,
            )
    except IntegrityError:
        # Another worker wrote it first: theirs is the one.
        return SendBack(live_shipment(ret.pk, ShipmentDirection.OUTBOUND))
    return SendBack(shipment)


def live_shipment(return_id: int, direction: str = ShipmentDirection.INBOUND) -> Shipment | None:
    return (
        Shipment.objects.filter(return_request_id=return_id, direction=direction)
        .exclude(status=ShipmentStatus.CANCELLED)
        .select_related("account")
        .first()
    )


# -- courier pickups ----------------------------------------------------------------------------


def pickup_slots(*, merchant: Merchant, address: Address, day: date) -> list[PickupSlot]:
    """The collection windows the merchant's pickup carrier offers on ``day``."""
    account = account_for_method(merchant.pk, ReturnMethod.PICKUP)
    if account is None:
        return []
    with using_carrier(account) as adapter:
        if not adapter.supports_pickup:
            return []
        return list(adapter.pickup_slots(address=address, day=day))


def schedule_pickup(
    *, shipment: Shipment, slot: PickupSlot, address: Address | None = None
) -> Pickup:
    """Book (or re-book) a courier collection for a return parcel.

    Rescheduling cancels the current booking at the carrier first; the new one replaces it.
    """
    ret = Return.objects.select_related("order", "customer").get(pk=shipment.return_request_id)
    where = address or shopper_address(ret)
    current = Pickup.objects.filter(shipment=shipment, status=PickupStatus.SCHEDULED).first()
    with using_carrier(shipment.account) as adapter:
        if current is not None:
            adapter.cancel_pickup(confirmation=current.confirmation)
        result = adapter.schedule_pickup(
            PickupRequest(
                reference=ret.number,
                tracking_number=shipment.tracking_number,
                carrier_shipment_id=shipment.carrier_shipment_id,
                address=where,
                slot=slot,
                parcel=Parcel(),
                idempotency_key=_idempotency_key(ret, f"pickup-{slot.start:%Y%m%d%H%M}"),
            )
        )
    now = clock.now()
    with transaction.atomic():
        Return.objects.select_for_update().filter(pk=ret.pk).first()
        if current is not None:
            Pickup.objects.filter(pk=current.pk).update(
                status=PickupStatus.CANCELLED, cancelled_at=now
            )
        pickup = Pickup.objects.create(
            merchant_id=shipment.merchant_id,
            shipment=shipment,
            confirmation=result.confirmation,
            address=asdict(where),
            window_start=result.slot.start,
            window_end=result.slot.end,
            created_at=now,
        )
        returns_services.add_timeline_entry(
            return_id=ret.pk,
            merchant_id=ret.merchant_id,
            kind="pickup_scheduled",
            at=now,
            actor=f"carrier:{shipment.carrier}",
            data={
                "start": result.slot.start.isoformat(),
                "end": result.slot.end.isoformat(),
                "rescheduled": current is not None,
            },
        )
        record_event(
            "PickupScheduled",
            {
                "return_id": ret.pk,
                "number": ret.number,
                "pickup_id": pickup.pk,
                "start": result.slot.start.isoformat(),
                "end": result.slot.end.isoformat(),
            },
            merchant_id=ret.merchant_id,
            aggregate_type="return",
            aggregate_id=ret.pk,
        )
    return pickup


def cancel_pickup(*, pickup: Pickup) -> Pickup:
    """Call off a booked collection at the carrier, then here."""
    if pickup.status != PickupStatus.SCHEDULED:
        return pickup
    shipment = Shipment.objects.select_related("account").get(pk=pickup.shipment_id)
    with using_carrier(shipment.account) as adapter:
        adapter.cancel_pickup(confirmation=pickup.confirmation)
    now = clock.now()
    with transaction.atomic():
        Return.objects.select_for_update().filter(pk=shipment.return_request_id).first()
        Pickup.objects.filter(pk=pickup.pk, status=PickupStatus.SCHEDULED).update(
            status=PickupStatus.CANCELLED, cancelled_at=now
        )
        returns_services.add_timeline_entry(
            return_id=shipment.return_request_id,
            merchant_id=shipment.merchant_id,
            kind="pickup_cancelled",
            at=now,
            actor="system",
        )
    pickup.refresh_from_db()
    return pickup


def schedule_requested_pickup(*, return_id: int) -> Pickup | None:
    """Book the collection the shopper chose in the portal (``Return.pickup``)."""
    shipment = live_shipment(return_id)
    if shipment is None or shipment.method != ReturnMethod.PICKUP:
        return None
    if Pickup.objects.filter(shipment=shipment).exists():
        return None
    ret = Return.objects.select_related("merchant", "order", "customer").get(pk=return_id)
    chosen = ret.pickup or {}
    try:
        day = date.fromisoformat(str(chosen.get("date", "")))
    except ValueError:
        return None
    slots = pickup_slots(merchant=ret.merchant, address=shopper_address(ret), day=day)
    if not slots:
        return None
    wanted = {"morning": 0, "midday": 1, "afternoon": 2}.get(str(chosen.get("slot", "")), 0)
    return schedule_pickup(shipment=shipment, slot=slots[min(wanted, len(slots) - 1)])


# -- tracking -----------------------------------------------------------------------------------


def _dedupe_key(update: TrackingUpdate) -> str:
    text = "|".join(
        [
            update.tracking_number,
            str(update.status),
            update.occurred_at.isoformat(),
            update.carrier_status,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class TrackingOutcome:
    new_events: int
    status: str
    first_scan: bool  # this call recorded the parcel's first carrier scan
    delivered: bool  # this call recorded its delivery


def record_tracking(
    *, shipment_id: int, updates: Sequence[TrackingUpdate], source: str
) -> TrackingOutcome:
    """Store a parcel's scans once each and move the parcel and its return along.

    A scan seen before (same status, time and carrier code) is ignored, so webhook retries,
    re-sent events and polls that overlap them count once. The parcel's status only moves
    forward; its first scan moves an approved return to in transit (``FirstScanRecorded``),
    its delivery to delivered (``ParcelDelivered``), which is where the policy's refund
    timing picks them up.
    """
    shipment = Shipment.objects.filter(pk=shipment_id).first()
    if shipment is None:
        raise NotFound(details={"shipment": shipment_id})
    now = clock.now()
    with transaction.atomic():
        # Return first, then shipment: the order every shipping writer locks in.
        Return.objects.select_for_update().filter(pk=shipment.return_request_id).first()
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        keys = {_dedupe_key(u): u for u in updates}
        seen = set(
            TrackingEvent.objects.filter(shipment=shipment, dedupe_key__in=list(keys)).values_list(
                "dedupe_key", flat=True
            )
        )
        fresh = sorted(
            ((k, u) for k, u in keys.items() if k not in seen), key=lambda ku: ku[1].occurred_at
        )
        TrackingEvent.objects.bulk_create(
            [
                TrackingEvent(
                    merchant_id=shipment.merchant_id,
                    shipment=shipment,
                    status=str(u.status),
                    occurred_at=u.occurred_at,
                    carrier_status=u.carrier_status[:80],
                    description=u.description[:500],
                    location=u.location[:200],
                    source=source,
                    dedupe_key=k,
                    recorded_at=now,
                )
                for k, u in fresh
            ]
        )
        if not fresh or shipment.status == ShipmentStatus.CANCELLED:
            return TrackingOutcome(0, shipment.status, False, False)
        changes: dict[str, Any] = {}
        status = TrackingStatus(shipment.status)
        status_at = shipment.status_at
        for _key, update in fresh:
            if _moves_forward(status, update.status):
                status, status_at = update.status, update.occurred_at
        if status != shipment.status:
            changes.update(status=str(status), status_at=status_at)
        # Only a scan that shows the carrier holds the parcel starts the clock: a failed
        # collection attempt (an exception before any pickup) must not.
        moved = [u for _k, u in fresh if u.status in MOVED]
        first_scan = shipment.first_scan_at is None and bool(moved)
        if first_scan:
            changes["first_scan_at"] = min(u.occurred_at for u in moved)
        delivered_at = next(
            (u.occurred_at for _k, u in fresh if u.status == TrackingStatus.DELIVERED), None
        )
        delivered = shipment.delivered_at is None and delivered_at is not None
        if delivered:
            changes["delivered_at"] = delivered_at
        if changes:
            Shipment.objects.filter(pk=shipment.pk).update(**changes)
        if shipment.direction == ShipmentDirection.INBOUND:
            if first_scan:
                returns_services.record_first_scan(
                    return_id=shipment.return_request_id,
                    at=changes["first_scan_at"],
                    actor=f"carrier:{shipment.carrier}",
                )
            if delivered and delivered_at is not None:
                returns_services.record_delivery(
                    return_id=shipment.return_request_id,
                    at=delivered_at,
                    actor=f"carrier:{shipment.carrier}",
                )
        latest = fresh[-1][1]
        record_event(
            "ShipmentUpdated",
            {
                "return_id": shipment.return_request_id,
                "shipment_id": shipment.pk,
                "tracking_number": shipment.tracking_number,
                "status": str(status),
                "previous_status": shipment.status,
                "latest": {
                    "status": str(latest.status),
                    "at": latest.occurred_at.isoformat(),
                    "description": latest.description,
                    "location": latest.location,
                },
            },
            merchant_id=shipment.merchant_id,
            aggregate_type="shipment",
            aggregate_id=shipment.pk,
        )
    return TrackingOutcome(len(fresh), str(status), first_scan, delivered)


MOVED = frozenset(
    {
        TrackingStatus.FIRST_SCAN,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.DELIVERED,
    }
)


def _moves_forward(current: TrackingStatus, new: TrackingStatus) -> bool:
    if new == current:
        return False
    # A problem can be cleared by the next scan, which need not rank higher.
    if current == TrackingStatus.EXCEPTION:
        return STATUS_RANK[new] >= STATUS_RANK[TrackingStatus.IN_TRANSIT]
    return STATUS_RANK[new] > STATUS_RANK[current] or new == TrackingStatus.EXCEPTION


# -- inbound webhooks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookReceipt:
    http_status: int
    code: str  # accepted, duplicate, unknown_account, rejected, malformed
    detail: str = ""


def receive_carrier_webhook(
    *, public_id: str, headers: Mapping[str, str], body: bytes, enqueue: bool = True
) -> WebhookReceipt:
    """Verify a carrier's delivery, store it raw under its event id, and queue its processing.

    Nothing is stored unless the signature holds. A repeated event id is acknowledged (the
    carrier stops retrying) and ignored. Processing (matching the parcel, moving the return)
    runs in a job, so the carrier is answered at once.
    """
    connected = connected_carrier(public_id)
    if connected is None:
        return WebhookReceipt(404, "unknown_account")
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        connected.adapter.verify_webhook(headers=lowered, body=body)
        event = connected.adapter.parse_webhook(body=body)
        text = body.decode("utf-8")
    except WebhookRejected as exc:
        return WebhookReceipt(401, "rejected", exc.reason)
    except (MalformedWebhook, UnicodeDecodeError) as exc:
        return WebhookReceipt(400, "malformed", str(exc)[:300])
    now = clock.now()
    # The use case writes one row with one statement, which is a transaction of its own: in
    # autocommit it is committed when it returns, without a BEGIN and a COMMIT round trip
    # around it (bench/README.md, "Carrier webhooks"). on_commit still queues the job only
    # once the row is committed: at once here, or when a caller's transaction commits.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {InboundWebhook._meta.db_table} "  # noqa: S608 (table name)
            "(merchant_id, account_id, event_id, body, received_at, outcome) "
            "VALUES (%s, %s, %s, %s, %s, '') "
            "ON CONFLICT (account_id, event_id) DO NOTHING RETURNING id",
            [connected.merchant_id, connected.account_id, event.event_id[:200], text, now],
        )
        row = cursor.fetchone()
    if row is None:
        return WebhookReceipt(200, "duplicate")
    webhook_id = int(row[0])
    if enqueue:
        transaction.on_commit(lambda: _enqueue_webhook(webhook_id))
    return WebhookReceipt(202, "accepted")


def _enqueue_webhook(webhook_id: int) -> None:
    enqueue: Callable[[int], Any] = import_string(django_settings.AWDA_CARRIER_WEBHOOK_ENQUEUE)
    try:
        enqueue(webhook_id)
    except Exception:
        # The row is safe; the sweep picks it up. The carrier must still get its 2xx.
        log.exception("could not queue carrier webhook %s", webhook_id)


def process_carrier_webhook(*, webhook_id: int) -> str:
    """Apply a stored delivery to its parcel (once); returns what became of it."""
    row = InboundWebhook.objects.select_related("account").filter(pk=webhook_id).first()
    if row is None or row.processed_at is not None:
        return "done"
    outcome = "applied"
    try:
        with using_carrier(row.account) as adapter:
            event = adapter.parse_webhook(body=row.body.encode("utf-8"))
    except MalformedWebhook as exc:
        event, outcome = None, f"unreadable: {exc}"[:300]
    if event is not None:
        if not event.updates:
            outcome = f"ignored: {event.kind or 'no tracking updates'}"[:300]
        else:
            shipment = Shipment.objects.filter(
                account_id=row.account_id, tracking_number=event.tracking_number
            ).first()
            if shipment is None:
                outcome = f"unknown parcel {event.tracking_number}"[:300]
            else:
                record_tracking(shipment_id=shipment.pk, updates=event.updates, source="webhook")
    InboundWebhook.objects.filter(pk=row.pk, processed_at__isnull=True).update(
        processed_at=clock.now(), outcome=outcome
    )
    return outcome


def pending_webhook_ids(*, older_than_seconds: int = 60, limit: int = 500) -> list[int]:
    """Stored deliveries whose job never ran (lost between commit and enqueue)."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    return list(
        InboundWebhook.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )


# -- polling ------------------------------------------------------------------------------------


def poll_tracking(*, limit: int = 200, min_interval_minutes: int = 60) -> int:
    """Ask carriers without webhooks where their open parcels are; returns parcels polled."""
    polling = [code for code in ADAPTERS if not _supports_webhooks(code)]
    now = clock.now()
    cutoff = now - timedelta(minutes=min_interval_minutes)
    open_statuses = [
        ShipmentStatus.LABEL_CREATED,
        ShipmentStatus.FIRST_SCAN,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.OUT_FOR_DELIVERY,
        ShipmentStatus.EXCEPTION,
    ]
    due = list(
        Shipment.objects.filter(carrier__in=polling, status__in=open_statuses)
        .exclude(polled_at__gte=cutoff)
        .select_related("account")
        .order_by("polled_at", "pk")[:limit]
    )
    for shipment in due:
        try:
            with using_carrier(shipment.account) as adapter:
                updates = adapter.fetch_tracking(tracking_number=shipment.tracking_number)
        except CarrierError as exc:
            log.warning("tracking %s failed: %s", shipment.tracking_number, exc.message)
            updates = []
        if updates:
            record_tracking(shipment_id=shipment.pk, updates=updates, source="poll")
        Shipment.objects.filter(pk=shipment.pk).update(polled_at=now)
    return len(due)


def _supports_webhooks(code: str) -> bool:
    try:
        from awda.shipping.carriers import adapter_class

        return bool(adapter_class(code).supports_webhooks)
    except ImportError:
        return True  # an adapter not installed: nothing of it to poll


# -- the sandbox carrier ---------------------------------------------------------------------


def advance_sandbox_parcel(
    *, tracking_number: str, to: TrackingStatus, at: datetime | None = None
) -> WebhookReceipt:
    """Move a sandbox parcel on: the sandbox signs a webhook and it takes the real path in.

    Used by ``awda sandbox advance`` and the staff API; the delivery is processed at once
    (as the worker would) so a demo sees the result without waiting for a job.
    """
    from awda.shipping.carriers.sandbox import SandboxCarrier

    shipment = (
        Shipment.objects.select_related("account", "return_request")
        .filter(carrier="sandbox", tracking_number=tracking_number.strip().upper())
        .first()
    )
    if shipment is None:
        raise NotFound(details={"tracking_number": tracking_number})
    adapter = SandboxCarrier(account_settings(shipment.account))
    headers, body = adapter.build_webhook(
        tracking_number=shipment.tracking_number,
        status=to,
        occurred_at=at or clock.now(),
        reference=shipment.return_request.number,
    )
    receipt = receive_carrier_webhook(
        public_id=shipment.account.public_id, headers=headers, body=body, enqueue=False
    )
    if receipt.code == "accepted":
        event_id = adapter.parse_webhook(body=body).event_id
        webhook = InboundWebhook.objects.get(account_id=shipment.account_id, event_id=event_id)
        process_carrier_webhook(webhook_id=webhook.pk)
    return receipt
