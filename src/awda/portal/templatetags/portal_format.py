"""``{% load portal_format %}``: money, numbers and dates in the page's language and the
merchant's options (``lang`` and ``merchant_options`` in the context).

    {% money line.refund_minor order.currency %}   {% money refund.amount %}
    {% date ret.created_at %}   {% date ret.deadline style="day_month" %}
    {% datetime event.at %}     {% time pickup.start %}     {% number line.quantity %}
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from awda.core.formatting import (
    DateStyle,
    FormatOptions,
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_time,
)
from awda.core.money import Money

register = template.Library()

_DEFAULT_OPTIONS = FormatOptions()


def _lang(context: template.Context) -> str:
    return str(context.get("lang") or get_language() or "en")


def _options(context: template.Context) -> FormatOptions:
    options = context.get("merchant_options")
    return options if isinstance(options, FormatOptions) else _DEFAULT_OPTIONS


@register.simple_tag(takes_context=True)
def money(context: template.Context, amount: int | Money, currency: str = "") -> SafeString:
    """Minor units and a currency, or a Money; isolated with ``<bdi>`` so an amount keeps
    its own direction inside text of the other one (an English amount in an Arabic line)."""
    if isinstance(amount, Money):
        if currency and currency != amount.currency:
            raise ValueError(f"{amount} shown as {currency}")
        minor, currency = amount.minor, amount.currency
    else:
        minor = amount
    options = _options(context)
    text = format_money(minor, currency, _lang(context), arabic_digits=options.arabic_digits)
    return format_html('<bdi class="money">{}</bdi>', text)


@register.simple_tag(takes_context=True)
def number(context: template.Context, value: int | Decimal) -> str:
    options = _options(context)
    return format_number(value, _lang(context), arabic_digits=options.arabic_digits)


@register.simple_tag(takes_context=True, name="date")
def date_tag(context: template.Context, moment: datetime | date, style: DateStyle = "long") -> str:
    options = _options(context)
    return format_date(
        moment,
        _lang(context),
        tz=options.timezone,
        hijri=options.hijri,
        arabic_digits=options.arabic_digits,
        style=style,
    )


@register.simple_tag(takes_context=True, name="datetime")
def datetime_tag(context: template.Context, moment: datetime, style: DateStyle = "long") -> str:
    options = _options(context)
    return format_datetime(
        moment,
        _lang(context),
        tz=options.timezone,
        hijri=options.hijri,
        arabic_digits=options.arabic_digits,
        style=style,
    )


@register.simple_tag(takes_context=True, name="time")
def time_tag(context: template.Context, moment: datetime) -> str:
    options = _options(context)
    return format_time(
        moment, _lang(context), tz=options.timezone, arabic_digits=options.arabic_digits
    )


@register.simple_tag(takes_context=True)
def distance(context: template.Context, km: float) -> str:
    """``3.2 km`` / ``٣٫٢ كم``: one decimal under 10 km, whole kilometres above."""
    options = _options(context)
    value = Decimal(str(round(km, 1))) if km < 10 else Decimal(round(km))
    number_text = format_number(value, _lang(context), arabic_digits=options.arabic_digits)
    return _("%(distance)s km") % {"distance": number_text}
