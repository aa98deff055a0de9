"""Warehouse use cases: receive and inspect a parcel, dispose of its items (restock moves
stock once), log and match unknown parcels, batch items going back to suppliers.

The return's own rows change only through ``returns.services`` and stock only through
``catalog.services.move_stock``; each use case here is one transaction around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from awda.catalog import services as catalog
from awda.catalog.models import Location, StockMove, StockMoveReason
from awda.core import clock
from awda.core.errors import Conflict, InvalidInput, NotFound
from awda.core.images import CleanImage
from awda.core.outbox import record_event
from awda.merchants.models import Merchant
from awda.policies.selectors import active_policy
from awda.returns import photos
from awda.returns import services as returns
from awda.returns.models import (
    Decision,
    Disposition,
    Reception,
    Return,
    ReturnItem,
    ReturnPhoto,
    ReturnStatus,
    TimelineEntry,
)
from awda.returns.rules import INSPECTABLE
from awda.shipping import services as shipping
from awda.warehouse.models import (
    UnknownParcel,
    VendorBatch,
    VendorBatchItem,
    VendorBatchStatus,
)
from awda.warehouse.selectors import find_by_scan, station_items, suggestion_for

# Before the parcel is received: the first receipt moves the return to ``received``.
_NOT_YET_RECEIVED = frozenset(
    {ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT, ReturnStatus.DELIVERED}
)


@dataclass(frozen=True)
class ItemCheck:
    """What the station says about one item; empty fields leave that step for later."""

    line_ref: str
    received_quantity: int | None = None  # None: all of it (when ``reception`` is received)
    reception: str = Reception.RECEIVED  # received, missing, wrong_item, awaiting (later)
    condition: str = ""
    decision: str = ""  # accepted | rejected; "": received only, decided later
    note: str = ""
    disposition: str | None = None  # None: the suggested one (decided items); "": not yet
    photos: tuple[CleanImage, ...] = ()  # the station's photos of it, checked and re-encoded


@dataclass(frozen=True)
class Disposal:
    line_ref: str
    disposition: str
    recorded: bool  # False: it had been recorded before (a repeat)
    move: StockMove | None = None  # the restock move (the first one, on a repeat)
    batch: VendorBatch | None = None


@dataclass
class ReceiveResult:
    ret: Return
    disposals: list[Disposal] = field(default_factory=list)


def _location(merchant: Merchant, code: str | None) -> Location:
    if not code:
        return catalog.default_location(merchant_id=merchant.pk)
    location = Location.objects.for_merchant(merchant).filter(code=code).first()
    if location is None:
        raise NotFound(_("Unknown location."), field="location", details={"location": code})
    return location


def _validate_checks(checks: Sequence[ItemCheck]) -> None:
    if not checks:
        raise InvalidInput(_("Receive at least one item."), field="items")
    seen: set[str] = set()
    for i, check in enumerate(checks):
        if check.line_ref in seen:
            raise InvalidInput(_("Each item may appear once."), field=f"items.{i}.line_ref")
        seen.add(check.line_ref)
        if check.reception not in Reception.values:
            raise InvalidInput(_("Unknown reception state."), field=f"items.{i}.reception")
        if check.decision and check.decision not in (Decision.ACCEPTED, Decision.REJECTED):
            raise InvalidInput(_("Accept or reject the item."), field=f"items.{i}.decision")
        if check.disposition and check.disposition not in Disposition.values:
            raise InvalidInput(_("Unknown disposition."), field=f"items.{i}.disposition")
        if check.received_quantity is not None and check.received_quantity < 0:
            raise InvalidInput(
                _("Received quantity can't be negative."), field=f"items.{i}.received_quantity"
            )


def receive_and_inspect(
    *,
    merchant: Merchant,
    code_or_number: str,
    actor: str,
    items: Sequence[ItemCheck] | None = None,
    location: str | None = None,
) -> ReceiveResult:
    """Receive a scanned parcel and, as far as the station said, inspect and dispose of its
    items, in one transaction.

    Without ``items``: everything arrived; a single-item return is also accepted as
    ``new`` and given its suggested disposition (restocked at ``location``, the default
    when None), so the station's "scan → accept → restock" is one call. With ``items``:
    per item its units received so far, reception, condition, decision, note and
    disposition; items not listed are still awaited (another parcel) on a first receipt.
    Repeating a call changes nothing that was already recorded (a photo the item already
    has is not added again).
    """
    if items is not None:
        _validate_checks(items)
    # The photos' files are written before the transaction (see ``stage_station_photo``);
    # whatever stops the use case takes them away again.
    staged: dict[str, list[ReturnPhoto]] = {}
    try:
        for check in items or ():
            for image in check.photos:
                staged.setdefault(check.line_ref, []).append(
                    photos.stage_station_photo(merchant=merchant, actor=actor, image=image)
                )
        result, repeats = _receive_and_inspect(
            merchant, code_or_number, actor, items, location, staged
        )
    except BaseException:
        photos.discard_files([p for staged_photos in staged.values() for p in staged_photos])
        raise
    photos.discard_files(repeats)
    return result


def _receive_and_inspect(
    merchant: Merchant,
    code_or_number: str,
    actor: str,
    items: Sequence[ItemCheck] | None,
    location: str | None,
    staged: dict[str, list[ReturnPhoto]],
) -> tuple[ReceiveResult, list[ReturnPhoto]]:
    repeats: list[ReturnPhoto] = []
    with transaction.atomic():
        ret = find_by_scan(merchant=merchant, code=code_or_number)
        if ret is None:
            raise NotFound(
                _("No return matches this code."),
                field="code",
                details={"code": code_or_number[:80]},
            )
        # The return's row lock first, as its services take it: a second click waits here
        # and then sees the parcel received, so it repeats the first instead of failing.
        ret = Return.objects.select_for_update().get(pk=ret.pk)
        current = {i.order_line.line_ref: i for i in station_items(ret)}
        checks = list(items) if items is not None else _all_arrived(current, single=True)
        for i, check in enumerate(checks):
            if check.line_ref not in current:
                raise NotFound(
                    _("This return has no such item."),
                    field=f"items.{i}.line_ref",
                    details={"line_ref": check.line_ref},
                )
        _receive(merchant, ret, current, checks, actor=actor)
        decided = [
            returns.InspectedItem(
                line_ref=c.line_ref, condition=c.condition, decision=c.decision, note=c.note
            )
            for c in checks
            if c.decision
        ]
        if decided:
            returns.record_inspection(
                merchant=merchant, number=ret.number, actor=actor, items=decided
            )
        result = ReceiveResult(ret=ret)
        fresh = {i.order_line.line_ref: i for i in station_items(ret)}
        for i, check in enumerate(checks):
            item = fresh[check.line_ref]
            if check.line_ref in staged:
                item.return_request = ret
                try:
                    _saved, again = photos.attach_station_photos(
                        item=item, photos=staged[check.line_ref]
                    )
                except InvalidInput as error:
                    raise InvalidInput(
                        error.message, field=f"items.{i}.photos", details=error.details
                    ) from None
                repeats.extend(again)
            choice = check.disposition
            if choice is None and item.decision == Decision.ACCEPTED:
                choice = item.disposition or suggestion_for(ret, item)
            if choice:
                result.disposals.append(
                    _dispose(merchant, ret.number, check.line_ref, choice, actor, location)
                )
        ret.refresh_from_db()
        return result, repeats


def _all_arrived(current: dict[str, ReturnItem], *, single: bool) -> list[ItemCheck]:
    # The one-call path: every item arrived in full; one item alone is also accepted as new
    # (the common case: an unworn shirt back in its bag). Several items wait for the station.
    one = single and len(current) == 1
    return [
        ItemCheck(
            line_ref=ref,
            received_quantity=item.quantity,
            condition="new" if one else "",
            decision=Decision.ACCEPTED if one else "",
        )
        for ref, item in current.items()
    ]


def _receive(
    merchant: Merchant,
    ret: Return,
    current: dict[str, ReturnItem],
    checks: Sequence[ItemCheck],
    *,
    actor: str,
) -> None:
    def got(check: ItemCheck) -> returns.ReceivedItem:
        item = current[check.line_ref]
        if check.reception == Reception.RECEIVED:
            quantity = item.quantity if check.received_quantity is None else check.received_quantity
        else:
            quantity = 0
        return returns.ReceivedItem(
            line_ref=check.line_ref, quantity=quantity, reception=check.reception
        )

    if ret.status in _NOT_YET_RECEIVED:
        listed = {c.line_ref for c in checks}
        # Items not in this parcel are still awaited (another parcel), not missing: the
        # station marks an item missing when nobody expects it any more.
        awaited = [
            returns.ReceivedItem(line_ref=ref, quantity=0, reception=Reception.AWAITING)
            for ref in current
            if ref not in listed
        ]
        returns.record_receipt(
            merchant=merchant,
            number=ret.number,
            actor=actor,
            items=[got(c) for c in checks] + awaited,
        )
        return
    if ret.status not in INSPECTABLE:
        return  # completed or closed: record_inspection / dispose say what is allowed
    further = [
        got(c)
        for c in checks
        if c.reception != Reception.AWAITING
        and (current[c.line_ref].reception, current[c.line_ref].received_quantity)
        != (got(c).reception, got(c).quantity)
    ]
    if further:
        returns.record_further_receipt(
            merchant=merchant, number=ret.number, actor=actor, items=further
        )


def dispose(
    *,
    merchant: Merchant,
    number: str,
    line_ref: str,
    disposition: str,
    actor: str,
    location: str | None = None,
    note: str = "",
) -> Disposal:
    """What becomes of one item, recorded once. ``restock`` puts its received units back at
    ``location`` (the default when None) with the move keyed by the item, so a double
    click, a retried request or a replayed job restock it once; ``return_to_vendor`` adds
    it to its supplier's open batch; the others are recorded on the item only."""
    with transaction.atomic():
        return _dispose(merchant, number, line_ref, disposition, actor, location, note)


