"""API shapes for the warehouse (in and out)."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from awda.returns.models import Condition, Disposition, Reception
from awda.warehouse.models import VendorBatchStatus
from awda.warehouse.packing_list import BatchSummary
from awda.warehouse.selectors import StationReturn, StockView
from awda.warehouse.services import Disposal, ItemCheck


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class ItemCheckIn(_In):
    line_ref: str = Field(min_length=1, max_length=80)
    received_quantity: int | None = Field(default=None, ge=0, le=100_000)
    reception: Reception = Reception.RECEIVED
    condition: Condition | None = None
    decision: str | None = Field(default=None, pattern="^(accepted|rejected)$")
    note: str = Field(default="", max_length=2000)
    # Absent: the suggested disposition once accepted; "" leaves it for later.
    disposition: Disposition | None = None
    skip_disposition: bool = False

    def to_check(self) -> ItemCheck:
        return ItemCheck(
            line_ref=self.line_ref,
            received_quantity=self.received_quantity,
            reception=self.reception,
            condition=self.condition or "",
            decision=self.decision or "",
            note=self.note,
            disposition="" if self.skip_disposition else self.disposition,
        )


class ReceiveIn(_In):
    # Absent: everything arrived (a single item is also accepted as new and restocked).
    items: list[ItemCheckIn] | None = Field(default=None, min_length=1, max_length=200)
    location: str | None = Field(default=None, min_length=1, max_length=40)


class DisposeIn(_In):
    disposition: Disposition
    location: str | None = Field(default=None, min_length=1, max_length=40)
    note: str = Field(default="", max_length=2000)


class StationItemOut(Schema):
    line_ref: str
    sku: str
    title_en: str
    title_ar: str
    quantity: int
    reason: str
    reception: str
    received_quantity: int
    condition: str
    decision: str
    decision_note: str
    disposition: str
    suggested_disposition: str | None


class StationReturnOut(Schema):
    number: str
    status: str
    method: str
    refund_timing: str
    items: list[StationItemOut]

    @classmethod
    def of(cls, view: StationReturn) -> StationReturnOut:
        return cls.model_validate(view, from_attributes=True)


class StockMoveOut(Schema):
    location: str
    quantity: int
    on_hand_after: int
    reason: str
    reference: str
    actor: str
    at: datetime


class DisposalOut(Schema):
    line_ref: str
    disposition: str
    recorded: bool
    stock_move: StockMoveOut | None = None
    vendor_batch_id: int | None = None

    @classmethod
    def of(cls, d: Disposal) -> DisposalOut:
        move = d.move
        return cls(
            line_ref=d.line_ref,
            disposition=d.disposition,
            recorded=d.recorded,
            stock_move=StockMoveOut(
                location=move.location.code,
                quantity=move.quantity,
                on_hand_after=move.on_hand_after,
                reason=move.reason,
                reference=move.reference,
                actor=move.actor,
                at=move.at,
            )
            if move is not None
            else None,
            vendor_batch_id=d.batch.pk if d.batch is not None else None,
        )


class ReceiveOut(Schema):
    # "return" is a Python keyword: the field is ``return_``, sent as "return".
    return_: StationReturnOut = Field(alias="return")
    disposals: list[DisposalOut]

    model_config = ConfigDict(populate_by_name=True)


class StockLevelOut(Schema):
    location_code: str
    location_name: str
    is_default: bool
    on_hand: int
    reserved: int
    available: int


class StockOut(Schema):
    sku: str
    levels: list[StockLevelOut]
    moves: list[StockMoveOut]

    @classmethod
    def of(cls, view: StockView) -> StockOut:
        return cls(
            sku=view.sku,
            levels=[StockLevelOut.model_validate(lv, from_attributes=True) for lv in view.levels],
            moves=[
                StockMoveOut(
                    location=m.location_code,
                    quantity=m.quantity,
                    on_hand_after=m.on_hand_after,
                    reason=m.reason,
                    reference=m.reference,
                    actor=m.actor,
                    at=m.at,
                )
                for m in view.moves
            ],
        )


class VendorBatchOut(Schema):
    id: int
    reference: str
    supplier_code: str
    supplier_name: str
    status: str
    items: int
    units: int
    created_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, summary: BatchSummary) -> VendorBatchOut:
        return cls.model_validate(summary, from_attributes=True)


class VendorBatchQuery(Schema):
    status: VendorBatchStatus | None = None
