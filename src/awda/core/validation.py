"""Pydantic's validation errors in the user's language: one reason per error, for the API's
answers and the policy editor alike (pydantic's own messages are English only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _


def reason(error: Mapping[str, Any]) -> str:
    """A translated reason for a pydantic error, falling back to pydantic's own words."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("missing",):
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("This field is not allowed.")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Must be a whole number.")
    if kind in ("bool_parsing", "bool_type"):
        return _("Must be true or false.")
    if kind == "string_type":
        return _("Must be text.")
    if kind in ("datetime_parsing", "datetime_from_date_parsing", "datetime_type"):
        return _("Must be a date and time (ISO 8601).")
    if kind in ("decimal_parsing", "decimal_type", "float_parsing", "float_type"):
        return _("Must be a number.")
    if kind == "decimal_max_places":
        return _("Use at most %(limit)s decimal places.") % {"limit": ctx.get("decimal_places", "")}
    if kind in ("enum", "literal_error"):
        return _("Must be one of: %(expected)s.") % {"expected": ctx.get("expected", "")}
    if kind == "greater_than_equal":
        return _("Must be at least %(limit)s.") % {"limit": ctx.get("ge", "")}
    if kind == "greater_than":
        return _("Must be more than %(limit)s.") % {"limit": ctx.get("gt", "")}
    if kind == "less_than_equal":
        return _("Must be at most %(limit)s.") % {"limit": ctx.get("le", "")}
    if kind == "less_than":
        return _("Must be less than %(limit)s.") % {"limit": ctx.get("lt", "")}
    if kind == "string_too_short":
        return _("Too short.")
    if kind == "string_too_long":
        return _("Too long (at most %(limit)s characters).") % {"limit": ctx.get("max_length", "")}
    if kind == "too_short":
        return _("Needs at least %(limit)s item(s).") % {"limit": ctx.get("min_length", "")}
    if kind == "too_long":
        return _("Too many items (at most %(limit)s).") % {"limit": ctx.get("max_length", "")}
    if kind == "string_pattern_mismatch":
        return _("Not in the expected format.")
    if kind == "json_invalid":
        return _("The body is not valid JSON.")
    if kind == "nul_character":
        return _("Contains a character that isn't allowed.")
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return _("Must be an object.")
    if kind in ("list_type", "tuple_type"):
        return _("Must be a list.")
    return str(error.get("msg") or _("Not valid."))
