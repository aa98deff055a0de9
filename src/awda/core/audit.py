"""The staff audit log: one row per action, written in the action's own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awda.core import clock
from awda.core.models import AuditEntry


def record_audit(
    *,
    merchant_id: int,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    role: str = "",
    summary: str = "",
    data: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Write the audit row with the change it describes (call it inside that transaction,
    so an action that rolls back leaves no trace and one that commits can't lose it)."""
    return AuditEntry.objects.create(
        merchant_id=merchant_id,
        at=clock.now(),
        actor=actor[:150],
        role=role,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        summary=summary[:300],
        data=dict(data or {}),
    )
