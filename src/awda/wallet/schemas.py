"""API shapes for store credit (in and out)."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from awda.core.schemas import UtcDatetime
from awda.wallet.selectors import Balance
from awda.wallet.services import Adjustment, Redemption

_CODE = Field(min_length=1, max_length=40, description="The shopper's store-credit code.")
_CURRENCY = Field(min_length=3, max_length=3, pattern="^[A-Za-z]{3}$")


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class CodeIn(_In):
    code: str = _CODE


class RedeemIn(_In):
    code: str = _CODE
    amount_minor: int = Field(ge=1, le=10**15)
    currency: str = _CURRENCY
    idempotency_key: str = Field(min_length=8, max_length=80)
    reference: str = Field(default="", max_length=120, description="e.g. the store's order")


class AdjustIn(_In):
    amount_minor: int = Field(
        ge=-(10**15), le=10**15, description="Positive adds credit, negative takes it away."
    )
    currency: str = _CURRENCY
    reason: str = Field(min_length=1, max_length=500)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=80)
    expires_at: UtcDatetime | None = None


class BalanceOut(Schema):
    balance_minor: int
    currency: str
    next_expiry_at: datetime | None
    next_expiry_minor: int | None

    @classmethod
    def of(cls, balance: Balance) -> BalanceOut:
        return cls(
            balance_minor=balance.balance.minor,
            currency=balance.balance.currency,
            next_expiry_at=balance.next_expiry_at,
            next_expiry_minor=balance.next_expiry.minor if balance.next_expiry else None,
        )


class RedemptionOut(Schema):
    transaction_id: int
    amount_minor: int
    currency: str
    balance_minor: int
    reference: str
    created_at: datetime

    @classmethod
    def of(cls, redemption: Redemption) -> RedemptionOut:
        return cls(
            transaction_id=redemption.transaction_id,
            amount_minor=redemption.amount.minor,
            currency=redemption.amount.currency,
            balance_minor=redemption.balance.minor,
            reference=redemption.reference,
            created_at=redemption.created_at,
        )


class AdjustmentOut(Schema):
    transaction_id: int
    amount_minor: int
    currency: str
    balance_minor: int
    code: str | None = Field(
        description="The new account's code: only in the answer that opened the account."
    )

    @classmethod
    def of(cls, adjustment: Adjustment) -> AdjustmentOut:
        return cls(
            transaction_id=adjustment.transaction_id,
            amount_minor=adjustment.amount.minor,
            currency=adjustment.amount.currency,
            balance_minor=adjustment.balance.minor,
            code=adjustment.code,
        )
