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
