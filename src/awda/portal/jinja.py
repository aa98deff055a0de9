"""The portal's pages are Jinja2 templates (``portal/jinja2/portal/``): this is their
environment — gettext, URLs, static files, and the helpers that format money, numbers and
dates in the page's language and the merchant's options.

Why Jinja2 and not Django's engine: the portal's pages are its hot path, and Django's engine
was half of a page's CPU (bench/README.md, "Portal pages"); Jinja compiles a template to
Python once per process. E-mails and the admin keep Django's engine.

Conventions the templates follow so ``makemessages`` still finds every string (it reads
``.html`` files as Django templates and extracts ``_("…")`` constants):

- a sentence is ``{{ _("Order %(number)s") | format(number=order.number) }}``: the constant
  right after ``_(``, the values through ``format``. As with Django's translate tags the
  translation itself is trusted and the values are escaped;
- plurals are chosen in Python (the view puts the sentence in the context), because
  ``makemessages`` does not read ``ngettext`` in templates.

Helpers that need the page's language read ``lang`` and ``merchant_options`` from the
template's context, as every portal page's ``pages.context`` provides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import escapejs, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, get_language_bidi, gettext, ngettext
from jinja2 import ChainableUndefined, Environment, pass_context
from markupsafe import Markup

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
from awda.portal.story import next_step
from awda.returns.models import ReturnMethod, ReturnStatus
from awda.shipping.models import ShipmentStatus

_DEFAULT_OPTIONS = FormatOptions()

# A template context: Jinja's Context, or a plain mapping in tests.
Ctx = Mapping[str, Any]


def environment(**options: Any) -> Environment:
    # A missing value renders empty, as on Django's pages, whether DEBUG is on or off.
    options["undefined"] = ChainableUndefined
    options.pop("autoescape", None)  # always on, whatever the caller says
    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _trusted_gettext, _trusted_ngettext, newstyle=False
    )
    env.globals.update(
        url=url,
        static=static,
        language=get_language,
        language_bidi=get_language_bidi,
        amount=money,
        number=number,
        date=date_text,
        datetime=datetime_text,
        time=time_text,
        distance=distance,
        field_error=field_error,
        invalid=invalid,
        method_label=method_label,
        method_help=method_help,
        status_label=status_label,
        parcel_status_label=parcel_status_label,
        next_step=next_step,
        reason_options=reason_options,
        quantity_options=quantity_options,
        photos_added=photos_added,
        wait_minutes=wait_minutes,
    )
    env.filters.update(escapejs=escapejs, lookup=lookup)
    return env


def _trusted_gettext(message: str) -> Markup:
    # A translation is the project's own text, not the user's: like Django's translate tags,
    # it is not escaped, and values given through ``format`` are (Markup's ``%``).
    return Markup(gettext(message))  # noqa: S704


def _trusted_ngettext(singular: str, plural: str, n: int) -> Markup:
    return Markup(ngettext(singular, plural, n))  # noqa: S704


def url(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs=kwargs)


def lookup(mapping: Mapping[str, object] | None, key: str) -> object:
    """``mapping[key]``, or "" when absent (``titles | lookup(ref)``)."""
    return (mapping or {}).get(key, "")


# -- money, numbers and dates ---------------------------------------------------------------


def _lang(context: Ctx) -> str:
    return str(context.get("lang") or get_language() or "en")


def _options(context: Ctx) -> FormatOptions:
    options = context.get("merchant_options")
    return options if isinstance(options, FormatOptions) else _DEFAULT_OPTIONS


@pass_context
def money(context: Ctx, amount: int | Money, currency: str = "") -> SafeString:
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


@pass_context
def number(context: Ctx, value: int | Decimal) -> str:
    return _number(context, value)


def _number(context: Ctx, value: int | Decimal) -> str:
    return format_number(value, _lang(context), arabic_digits=_options(context).arabic_digits)


def _calendar(context: Ctx) -> dict[str, Any]:
    """The merchant's time zone, calendar and digits, as the date formatters take them."""
    options = _options(context)
    return {"tz": options.timezone, "hijri": options.hijri, "arabic_digits": options.arabic_digits}


