"""Catalog use cases: keeping products and variants in step with the store, holding stock
for exchanges, and the stock ledger (``move_stock``: every change of units on hand is a
``StockMove``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from awda.catalog.errors import OutOfStock
from awda.catalog.models import (
    Category,
    Location,
    Product,
    Stock,
    StockMove,
    StockMoveReason,
    Supplier,
    Variant,
)
from awda.core import clock
from awda.core.errors import Conflict, InvalidInput, NotFound
from awda.core.outbox import record_event
from awda.merchants.models import Merchant


@dataclass(frozen=True)
class VariantData:
    sku: str
    price_minor: int
    options: dict[str, str] = field(default_factory=dict)
    barcode: str = ""


@dataclass(frozen=True)
class ProductData:
    external_id: str
    title_en: str
    title_ar: str = ""
    category_code: str | None = None
    category_name_en: str | None = None
    category_name_ar: str | None = None
    supplier_code: str | None = None
    supplier_name: str | None = None
    tags: Sequence[str] = ()
    final_sale: bool = False
    returnable: bool = True
    image_url: str = ""
    variants: Sequence[VariantData] = ()


def upsert_product(*, merchant: Merchant, data: ProductData) -> Product:
    """Create or update a product, its category, supplier and variants.

    Runs inside the caller's transaction (order upserts call it for each unknown SKU).
    """
    category = None
    if data.category_code:
        category, _ = Category.objects.get_or_create(
            merchant=merchant,
            code=data.category_code,
            defaults={
                "name_en": data.category_name_en or data.category_code,
                "name_ar": data.category_name_ar or "",
            },
        )
    supplier = None
    if data.supplier_code:
        supplier, _ = Supplier.objects.get_or_create(
            merchant=merchant,
            code=data.supplier_code,
            defaults={"name": data.supplier_name or data.supplier_code},
        )
    product, _ = Product.objects.update_or_create(
        merchant=merchant,
        external_id=data.external_id,
        defaults={
            "title_en": data.title_en,
            "title_ar": data.title_ar,
            "category": category,
            "supplier": supplier,
            "tags": sorted(set(data.tags)),
            "final_sale": data.final_sale,
            "returnable": data.returnable,
            "image_url": data.image_url,
        },
    )
    for v in data.variants:
        Variant.objects.update_or_create(
            merchant=merchant,
            sku=v.sku,
            defaults={
                "product": product,
                "price_minor": v.price_minor,
                "currency": merchant.currency,
                "options": dict(v.options),
                "barcode": v.barcode,
            },
        )
    return product


# -- stock held for exchanges ---------------------------------------------------------------


@dataclass(frozen=True)
class StockTake:
    """Units of one stock row (a variant at a location) held or moved by one call."""

    stock_id: int
    variant_id: int
    quantity: int


def _lock_stock(**filters: object) -> list[Stock]:
    # Rows locked in primary-key order, everywhere, so two exchanges reserving the same
    # variants (in whatever order their items name them) queue instead of deadlocking.
    return list(Stock.objects.select_for_update().filter(**filters).order_by("pk"))


def reserve_stock(*, merchant_id: int, wants: Mapping[int, int]) -> list[StockTake]:
    """Hold ``{variant_id: units}`` from what is on hand and not yet held, in the caller's
    transaction; the default location gives first, then the others in the order they were
    created. Raises ``OutOfStock`` (``details``: the SKU and the units still available)
    naming the first variant that can't be covered; then nothing is held.
    """
    if any(quantity < 1 for quantity in wants.values()):
        raise InvalidInput(_("Quantity must be at least 1."), field="quantity")
    rows = _lock_stock(merchant_id=merchant_id, variant_id__in=list(wants))
    default = set(
        Location.objects.filter(merchant_id=merchant_id, is_default=True).values_list(
            "pk", flat=True
        )
    )
    takes: list[StockTake] = []
    for variant_id in sorted(wants):
        needed = wants[variant_id]
        mine = sorted(
            (r for r in rows if r.variant_id == variant_id),
            key=lambda r: (r.location_id not in default, r.pk),
        )
        available = sum(max(r.available, 0) for r in mine)
        if available < needed:
            sku = Variant.objects.filter(pk=variant_id).values_list("sku", flat=True).first()
            raise OutOfStock(details={"sku": sku or "", "available": available})
        for row in mine:
            units = min(needed, max(row.available, 0))
            if units:
                takes.append(StockTake(row.pk, variant_id, units))
                needed -= units
            if not needed:
                break
    for take in takes:
        # The CHECK reserved <= on_hand stands behind this arithmetic.
        Stock.objects.filter(pk=take.stock_id).update(reserved=F("reserved") + take.quantity)
    return takes


def release_stock(*, takes: Sequence[StockTake]) -> None:
    """Give held units back to what shoppers may choose (an exchange that won't ship)."""
    _lock_stock(pk__in=sorted({t.stock_id for t in takes}))
    for take in sorted(takes, key=lambda t: t.stock_id):
        Stock.objects.filter(pk=take.stock_id).update(reserved=F("reserved") - take.quantity)


def consume_stock(
    *, takes: Sequence[StockTake], reference: str = "", actor: str = "system"
) -> None:
    """Held units left with a replacement order: no longer held, no longer on hand (an
    ``exchange_out`` move per stock row; the reservations' status keeps this once)."""
    rows = {r.pk: r for r in _lock_stock(pk__in=sorted({t.stock_id for t in takes}))}
    now = clock.now()
    for take in sorted(takes, key=lambda t: t.stock_id):
        _record_move(
            rows[take.stock_id],
            -take.quantity,
            reserved_change=-take.quantity,
            reason=StockMoveReason.EXCHANGE_OUT,
            reference=reference,
            actor=actor,
            at=now,
        )


# -- the stock ledger ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MoveResult:
    move: StockMove
    replayed: bool  # the key had moved stock before: nothing changed this time


def _record_move(
    row: Stock,
    quantity: int,
    *,
    reason: str,
    actor: str,
    at: datetime,
    reference: str = "",
    idempotency_key: str | None = None,
    reserved_change: int = 0,
) -> StockMove:
    """Write the move and the new running total; ``row`` is locked by the caller and fresh.

    The move goes in first (in a savepoint) so a key already taken by a concurrent call
    raises before the total changes.
    """
    with transaction.atomic():
        move = StockMove.objects.create(
            merchant_id=row.merchant_id,
            stock=row,
            variant_id=row.variant_id,
            location_id=row.location_id,
            quantity=quantity,
            on_hand_after=row.on_hand + quantity,
            reason=reason,
            reference=reference[:120],
            idempotency_key=idempotency_key,
            actor=actor,
            at=at,
        )
    # Announced in the same transaction (a store connector pushes the new level): one event
    # per move, so a repeated key, which writes no move, announces nothing.
    sku, location_code = (
        Stock.objects.filter(pk=row.pk).values_list("variant__sku", "location__code").get()
    )
    record_event(
        "StockMoved",
        {
            "move_id": move.pk,
            "variant_id": row.variant_id,
            "sku": sku,
            "location_id": row.location_id,
            "location": location_code,
            "quantity": quantity,
            "on_hand_after": move.on_hand_after,
            "reason": reason,
            "reference": move.reference,
        },
        merchant_id=row.merchant_id,
        aggregate_type="stock",
        aggregate_id=row.pk,
    )
    changes: dict[str, object] = {"on_hand": F("on_hand") + quantity}
    if reserved_change:
        changes["reserved"] = F("reserved") + reserved_change
    # The CHECK 0 <= reserved <= on_hand stands behind the caller's arithmetic.
    Stock.objects.filter(pk=row.pk).update(**changes)
    row.on_hand += quantity
    row.reserved += reserved_change
    return move


def _locked_row(merchant_id: int, variant_id: int, location_id: int) -> Stock:
    row = (
        Stock.objects.select_for_update()
        .filter(variant_id=variant_id, location_id=location_id)
        .first()
    )
    if row is None:
        try:
            with transaction.atomic():
                Stock.objects.create(
                    merchant_id=merchant_id, variant_id=variant_id, location_id=location_id
                )
        except IntegrityError:
            pass  # a concurrent call created it first: lock theirs
        row = Stock.objects.select_for_update().get(variant_id=variant_id, location_id=location_id)
    return row


def _move_by_key(merchant_id: int, key: str) -> StockMove | None:
    return StockMove.objects.filter(merchant_id=merchant_id, idempotency_key=key).first()


def move_stock(
    *,
    merchant_id: int,
    variant_id: int,
    location_id: int,
    quantity: int,
    reason: str,
    actor: str,
    reference: str = "",
    idempotency_key: str | None = None,
) -> MoveResult:
    """Move ``quantity`` units (+ in, - out) of a variant at a location, as one ledger row
    and the new total, in one transaction (the caller's, when it holds one).

    With ``idempotency_key``, once per merchant: a repeat returns the first move and changes
    nothing. Going below the units held for exchanges is refused (``Conflict``).
    """
    if not quantity:
        raise InvalidInput(_("Move at least one unit."), field="quantity")
    if reason not in StockMoveReason.values:
        raise InvalidInput(_("Unknown reason for a stock move."), field="reason")
    with transaction.atomic():
        if idempotency_key and (done := _move_by_key(merchant_id, idempotency_key)):
            return MoveResult(done, replayed=True)
        if not Variant.objects.filter(pk=variant_id, merchant_id=merchant_id).exists():
            raise NotFound(_("Unknown SKU."), field="variant")
        if not Location.objects.filter(pk=location_id, merchant_id=merchant_id).exists():
            raise NotFound(_("Unknown location."), field="location")
        row = _locked_row(merchant_id, variant_id, location_id)
        # Asked again under the lock: a concurrent call with the same key has committed.
        if idempotency_key and (done := _move_by_key(merchant_id, idempotency_key)):
            return MoveResult(done, replayed=True)
        if row.on_hand + quantity < row.reserved:
            raise Conflict(
                _("Stock can't go below the units held for exchanges."),
                field="quantity",
                details={"on_hand": row.on_hand, "reserved": row.reserved},
            )
        try:
            move = _record_move(
                row,
                quantity,
                reason=reason,
                actor=actor,
                at=clock.now(),
                reference=reference,
                idempotency_key=idempotency_key,
            )
        except IntegrityError:
            # The same key moving another row at the same moment: the first one stands.
            done = _move_by_key(merchant_id, idempotency_key) if idempotency_key else None
            if done is None:
                raise
            return MoveResult(done, replayed=True)
        return MoveResult(move, replayed=False)


def default_location(*, merchant_id: int) -> Location:
    """The merchant's default location, created (``main``) when it has none yet."""
    location = Location.objects.filter(merchant_id=merchant_id, is_default=True).first()
    if location is not None:
        return location
    try:
        with transaction.atomic():
            return Location.objects.create(
                merchant_id=merchant_id,
                code="main",
                name="Main warehouse",
                is_default=not Location.objects.filter(merchant_id=merchant_id).exists(),
            )
    except IntegrityError:
        pass  # created meanwhile
    return Location.objects.filter(
        merchant_id=merchant_id, is_default=True
    ).first() or Location.objects.get(merchant_id=merchant_id, code="main")


def set_stock_levels(
    *,
    merchant: Merchant,
    levels: Mapping[str, int],
    location_code: str = "main",
    location_name: str = "Main warehouse",
    reason: str = StockMoveReason.STORE_SYNC,
    actor: str = "system",
) -> int:
    """Set units on hand per SKU at one location (created, as the default if the merchant
    has none, on first use), as a store's stock sync or a CSV would; returns rows written.
    Each change is a move of the difference (``reason``), never an overwritten count.

    A level below the units held for exchanges there is refused (``Conflict``).
    """
    now = clock.now()
    with transaction.atomic():
        location = Location.objects.filter(merchant=merchant, code=location_code).first()
        if location is None:
            location = Location.objects.create(
                merchant=merchant,
                code=location_code,
                name=location_name,
                is_default=not Location.objects.filter(merchant=merchant, is_default=True).exists(),
            )
        variants = dict(
            Variant.objects.for_merchant(merchant)
            .filter(sku__in=list(levels))
            .values_list("sku", "pk")
        )
        unknown = sorted(set(levels) - set(variants))
        if unknown:
            raise InvalidInput(_("Unknown SKU."), field="levels", details={"skus": unknown})
        existing = {
            s.variant_id: s
            for s in _lock_stock(location=location, variant_id__in=variants.values())
        }
        for sku, on_hand in sorted(levels.items()):
            row = existing.get(variants[sku])
            if on_hand < 0:
                raise InvalidInput(
                    _("Stock can't be negative."), field="levels", details={"sku": sku}
                )
            if row is not None and on_hand < row.reserved:
                raise Conflict(
                    _("Stock can't go below the units held for exchanges."),
                    field="levels",
                    details={"sku": sku, "reserved": row.reserved},
                )
            if row is None:
                row = Stock.objects.create(
                    merchant=merchant, variant_id=variants[sku], location=location
                )
            if on_hand != row.on_hand:
                # A level is the move that reaches it: the ledger keeps what it replaced.
                _record_move(
                    row,
                    on_hand - row.on_hand,
                    reason=reason,
                    reference=location_code,
                    actor=actor,
                    at=now,
                )
        return len(levels)