def _dispose(
    merchant: Merchant,
    number: str,
    line_ref: str,
    disposition: str,
    actor: str,
    location: str | None,
    note: str = "",
) -> Disposal:
    # The return's row lock (taken by record_disposition) comes before the stock row's, as
    # when a cancelled exchange releases stock: two paths can't lock in opposite orders.
    ret, item, recorded = returns.record_disposition(
        merchant=merchant,
        number=number,
        line_ref=line_ref,
        disposition=disposition,
        actor=actor,
        note=note,
    )
    if disposition == Disposition.RESTOCK:
        variant_id = item.order_line.variant_id
        if variant_id is None:
            raise InvalidInput(
                _("This item's product is not in the catalog: it can't be restocked."),
                field="disposition",
            )
        moved = catalog.move_stock(
            merchant_id=merchant.pk,
            variant_id=variant_id,
            location_id=_location(merchant, location).pk,
            quantity=item.received_quantity,
            reason=StockMoveReason.RESTOCK,
            reference=f"{ret.number}/{line_ref}",
            idempotency_key=f"return-{ret.pk}-item-{item.pk}-restock",
            actor=actor,
        )
        return Disposal(line_ref, disposition, recorded, move=moved.move)
    if disposition == Disposition.RETURN_TO_VENDOR:
        return Disposal(line_ref, disposition, recorded, batch=_batch_item(merchant, item))
    return Disposal(line_ref, disposition, recorded)


