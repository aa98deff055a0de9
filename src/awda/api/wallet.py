"""/api/v1: store credit for the store's checkout (check a code's balance, spend it) and
staff adjustments. Mounted with ``api.add_router("/", wallet.router)``."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Router, Status

from awda.api.auth import merchant_of
from awda.core.errors import InvalidInput
from awda.core.money import Money
from awda.wallet import selectors, services
from awda.wallet.schemas import (
    AdjustIn,
    AdjustmentOut,
    BalanceOut,
    CodeIn,
    RedeemIn,
    RedemptionOut,
)

router = Router(tags=["store credit"])


def _money(minor: int, currency: str) -> Money:
    try:
        return Money(minor, currency.upper())
    except ValueError:
        raise InvalidInput(_("Unknown currency."), field="currency") from None


@router.post(
    "/store-credit/check",
    response=BalanceOut,
    summary="A store-credit code's balance",
    description="For the store's checkout. The code travels in the body, so it stays out of "
    "URLs, access logs and proxies' caches; prefer this to the GET form.",
)
def check_balance(request: HttpRequest, payload: CodeIn) -> BalanceOut:
    return BalanceOut.of(selectors.check_balance(merchant=merchant_of(request), code=payload.code))


@router.post(
    "/store-credit/redeem",
    response={201: RedemptionOut, 200: RedemptionOut},
    summary="Spend store credit at the checkout",
    description="All of the amount or nothing. 201 the first time; 200 with the first answer "
    "when the same idempotency key comes again with the same code and amount; 409 "
    "`idempotency_key_reused` when it comes with another; 422 `insufficient_credit` (with "
    "`details.available_minor`) or `currency_mismatch`; 404 for an unknown or replaced code.",
)
def redeem(request: HttpRequest, payload: RedeemIn) -> Status:
    redemption = services.redeem_store_credit(
        merchant=merchant_of(request),
        code=payload.code,
        amount=_money(payload.amount_minor, payload.currency),
        idempotency_key=payload.idempotency_key,
        reference=payload.reference,
        actor="api",
    )
    return Status(200 if redemption.replayed else 201, RedemptionOut.of(redemption))


@router.post(
    "/customers/{customer_id}/store-credit/adjust",
    response=AdjustmentOut,
    summary="Adjust a customer's store credit (staff)",
    description="`customer_id` is the store's id for the customer. A positive amount adds "
    "credit (opening the account, whose code is then in the answer once); a negative one "
    "takes it away, never below zero (422 `insufficient_credit`).",
)
def adjust(request: HttpRequest, customer_id: Path[str], payload: AdjustIn) -> AdjustmentOut:
    merchant = merchant_of(request)
    adjustment = services.adjust_store_credit(
        merchant=merchant,
        customer=selectors.customer_by_store_id(merchant=merchant, external_id=customer_id),
        amount=_money(payload.amount_minor, payload.currency),
        reason=payload.reason,
        actor="api",
        idempotency_key=payload.idempotency_key,
        expires_at=payload.expires_at,
    )
    return AdjustmentOut.of(adjustment)


# Declared last: its path would otherwise also catch POST /store-credit/redeem.
@router.get(
    "/store-credit/{code}",
    response=BalanceOut,
    summary="A store-credit code's balance (code in the path)",
    description="The same as POST /store-credit/check, for clients that can only GET. The "
    "code ends up in logs along the way: prefer the POST form.",
)
def read_balance(request: HttpRequest, code: Path[str]) -> BalanceOut:
    return BalanceOut.of(selectors.check_balance(merchant=merchant_of(request), code=code))
