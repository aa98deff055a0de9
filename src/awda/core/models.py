"""The transactional outbox: events written with the change that caused them."""

from __future__ import annotations

import uuid

from django.db import models


class Event(models.Model):
    """A past-tense fact (``ReturnRequested``) awaiting or done with dispatch."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Plain id, not a foreign key: core imports no domain, and events outlive their rows.
    merchant_id = models.BigIntegerField(null=True, db_index=True)
    name = models.CharField(max_length=80)
    aggregate_type = models.CharField(max_length=40, blank=True)
    aggregate_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                name="event_undispatched_idx",
                condition=models.Q(dispatched_at__isnull=True),
            ),
            models.Index(fields=["aggregate_type", "aggregate_id"], name="event_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.aggregate_type}:{self.aggregate_id}"


class HandledEvent(models.Model):
    """Marks that one handler ran for one event, so a retried dispatch does nothing twice."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="handled")
    handler = models.CharField(max_length=120)
    handled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="handled_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.handler} handled {self.event_id}"


class RateCounter(models.Model):
    """Attempts of one rate-limited action (``key``) in one fixed time window."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="rate_counter_window"),
        ]
        indexes = [models.Index(fields=["window_start"], name="rate_counter_sweep_idx")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start}: {self.count}"


class AuditEntry(models.Model):
    """One thing a person on the staff did (approve, override, grant goodwill, set a budget…),
    kept for good. Money the system moves is audited by its own ledgers and events."""

    # Plain id, like ``Event``: core imports no domain, and the audit outlives the rows.
    merchant_id = models.BigIntegerField()
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)  # the staff member's username, or "api:<key>"
    role = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=60)  # a stable snake_case verb: goodwill_granted
    subject_type = models.CharField(max_length=40)
    subject_id = models.CharField(max_length=64)
    summary = models.CharField(max_length=300, blank=True)  # who/what, for search and CSV
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["merchant_id", "-at"], name="audit_recent_idx"),
            models.Index(
                fields=["merchant_id", "subject_type", "subject_id"], name="audit_subject_idx"
            ),
        ]

    def __str__(self) -> str:
        subject = f"{self.subject_type}:{self.subject_id}"
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {subject}"