def _batch_item(merchant: Merchant, item: ReturnItem) -> VendorBatch:
    variant = item.order_line.variant
    supplier_id = variant.product.supplier_id if variant is not None else None
    if supplier_id is None:
        raise InvalidInput(
            _("This product has no supplier: choose another disposition."),
            field="disposition",
        )
    existing = VendorBatchItem.objects.filter(return_item=item).select_related("batch").first()
    if existing is not None:
        return existing.batch
    batch = _open_batch(merchant, supplier_id)
    VendorBatchItem.objects.create(
        merchant=merchant,
        batch=batch,
        return_item=item,
        quantity=max(item.received_quantity, 1),
        added_at=clock.now(),
    )
    return batch


def _open_batch(merchant: Merchant, supplier_id: int) -> VendorBatch:
    batch = (
        VendorBatch.objects.select_for_update()
        .filter(merchant=merchant, supplier_id=supplier_id, status=VendorBatchStatus.OPEN)
        .first()
    )
    if batch is not None:
        return batch
    try:
        with transaction.atomic():
            return VendorBatch.objects.create(
                merchant=merchant, supplier_id=supplier_id, created_at=clock.now()
            )
    except IntegrityError:
        # Another station opened it a moment ago (one open batch per supplier).
        return VendorBatch.objects.select_for_update().get(
            merchant=merchant, supplier_id=supplier_id, status=VendorBatchStatus.OPEN
        )


def close_vendor_batch(*, merchant: Merchant, batch_id: int, actor: str) -> VendorBatch:
    """The batch is packed: nothing more goes in; the next item opens a new one."""
    with transaction.atomic():
        batch = (
            VendorBatch.objects.for_merchant(merchant)
            .select_for_update()
            .filter(pk=batch_id)
            .first()
        )
        if batch is None:
            raise NotFound(field="batch", details={"batch": batch_id})
        if batch.status == VendorBatchStatus.CLOSED:
            return batch
        if not batch.items.exists():
            raise Conflict(_("An empty batch can't be closed."), field="batch")
        batch.status, batch.closed_at = VendorBatchStatus.CLOSED, clock.now()
        batch.save(update_fields=["status", "closed_at"])
        return batch


# -- rejected items: sent back or kept, as the policy says -----------------------------------

# The timeline entry each outcome writes; one of them per return, ever (see below).
REJECTION_OUTCOMES: dict[str, str] = {
    "sent_back": "rejected_items_sent_back",
    "kept": "rejected_items_kept",
    "send_back_pending": "send_back_pending",  # a task for staff: no carrier could take it
}


