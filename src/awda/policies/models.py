"""Stored return policies: each change is a new immutable version."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from awda.merchants.models import MerchantOwned


class ReturnPolicy(MerchantOwned):
    version = models.PositiveIntegerField()
    document = models.JSONField()  # PolicyDocument.to_data(); validated before saving
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name_plural = "return policies"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "version"], name="policy_version_once"),
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(is_active=True), name="one_active_policy"
            ),
        ]

    def __str__(self) -> str:
        return f"policy v{self.version} of merchant {self.merchant_id}"
