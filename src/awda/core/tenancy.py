"""Scoping every query to one merchant (the tenant)."""

from __future__ import annotations

from typing import Any, Self, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


class MerchantQuerySet(models.QuerySet[M]):
    def for_merchant(self, merchant: Any) -> Self:
        """Rows of one merchant; ``merchant`` may be the instance or its id."""
        merchant_id = getattr(merchant, "pk", merchant)
        if merchant_id is None:
            raise ValueError("a merchant is required to scope this query")
        return self.filter(merchant_id=merchant_id)