def act_on_rejected_items(*, return_id: int) -> str | None:
    """What becomes of the items the warehouse rejected, by the policy's ``rejected_items``:
    ``send_back`` asks the carrier for a parcel to the shopper (``sent_back``; when no
    carrier can take it, ``send_back_pending``, for staff), ``keep`` keeps them (``kept``).

    Written once per return, however often the inspection's event is replayed: a timeline
    entry (the outcome, the items, the tracking number) and ``RejectedItemsHandled``, which
    tells the shopper. Returns the outcome, None when there is nothing (more) to do. Runs
    outside a transaction: the carrier is asked first (with a key, so a retry makes one
    parcel), then the outcome is written with the return's row locked.
    """
    ret = Return.objects.select_related("merchant").filter(pk=return_id).first()
    if ret is None or _rejection_handled(ret.pk):
        return None
    rejected = [
        i
        for i in station_items(ret)
        if i.decision == Decision.REJECTED and i.reception != Reception.MISSING
    ]
    if not rejected:
        return None  # nothing arrived to send back (rejected as missing)
    _version, policy = active_policy(merchant=ret.merchant)
    send_back = None
    if policy.rejected_items == "send_back":
        send_back = shipping.issue_send_back_shipment(
            return_id=ret.pk, units=sum(max(i.received_quantity, 1) for i in rejected)
        )
    with transaction.atomic():
        Return.objects.select_for_update().filter(pk=ret.pk).first()
        if _rejection_handled(ret.pk):
            return None  # another worker wrote it while the carrier answered
        if send_back is None:
            outcome = "kept"
        elif send_back.shipment is None:
            outcome = "send_back_pending"
        else:
            outcome = "sent_back"
        items = [
            {"line_ref": i.order_line.line_ref, "quantity": i.quantity, "note": i.decision_note}
            for i in rejected
        ]
        shipment = send_back.shipment if send_back is not None else None
        problem = send_back.problem if send_back is not None else ""
        data: dict[str, object] = {
            "outcome": outcome,
            "items": items,
            "tracking_number": shipment.tracking_number if shipment else "",
            "carrier": shipment.carrier if shipment else "",
            "problem": problem,
        }
        returns.add_timeline_entry(
            return_id=ret.pk,
            merchant_id=ret.merchant_id,
            kind=REJECTION_OUTCOMES[outcome],
            at=clock.now(),
            actor="system",
            note=problem,
            data=data,
        )
        record_event(
            "RejectedItemsHandled",
            {"return_id": ret.pk, "number": ret.number, **data},
            merchant_id=ret.merchant_id,
            aggregate_type="return",
            aggregate_id=ret.pk,
        )
    return outcome


def _rejection_handled(return_id: int) -> bool:
    return TimelineEntry.objects.filter(
        return_request_id=return_id, kind__in=REJECTION_OUTCOMES.values()
    ).exists()


# -- parcels nobody expected --------------------------------------------------------------------


def log_unknown_parcel(
    *, merchant: Merchant, actor: str, code: str = "", location: str | None = None, note: str = ""
) -> UnknownParcel:
    """A parcel no return matches (or with nothing to scan): kept to be matched later."""
    if not code.strip() and not note.strip():
        raise InvalidInput(_("Scan the parcel or describe it."), field="note")
    with transaction.atomic():
        return UnknownParcel.objects.create(
            merchant=merchant,
            code=code.strip()[:500],
            location=_location(merchant, location) if location else None,
            note=note.strip(),
            at=clock.now(),
            actor=actor,
        )


def match_unknown_parcel(
    *, merchant: Merchant, parcel_id: int, number: str, actor: str
) -> UnknownParcel:
    """The unknown parcel is this return's (found by its number, tracking number or QR);
    the return is then received as usual. Matching twice to the same return is a repeat."""
    with transaction.atomic():
        parcel = (
            UnknownParcel.objects.for_merchant(merchant)
            .select_for_update()
            .filter(pk=parcel_id)
            .first()
        )
        if parcel is None:
            raise NotFound(field="parcel", details={"parcel": parcel_id})
        ret = find_by_scan(merchant=merchant, code=number)
        if ret is None:
            raise NotFound(_("No return matches this code."), field="number")
        if parcel.matched_return_id is not None:
            if parcel.matched_return_id == ret.pk:
                return parcel
            raise Conflict(_("This parcel was already matched to another return."), field="parcel")
        parcel.matched_return, parcel.matched_at, parcel.matched_by = ret, clock.now(), actor
        parcel.save(update_fields=["matched_return", "matched_at", "matched_by"])
        returns.add_timeline_entry(
            return_id=ret.pk,
            merchant_id=merchant.pk,
            kind="unknown_parcel_matched",
            at=parcel.matched_at,
            actor=actor,
            note=parcel.note,
            data={"parcel_id": parcel.pk, "code": parcel.code},
        )
        return parcel
