"""/api/v1/payout-files: bank transfers for cash-on-delivery refunds, as a file the merchant
uploads to their bank (ISO 20022 pain.001 or CSV), then marks paid; /api/v1/reports/money."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from awda.api.auth import merchant_of
from awda.core.errors import InvalidInput, NotFound
from awda.payments import services
from awda.payments.models import PayoutFile
from awda.returns.reports import money_report

router = Router(tags=["bank transfers"])


class PayoutFileIn(Schema):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(min_length=3, max_length=3, examples=["SAR"])
    # The merchant's own account the transfers leave from (used for this file only).
    debtor_name: str = Field(min_length=1, max_length=140)
    debtor_iban: str = Field(min_length=15, max_length=42)
    debtor_bic: str = Field(default="", max_length=11)
    requested_date: date | None = None


class PayoutFileOut(Schema):
    id: int
    message_id: str
    currency: str
    total_minor: int
    count: int
    requested_date: date
    created_at: datetime
    paid_at: datetime | None

    @classmethod
    def of(cls, f: PayoutFile) -> PayoutFileOut:
        return cls(
            id=f.pk,
            message_id=f.message_id,
            currency=f.currency,
            total_minor=f.total_minor,
            count=f.count,
            requested_date=f.requested_date,
            created_at=f.created_at,
            paid_at=f.paid_at,
        )


class FileQuery(Schema):
    format: Literal["pain001", "csv"] = "pain001"


def _file(request: HttpRequest, file_id: int) -> PayoutFile:
    found = PayoutFile.objects.for_merchant(merchant_of(request)).filter(pk=file_id).first()
    if found is None:
        raise NotFound(details={"payout_file": file_id})
    return found


@router.post(
    "/payout-files",
    response={201: PayoutFileOut},
    summary="Put the waiting bank transfers of a currency into one file",
)
def create_file(request: HttpRequest, payload: PayoutFileIn) -> Status:
    created = services.create_payout_file(
        merchant=merchant_of(request),
        currency=payload.currency.upper(),
        debtor_name=payload.debtor_name,
        debtor_iban=payload.debtor_iban,
        debtor_bic=payload.debtor_bic,
        requested_date=payload.requested_date,
    )
    return Status(201, PayoutFileOut.of(created))


@router.get(
    "/payout-files/{file_id}/content",
    summary="The file for the bank: pain.001 XML (default) or CSV; it holds IBANs, keep it safe",
    openapi_extra={
        "responses": {
            200: {
                "description": "the transfer file",
                "content": {
                    "application/xml": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    },
)
def file_content(request: HttpRequest, file_id: Path[int], q: Query[FileQuery]) -> HttpResponse:
    payout_file = _file(request, file_id)
    content = services.payout_file_content(payout_file=payout_file, fmt=q.format)
    kind, ext = (
        ("text/csv; charset=utf-8", "csv") if q.format == "csv" else ("application/xml", "xml")
    )
    response = HttpResponse(content, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{payout_file.message_id}.{ext}"'
    response["Cache-Control"] = "private, no-store"
    return response


@router.post(
    "/payout-files/{file_id}/paid",
    response={200: PayoutFileOut},
    summary="The bank executed the file: its transfers are paid",
)
def mark_paid(request: HttpRequest, file_id: Path[int]) -> PayoutFileOut:
    return PayoutFileOut.of(services.mark_payout_file_paid(payout_file=_file(request, file_id)))


class MoneyQuery(Schema):
    start: date = Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))
    end: date = Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))


class DayTotalsOut(Schema):
    day: date
    currency: str
    refunded_minor: int
    refunds: int
    transferred_minor: int
    transfers: int
    credited_minor: int
    bonus_minor: int
    redeemed_minor: int


class MismatchOut(Schema):
    number: str
    kind: str
    promised_minor: int
    moved_minor: int


class MoneyReportOut(Schema):
    days: list[DayTotalsOut]
    mismatches: list[MismatchOut]
    refunds_in_doubt: int
    refunds_in_review: int
    gateway_mismatches: int  # refunds the gateways' own records contradicted, in these days


@router.get(
    "/reports/money",
    response=MoneyReportOut,
    summary="Money back per day (refunds, transfers, store credit) and returns that don't add up",
    tags=["reports"],
)
def money(request: HttpRequest, q: Query[MoneyQuery]) -> MoneyReportOut:
    if q.end < q.start or (q.end - q.start).days > 366:
        raise InvalidInput(
            _("Choose an end on or after the start, at most a year later."), field="end"
        )
    report = money_report(merchant=merchant_of(request), start=q.start, end=q.end)
    return MoneyReportOut(
        days=[DayTotalsOut(**vars(d)) for d in report.days],
        mismatches=[MismatchOut(**vars(m)) for m in report.mismatches],
        refunds_in_doubt=report.refunds_in_doubt,
        refunds_in_review=report.refunds_in_review,
        gateway_mismatches=report.gateway_mismatches,
    )
