"""Policy use cases: replacing a merchant's policy with a new version (by the API, the
CLI or a staff member on the policy editor)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from awda.core.audit import record_audit
from awda.merchants.models import Merchant
from awda.policies.document import PolicyDocument, PolicyError, PolicyInvalid, parse_policy
from awda.policies.models import ReturnPolicy
from awda.policies.presets import legal_minimum_for
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


def _below_legal_minimum(merchant: Merchant, doc: PolicyDocument) -> list[PolicyError]:
    # The engine raises a short window to the law's minimum anyway; an owner editing by hand
    # is told instead, so the page they publish says what the store actually offers.
    preset = legal_minimum_for(doc.country or merchant.country)
    if preset is None:
        return []
    law = preset.label_ar if get_language() == "ar" else preset.label_en
    message = _("At least %(days)s days: %(law)s gives shoppers that long.")
    windows = [("defaults.window_days", doc.defaults.window_days)] + [
        (f"rules.{i}.then.window_days", rule.then.window_days)
        for i, rule in enumerate(doc.rules)
        if rule.then.window_days is not None and rule.then.returnable is not False
    ]
    return [
        PolicyError(path, message % {"days": preset.window_days, "law": law})
        for path, days in windows
        if days < preset.window_days
    ]


def replace_policy_by_staff(
    *, merchant: Merchant, document: PolicyDocument, user: Any, role: str, source: str
) -> ReturnPolicy:
    """A staff member's new policy version (refused below the legal minimum window), with
    its audit row in the same transaction."""
    problems = _below_legal_minimum(merchant, document)
    if problems:
        raise PolicyInvalid(problems)
    with transaction.atomic():
        policy = replace_policy(merchant=merchant, document=document, created_by=user)
        record_audit(
            merchant_id=merchant.pk,
            actor=f"staff:{user.pk}",
            role=role,
            action="policy_replaced",
            subject_type="policy",
            subject_id=policy.version,
            summary=f"version {policy.version} ({source})",
            data={"version": policy.version, "source": source},
        )
    return policy
