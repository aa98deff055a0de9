"""The shopper's choices between steps, kept in the session until the return is confirmed.

One draft per order. Its ``token`` is the idempotency key of the return it becomes, so a
second submit (double click, back button, retry) finds the first return instead of making
another. Bank details are kept encrypted, as in the database.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from django.http import HttpRequest

from awda.core import crypto
from awda.merchants.models import Merchant
from awda.returns.services import ItemRequest

SESSION_KEY = "awda_portal_drafts"


@dataclass
class DraftItem:
    line_ref: str
    quantity: int
    reason: str
    sub_reason: str = ""
    comment: str = ""
    photo_ids: list[int] = field(default_factory=list)
    exchange_sku: str = ""


@dataclass
class Draft:
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    items: list[DraftItem] = field(default_factory=list)
    resolution: str = ""
    method: str = ""
    pickup: dict[str, Any] = field(default_factory=dict)
    payout_name: str = ""
    payout_iban_encrypted: str = ""

    @property
    def payout_iban(self) -> str:
        return crypto.decrypt(self.payout_iban_encrypted) if self.payout_iban_encrypted else ""

    def set_payout(self, *, iban: str, name: str) -> None:
        self.payout_iban_encrypted = crypto.encrypt(iban) if iban else ""
        self.payout_name = name

    def item_requests(self) -> list[ItemRequest]:
        return [
            ItemRequest(
                line_ref=i.line_ref,
                quantity=i.quantity,
                reason=i.sub_reason or i.reason,
                comment=i.comment,
                resolution=self.resolution or "refund",
                exchange_sku=i.exchange_sku or None,
                photo_ids=tuple(i.photo_ids),
            )
            for i in self.items
        ]


def _key(merchant: Merchant, number: str) -> str:
    return f"{merchant.pk}:{number}"


def load(request: HttpRequest, merchant: Merchant, number: str) -> Draft:
    data = request.session.get(SESSION_KEY, {}).get(_key(merchant, number))
    if not data:
        return Draft()
    items = [DraftItem(**i) for i in data.pop("items", [])]
    return Draft(items=items, **data)


def save(request: HttpRequest, merchant: Merchant, number: str, draft: Draft) -> None:
    drafts = request.session.get(SESSION_KEY, {})
    drafts[_key(merchant, number)] = asdict(draft)
    request.session[SESSION_KEY] = drafts


def clear(request: HttpRequest, merchant: Merchant, number: str) -> None:
    drafts = request.session.get(SESSION_KEY, {})
    drafts.pop(_key(merchant, number), None)
    request.session[SESSION_KEY] = drafts
