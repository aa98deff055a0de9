"""Form helpers for portal templates: an error shown next to its field and tied to it for
screen readers (``aria-invalid`` + ``aria-describedby``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from awda.portal.story import next_step as sentence
from awda.portal.templatetags.portal_format import number
from awda.returns.models import ReturnMethod, ReturnStatus
from awda.returns.selectors import ReturnSummary
from awda.shipping.models import ShipmentStatus

register = template.Library()


def _name(prefix: str, ref: object) -> str:
    return f"{prefix}{ref}" if ref != "" else prefix


@register.simple_tag
def field_error(errors: Mapping[str, str], prefix: str, ref: object = "") -> SafeString:
    name = _name(prefix, ref)
    message = errors.get(name)
    if not message:
        return mark_safe("")
    return format_html('<p class="error" id="{}-error">{}</p>', name, message)


@register.simple_tag
def invalid(errors: Mapping[str, str], prefix: str, ref: object = "") -> SafeString:
    name = _name(prefix, ref)
    if name not in errors:
        return mark_safe("")
    return format_html('aria-invalid="true" aria-describedby="{}-error"', name)


@register.filter
def get_title(mapping: Mapping[str, object] | None, key: str) -> object:
    """``mapping[key]`` in a template (``titles|get_title:ref``), or "" when absent."""
    return (mapping or {}).get(key, "")


@register.simple_tag
def method_label(method: str) -> str:
    return str(ReturnMethod(method).label) if method in ReturnMethod.values else method


@register.simple_tag
def method_help(method: str) -> str:
    texts = {
        "label": _("Print the label at home and hand the parcel to the carrier."),
        "qr_dropoff": _("No printer needed: show a QR code at a drop-off point near you."),
        "pickup": _("A courier collects the parcel at your address."),
        "keep_item": _("Keep the item; you don't need to send it back."),
    }
    return texts.get(method, "")


@register.simple_tag
def status_label(status: str) -> str:
    return str(ReturnStatus(status).label) if status in ReturnStatus.values else status


@register.simple_tag
def parcel_status_label(status: str) -> str:
    return str(ShipmentStatus(status).label) if status in ShipmentStatus.values else status


@register.simple_tag
def next_step(ret: ReturnSummary) -> str:
    return sentence(ret)


@register.simple_tag
def reason_options(groups: list[dict[str, Any]], selected: str | None) -> SafeString:
    """The reason list's ``<option>``s (sub-reasons in an ``<optgroup>``), one selected.

    Built here rather than in template loops: an order's page repeats the list for each
    line, and the loops were a third of the page's rendering time.
    """
    chosen = selected or ""
    parts: list[str] = []
    for group in groups:
        if group["children"]:
            parts.append(format_html('<optgroup label="{}">', group["label"]))
            parts.extend(_option(c["code"], c["label"], chosen) for c in group["children"])
            parts.append("</optgroup>")
        else:
            parts.append(_option(group["code"], group["label"], chosen))
    return mark_safe("".join(parts))  # noqa: S308 (every part escaped by format_html)


@register.simple_tag(takes_context=True)
def quantity_options(
    context: template.Context, quantities: list[int], selected: int | str | None
) -> SafeString:
    """``<option>``s for 1…n, the numbers in the page's digits, one selected."""
    chosen = str(selected or "")
    parts = [_option(str(q), number(context, q), chosen) for q in quantities]
    return mark_safe("".join(parts))  # noqa: S308 (every part escaped by format_html)


def _option(value: str, label: str, chosen: str) -> str:
    if value == chosen:
        return format_html('<option value="{}" selected>{}</option>', value, label)
    return format_html('<option value="{}">{}</option>', value, label)
