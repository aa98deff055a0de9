"""Outbound webhooks: merchants' subscriptions to public events, signed deliveries with
retries, a delivery log with replay (DESIGN.md §7; subscribes to events, drives nothing)."""
