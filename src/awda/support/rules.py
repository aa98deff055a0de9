"""Goodwill budgets: pure arithmetic, no database."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def budget_month(moment: datetime, timezone: str) -> date:
    """The budget month ``moment`` falls in, as its first day, in the merchant's time zone
    (a grant at 01:00 on the 1st in Riyadh counts against the new month, not UTC's old one)."""
    local = moment.astimezone(ZoneInfo(timezone))
    return date(local.year, local.month, 1)


def fits_budget(*, monthly_minor: int, used_minor: int, amount_minor: int) -> bool:
    """Whether a grant of ``amount_minor`` stays within the month's budget."""
    return used_minor + amount_minor <= monthly_minor


def remaining_minor(*, monthly_minor: int, used_minor: int) -> int:
    """What is left of the month's budget (never below zero, even if it was lowered)."""
    return max(0, monthly_minor - used_minor)