@pass_context
def date_text(context: Ctx, moment: datetime | date, style: DateStyle = "long") -> str:
    return format_date(moment, _lang(context), style=style, **_calendar(context))


@pass_context
def datetime_text(context: Ctx, moment: datetime, style: DateStyle = "long") -> str:
    return format_datetime(moment, _lang(context), style=style, **_calendar(context))


@pass_context
def time_text(context: Ctx, moment: datetime) -> str:
    options = _options(context)
    return format_time(
        moment, _lang(context), tz=options.timezone, arabic_digits=options.arabic_digits
    )


@pass_context
def distance(context: Ctx, km: float) -> str:
    """``3.2 km`` / ``٣٫٢ كم``: one decimal under 10 km, whole kilometres above."""
    value = Decimal(str(round(km, 1))) if km < 10 else Decimal(round(km))
    return gettext("%(distance)s km") % {"distance": _number(context, value)}


# -- plurals (chosen here: makemessages reads no ngettext in templates) ----------------------


def photos_added(n: int) -> str:
    return ngettext("%(n)s photo added.", "%(n)s photos added.", n) % {"n": n}


def wait_minutes(minutes: int) -> str:
    return ngettext(
        "Please wait a minute before trying again.",
        "Please wait %(minutes)s minutes before trying again.",
        minutes,
    ) % {"minutes": minutes}


# -- forms: an error next to its field, tied to it for screen readers ------------------------


def _name(prefix: str, ref: object) -> str:
    return f"{prefix}{ref}" if ref != "" else prefix


def field_error(errors: Mapping[str, str] | None, prefix: str, ref: object = "") -> SafeString:
    name = _name(prefix, ref)
    message = (errors or {}).get(name)
    if not message:
        return mark_safe("")
    return format_html('<p class="error" id="{}-error">{}</p>', name, message)


def invalid(errors: Mapping[str, str] | None, prefix: str, ref: object = "") -> SafeString:
    name = _name(prefix, ref)
    if name not in (errors or {}):
        return mark_safe("")
    return format_html('aria-invalid="true" aria-describedby="{}-error"', name)


def method_label(method: str) -> str:
    return str(ReturnMethod(method).label) if method in ReturnMethod.values else method


def method_help(method: str) -> str:
    texts = {
        "label": gettext("Print the label at home and hand the parcel to the carrier."),
        "qr_dropoff": gettext("No printer needed: show a QR code at a drop-off point near you."),
        "pickup": gettext("A courier collects the parcel at your address."),
        "keep_item": gettext("Keep the item; you don't need to send it back."),
    }
    return texts.get(method, "")


def status_label(status: str) -> str:
    return str(ReturnStatus(status).label) if status in ReturnStatus.values else status


def parcel_status_label(status: str) -> str:
    return str(ShipmentStatus(status).label) if status in ShipmentStatus.values else status


def reason_options(groups: list[dict[str, Any]], selected: str | None) -> SafeString:
    """The reason list's ``<option>``s (sub-reasons in an ``<optgroup>``), one selected.

    Built here rather than in template loops: an order's page repeats the list for each line.
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


@pass_context
def quantity_options(context: Ctx, quantities: list[int], selected: int | str | None) -> SafeString:
    """``<option>``s for 1…n, the numbers in the page's digits, one selected."""
    chosen = str(selected or "")
    parts = [_option(str(q), _number(context, q), chosen) for q in quantities]
    return mark_safe("".join(parts))  # noqa: S308 (every part escaped by format_html)


def _option(value: str, label: str, chosen: str) -> str:
    if value == chosen:
        return format_html('<option value="{}" selected>{}</option>', value, label)
    return format_html('<option value="{}">{}</option>', value, label)
