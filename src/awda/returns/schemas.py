"""API shapes for returns (in and out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

from awda.exchanges.schemas import ExchangeItemOut, ExchangeOut, PaymentLinkOut
from awda.exchanges.selectors import exchange_for_return
from awda.returns.models import Resolution, Return, ReturnItem, ReturnMethod
from awda.returns.rules import allowed_actions
from awda.returns.services import ItemRequest


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class ReturnItemIn(_In):
    line_ref: str = Field(min_length=1, max_length=80)
    quantity: int = Field(ge=1, le=100_000)
    reason: str = Field(min_length=1, max_length=60)
    sub_reason: str = Field(default="", max_length=60)
    comment: str = Field(default="", max_length=2000)
    resolution: Resolution = Resolution.REFUND
    exchange_sku: str | None = Field(default=None, max_length=80)

    def to_request(self) -> ItemRequest:
        return ItemRequest(**self.model_dump())


class ReturnIn(_In):
    order_number: str = Field(min_length=1, max_length=40)
    items: list[ReturnItemIn] = Field(min_length=1, max_length=200)
    method: ReturnMethod
    language: str = Field(default="en", pattern="^(ar|en)$")
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=80)
    # Opens the return although the policy refuses it (window, final sale, a resolution or
    # method it doesn't offer): approved at once, this reason on its timeline and audited.
    override_reason: str | None = Field(default=None, max_length=1000)


class RejectIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class NoteIn(_In):
    note: str = Field(default="", max_length=2000)


class SettleIn(_In):
    """How a person settled the money of a return in review."""

    note: str = Field(min_length=1, max_length=2000)
    outcome: Literal["completed"] = "completed"  # the return completes as it stands


class ReturnItemOut(Schema):
    line_ref: str
    sku: str
    quantity: int
    reason: str
    sub_reason: str
    resolution: str
    exchange_sku: str | None
    refund_minor: int
    reception: str
    received_quantity: int
    decision: str

    @staticmethod
    def resolve_line_ref(obj: ReturnItem) -> str:
        return obj.order_line.line_ref

    @staticmethod
    def resolve_sku(obj: ReturnItem) -> str:
        return obj.order_line.sku

    @staticmethod
    def resolve_reason(obj: ReturnItem) -> str:
        return obj.reason_code

    @staticmethod
    def resolve_sub_reason(obj: ReturnItem) -> str:
        return obj.sub_reason_code

    @staticmethod
    def resolve_exchange_sku(obj: ReturnItem) -> str | None:
        return obj.exchange_variant.sku if obj.exchange_variant else None


class TimelineOut(Schema):
    at: datetime
    kind: str
    from_status: str
    to_status: str
    actor: str
    note: str


class ReturnSummaryOut(Schema):
    number: str
    order_number: str
    status: str
    method: str
    currency: str
    refund_total_minor: int
    store_credit_total_minor: int
    requested_at: datetime
    # Set when the money job failed for a business reason (its error code); "" otherwise.
    money_review_reason: str

    @staticmethod
    def resolve_order_number(obj: Return) -> str:
        return obj.order.number


class ReturnOut(ReturnSummaryOut):
    customer_email: str
    policy_version: int
    refund_timing: str
    language: str
    expires_at: datetime | None
    allowed_actions: list[str]
    quote: dict[str, Any]
    items: list[ReturnItemOut]
    timeline: list[TimelineOut]
    exchange: ExchangeOut | None = None

    @staticmethod
    def resolve_customer_email(obj: Return) -> str:
        return obj.customer.email

    @staticmethod
    def resolve_exchange(obj: Return) -> ExchangeOut | None:
        if not any(i.resolution == Resolution.EXCHANGE for i in obj.items.all()):
            return None  # no query for the returns without an exchange
        view = exchange_for_return(return_id=obj.pk)
        if view is None:
            return None
        return ExchangeOut(
            status=view.status,
            items=[ExchangeItemOut(**vars(item)) for item in view.items],
            currency=view.currency,
            replacement_value_minor=view.replacement_value_minor,
            credit_minor=view.credit_minor,
            difference_minor=view.difference_minor,
            difference_handling=view.difference_handling,
            replacement_order_number=view.replacement_order_number,
            replacement_status=view.replacement_status,
            collect_on_delivery_minor=view.collect_on_delivery_minor,
            instant=view.instant,
            originals=view.originals,
            unreturned_minor=view.unreturned_minor,
            unreturned_action=view.unreturned_action,
            payment_links=[PaymentLinkOut(**vars(p)) for p in view.payments],
        )

    @staticmethod
    def resolve_allowed_actions(obj: Return) -> list[str]:
        return allowed_actions(obj.status)


# The returnable-lines answer is built from plain values, not from ORM rows: plain pydantic
# models skip Ninja's attribute-resolving wrapper, which cost ~0.2 ms a request there.
class QuotePreviewOut(BaseModel):
    quantity: int
    refund_minor: int
    store_credit_minor: int
    restocking_fee_minor: int


class ReturnableLineOut(BaseModel):
    line_ref: str
    sku: str
    title_en: str
    title_ar: str
    quantity: int
    returnable_quantity: int
    returnable: bool
    blocking: str | None
    deadline: datetime | None
    days_left: int | None
    matched_rules: list[str]
    resolutions: list[str]
    methods: list[str]
    photos_required: bool
    explanation: dict[str, list[str]]
    quote: QuotePreviewOut | None


class ReturnableLinesOut(BaseModel):
    order_number: str
    currency: str
    policy_version: int
    lines: list[ReturnableLineOut]


class ReasonOut(Schema):
    code: str
    parent: str | None
    label_en: str
    label_ar: str
    merchant_fault: bool
