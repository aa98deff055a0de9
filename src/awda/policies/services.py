"""Policy use cases: replacing a merchant's policy with a new version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max

from awda.merchants.models import Merchant
from awda.policies.document import PolicyDocument, parse_policy
from awda.policies.models import ReturnPolicy
from awda.policies.selectors import active_versions


def replace_policy(
    *, merchant: Merchant, document: PolicyDocument | Mapping[str, Any], created_by: Any = None
) -> ReturnPolicy:
    """Validate ``document`` and make it the merchant's active policy as a new version."""
    doc = document if isinstance(document, PolicyDocument) else parse_policy(document)
    with transaction.atomic():
        # Lock the merchant row so two concurrent replacements get distinct versions.
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
        last = ReturnPolicy.objects.for_merchant(merchant).aggregate(v=Max("version"))["v"] or 0
        ReturnPolicy.objects.for_merchant(merchant).filter(is_active=True).update(is_active=False)
        # This process sees the new version at once (the others when their entry expires).
        active_versions.invalidate(merchant.pk)
        transaction.on_commit(lambda: active_versions.invalidate(merchant.pk))
        return ReturnPolicy.objects.create(
            merchant=merchant,
            version=last + 1,
            document=doc.to_data(),
            is_active=True,
            created_by=created_by,
        )
