"""The analyst's pages (and the owner's): return rates, reasons, resolutions, refund and
transit times, flagged products and supplier scorecards over a period, each a chart, its
table and a CSV download of exactly that table.

Every table is built once, by one function of this module (``TABLES``), from one
``analytics.selectors`` call; the page shows it and ``…/analytics/<table>.csv`` with the same
query string writes the same rows, so the download always equals what the person saw. A
cell carries its CSV value and its text in the page's language (digits, money, percent);
the page puts the CSV value in ``data-value`` so a test can compare the two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from awda.analytics import selectors
from awda.core import clock
from awda.core.formatting import FormatOptions, format_date, format_money, format_number
from awda.core.money import Money
from awda.dashboard.access import ANALYTICS_ROLES, SUPPORT_ROLES, Staff, staff_page
from awda.dashboard.csv_export import csv_response
from awda.dashboard.pages import context, language
from awda.dashboard.station import PHOTO_ROLES
from awda.merchants.models import Merchant
from awda.returns.models import Resolution, Return, ReturnMethod, ReturnPhoto, ReturnReason

PERIODS = ("30", "90", "365")  # days ending today, the merchant's days
DIMENSIONS: tuple[selectors.Dimension, ...] = ("product", "variant", "category", "supplier")
OVERVIEW_TOP = 10  # the overview's products; each breakdown page shows more
RATES_TOP = 50
FLAGGED_TOP = 50
ITEMS_LIMIT = 100
# Dates outside these years are typing mistakes, and would overflow the day arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2100


# -- the period --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    choice: str  # one of PERIODS, or "custom"
    start: date
    end: date

    def params(self) -> dict[str, str]:
        if self.choice == "custom":
            return {"period": "custom", "from": self.start.isoformat(), "to": self.end.isoformat()}
        return {"period": self.choice}


@dataclass(frozen=True)
class PeriodForm:
    """The period picker as read from the query string: a period, or the errors by field."""

    period: Period | None
    choice: str
    raw_from: str
    raw_to: str
    errors: dict[str, str]


def today_of(merchant: Merchant) -> date:
    return clock.now().astimezone(ZoneInfo(merchant.timezone)).date()


def _day(raw: str, name: str, errors: dict[str, str]) -> date | None:
    if not raw:
        errors[name] = _("Enter a date.")
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = _("Enter a date such as 2026-01-31.")
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors[name] = _("Enter a date between %(first)s and %(last)s.") % {
            "first": FIRST_YEAR,
            "last": LAST_YEAR,
        }
        return None
    return day


def read_period(data: QueryDict, merchant: Merchant) -> PeriodForm:
    """Last 30 / 90 / 365 days (ending today in the merchant's time zone) or from–to, both
    days included; the last 30 days when nothing is chosen."""
    raw_from = data.get("from", "").strip()[:20]
    raw_to = data.get("to", "").strip()[:20]
    choice = data.get("period", "").strip()[:20] or ("custom" if raw_from or raw_to else "30")
    errors: dict[str, str] = {}
    if choice in PERIODS:
        today = today_of(merchant)
        period = Period(choice, today - timedelta(days=int(choice) - 1), today)
        return PeriodForm(period, choice, raw_from, raw_to, errors)
    if choice != "custom":
        errors["period"] = _("Choose a period from the list.")
        return PeriodForm(None, "30", raw_from, raw_to, errors)
    start, end = _day(raw_from, "from", errors), _day(raw_to, "to", errors)
    if start and end and end < start:
        errors["to"] = _("The end comes before the start.")
    if errors or start is None or end is None:
        return PeriodForm(None, choice, raw_from, raw_to, errors)
    return PeriodForm(Period(choice, start, end), choice, raw_from, raw_to, errors)


# -- tables ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    value: str  # the CSV's cell: plain digits, "." decimals, ISO dates
    text: str  # shown, in the page's language and digits
    href: str = ""
    photos: Sequence[tuple[str, str]] = ()  # (url, alt) thumbnails
    numeric: bool = False


@dataclass(frozen=True)
class Column:
    key: str  # the CSV's header: stable, English
    label: str


@dataclass
class Table:
    name: str  # its CSV's name, and the section's id
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""
    chart: dict[str, Any] | None = None
    chart_label: str = ""  # the canvas's aria-label: the table is its accessible form
    csv_url: str = ""
    chart_json: SafeString | None = None


@dataclass(frozen=True)
class Ask:
    """What a table is built from: the store, the period, the page's language and who asks."""

    staff: Staff
    period: Period
    lang: str
    options: FormatOptions
    reason: str = ""
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def merchant(self) -> Merchant:
        return self.staff.merchant

    @property
    def totals(self) -> Sequence[selectors.ProductTotal]:
        """The period's sales per product, read once for every table of the page."""
        if "totals" not in self.memo:
            self.memo["totals"] = selectors.product_totals(**self.span)
        return cast("Sequence[selectors.ProductTotal]", self.memo["totals"])

    @property
    def span(self) -> dict[str, Any]:
        return {"merchant": self.merchant, "start": self.period.start, "end": self.period.end}

    @property
    def arabic_digits(self) -> bool:
        return self.options.arabic_digits and self.lang == "ar"

    # Cells: the CSV value, and the text as the page shows it.
    def text(self, value: str) -> Cell:
        return Cell(value, value)

    def count(self, value: int) -> Cell:
        return Cell(str(value), self._num(Decimal(value)), numeric=True)

    def pct(self, share: float | None) -> Cell:
        if share is None:
            return Cell("", "–")
        value = Decimal(str(round(share * 100, 1)))
        return Cell(str(value), _("%(rate)s %%") % {"rate": self._num(value)}, numeric=True)

    def hours(self, hours: float | None) -> Cell:
        if hours is None:
            return Cell("", "–")
        value = Decimal(str(round(hours, 1)))
        return Cell(str(value), _("%(hours)s h") % {"hours": self._num(value)}, numeric=True)

    def money(self, minor: int) -> Cell:
        currency = self.merchant.currency
        return Cell(
            str(Money(minor, currency).to_decimal()),
            format_money(minor, currency, self.lang, arabic_digits=self.options.arabic_digits),
            numeric=True,
        )

    def day(self, moment: datetime | date) -> Cell:
        local = (
            moment.astimezone(ZoneInfo(self.options.timezone)).date()
            if isinstance(moment, datetime)
            else moment
        )
        text = format_date(
            local,
            self.lang,
            style="medium",
            hijri=self.options.hijri,
            arabic_digits=self.options.arabic_digits,
        )
        return Cell(local.isoformat(), text)

    def number(self, value: int) -> str:
        return self._num(Decimal(value))

    def _num(self, value: Decimal) -> str:
        return format_number(value, self.lang, arabic_digits=self.options.arabic_digits)

    def chart_locale(self) -> str:
        if self.lang != "ar":
            return "en"
        return "ar-u-nu-arab" if self.options.arabic_digits else "ar-u-nu-latn"


def _chart(
    ask: Ask,
    kind: str,
    labels: list[str],
    datasets: list[tuple[str, list[float]]],
    *,
    unit: str,
    horizontal: bool = False,
) -> dict[str, Any]:
    """What charts.js draws: plain data, read from a JSON script element (never code)."""
    suffix = {"pct": _("%(rate)s %%"), "hours": _("%(hours)s h"), "units": ""}[unit]
    return {
        "kind": kind,
        "horizontal": horizontal,
        "labels": labels,
        "datasets": [{"label": label, "data": data} for label, data in datasets],
        "unit": unit,
        # The number's place in the unit's text, so "%" and "h" follow the language's order.
        "suffix": suffix.replace("%(rate)s", "{}").replace("%(hours)s", "{}").replace("%%", "%"),
        "locale": ask.chart_locale(),
    }


def _value(cell: Cell) -> float:
    return float(cell.value) if cell.value else 0.0


def _label(ask: Ask, label: str, label_ar: str, code: str) -> str:
    chosen = label_ar if ask.lang == "ar" and label_ar else label
    return chosen or code or _("(none)")


def _dimension_title(by: str) -> str:
    return {
        "product": _("Return rate by product"),
        "variant": _("Return rate by variant"),
        "category": _("Return rate by category"),
        "supplier": _("Return rate by supplier"),
    }[by]


def _code_label(by: str) -> str:
    return {
        "product": _("Product"),
        "variant": _("SKU"),
        "category": _("Category"),
        "supplier": _("Supplier"),
    }[by]


def rates_table(ask: Ask, by: selectors.Dimension, *, top: int, name: str) -> Table:
    totals = None if by == "variant" else ask.totals
    rows = selectors.return_rates(**ask.span, by=by, limit=top, totals=totals)
    table = Table(
        name=name,
        title=_dimension_title(by),
        columns=[
            Column("code", _("Code")),
            Column("name", _code_label(by)),
            Column("sold_units", _("Units sold")),
            Column("returned_units", _("Units returned")),
            Column("unit_rate_pct", _("Rate by units")),
            Column("sold_value", _("Value sold")),
            Column("returned_value", _("Value returned")),
            Column("value_rate_pct", _("Rate by value")),
        ],
        note=_("Top %(n)s by units returned.") % {"n": ask.number(top)},
    )
    table.rows = [
        [
            ask.text(r.code),
            ask.text(_label(ask, r.label, r.label_ar, r.code)),
            ask.count(r.sold_units),
            ask.count(r.returned_units),
            ask.pct(r.unit_rate),
            ask.money(r.sold_minor),
            ask.money(r.returned_minor),
            ask.pct(r.value_rate),
        ]
        for r in rows
    ]
    table.chart = _chart(
        ask,
        "bar",
        [row[1].text for row in table.rows],
        [(_("Rate by units"), [_value(row[4]) for row in table.rows])],
        unit="pct",
        horizontal=True,
    )
    return table


def reasons_table(ask: Ask) -> Table:
    shares = selectors.reason_shares(**ask.span)
    table = Table(
        name="reasons",
        title=_("Reasons"),
        columns=[
            Column("reason_code", _("Code")),
            Column("reason", _("Reason")),
            Column("items", _("Items")),
            Column("units", _("Units")),
            Column("value", _("Value")),
            Column("share_pct", _("Share of units")),
        ],
        note=_("Choose a reason to see its items and photos."),
    )
    for s in shares:
        label = _label(ask, s.label_en, s.label_ar, s.code) if s.code else _("No reason given")
        href = _url(ask, "analytics-items", reason=s.code) if s.code else ""
        table.rows.append(
            [
                ask.text(s.code),
                Cell(label, label, href=href),
                ask.count(s.items),
                ask.count(s.units),
                ask.money(s.value_minor),
                ask.pct(s.share),
            ]
        )
    table.chart = _chart(
        ask,
        "doughnut",
        [row[1].text for row in table.rows],
        [(_("Share of units"), [_value(row[5]) for row in table.rows])],
        unit="pct",
    )
    return table


def trend_table(ask: Ask) -> Table:
    grain, points = selectors.reason_trend(**ask.span)
    codes = sorted({p.reason_code for p in points})
    labels = _reason_labels(ask)
    buckets = sorted({p.bucket for p in points})
    units = {(p.bucket, p.reason_code): p.units for p in points}
    table = Table(
        name="reason-trend",
        title=_("Reasons week by week") if grain == "week" else _("Reasons month by month"),
        columns=[Column(grain, _("Week of") if grain == "week" else _("Month of"))]
        + [Column(code or "none", labels.get(code) or _("No reason given")) for code in codes],
        note=_("Units returned per reason."),
    )
    table.rows = [[ask.day(b)] + [ask.count(units.get((b, c), 0)) for c in codes] for b in buckets]
    table.chart = _chart(
        ask,
        "line",
        [row[0].text for row in table.rows],
        [
            (column.label, [_value(row[i + 1]) for row in table.rows])
            for i, column in enumerate(table.columns[1:])
        ],
        unit="units",
    )
    return table


def _reason_labels(ask: Ask) -> dict[str, str]:
    return {
        r["code"]: _label(ask, r["label_en"], r["label_ar"], r["code"])
        for r in ReturnReason.objects.for_merchant(ask.merchant).values(
            "code", "label_en", "label_ar"
        )
    }


def resolutions_table(ask: Ask) -> Table:
    mix = selectors.resolution_mix(**ask.span)
    names = {v: str(label) for v, label in Resolution.choices}
    table = Table(
        name="resolutions",
        title=_("Resolution mix"),
        columns=[
            Column("resolution", _("Resolution")),
            Column("items", _("Items")),
            Column("units", _("Units")),
            Column("value", _("Goods' value")),
            Column("refund", _("Refund promised")),
            Column("share_pct", _("Share of value")),
        ],
    )
    table.rows = [
        [
            Cell(r.resolution, names.get(r.resolution, r.resolution)),
            ask.count(r.items),
            ask.count(r.units),
            ask.money(r.value_minor),
            ask.money(r.refund_minor),
            ask.pct(r.share),
        ]
        for r in mix.rows
    ]
    table.chart = _chart(
        ask,
        "doughnut",
        [row[0].text for row in table.rows],
        [(_("Share of value"), [_value(row[5]) for row in table.rows])],
        unit="pct",
    )
    return table


def _carrier(code: str) -> str:
    return code or _("No parcel")


def refund_times_table(ask: Ask) -> Table:
    rows = selectors.refund_times(**ask.span)
    methods = {v: str(label) for v, label in ReturnMethod.choices}
    table = Table(
        name="refund-times",
        title=_("Time to refund"),
        columns=[
            Column("method", _("Method")),
            Column("carrier", _("Carrier")),
            Column("returns", _("Returns")),
            Column("p50_hours", _("Median (p50)")),
            Column("p90_hours", _("p90")),
        ],
        note=_("Hours from the request to the money reaching the shopper."),
    )
    table.rows = [
        [
            Cell(r.method, methods.get(r.method, r.method)),
            Cell(r.carrier, _carrier(r.carrier)),
            ask.count(r.count),
            ask.hours(r.p50_hours),
            ask.hours(r.p90_hours),
        ]
        for r in rows
    ]
    table.chart = _chart(
        ask,
        "bar",
        [f"{row[0].text} · {row[1].text}" for row in table.rows],
        [
            (_("Median (p50)"), [_value(row[3]) for row in table.rows]),
            (_("p90"), [_value(row[4]) for row in table.rows]),
        ],
        unit="hours",
    )
    return table


def transit_times_table(ask: Ask) -> Table:
    rows = selectors.transit_times(**ask.span)
    table = Table(
        name="transit-times",
        title=_("Carrier transit times"),
        columns=[
            Column("carrier", _("Carrier")),
            Column("parcels", _("Parcels")),
            Column("p50_hours", _("Median (p50)")),
            Column("p90_hours", _("p90")),
        ],
        note=_("Hours from the carrier's first scan to delivery at the warehouse."),
    )
    table.rows = [
        [
            Cell(r.carrier, _carrier(r.carrier)),
            ask.count(r.count),
            ask.hours(r.p50_hours),
            ask.hours(r.p90_hours),
        ]
        for r in rows
    ]
    table.chart = _chart(
        ask,
        "bar",
        [row[0].text for row in table.rows],
        [
            (_("Median (p50)"), [_value(row[2]) for row in table.rows]),
            (_("p90"), [_value(row[3]) for row in table.rows]),
        ],
        unit="hours",
    )
    return table


def flagged_table(ask: Ask) -> Table:
    rows = selectors.flagged_products(**ask.span, totals=ask.totals)[:FLAGGED_TOP]
    table = Table(
        name="flagged",
        title=_("Flagged products"),
        columns=[
            Column("code", _("Code")),
            Column("product", _("Product")),
            Column("sold_units", _("Units sold")),
            Column("returned_units", _("Units returned")),
            Column("rate_pct", _("Return rate")),
            Column("wilson_lower_bound_pct", _("Lower bound (Wilson, 95 %)")),
            Column("category_rate_pct", _("Category's rate")),
        ],
        note=_(
            "Returned significantly more often than their category: the lower bound is above "
            "1.5 × the category's rate, with at least 30 units sold. The %(n)s most certain."
        )
        % {"n": ask.number(FLAGGED_TOP)},
    )
    table.rows = [
        [
            ask.text(f.external_id),
            ask.text(f.title or f.external_id),
            ask.count(f.sold_units),
            ask.count(f.returned_units),
            ask.pct(f.return_rate),
            ask.pct(f.lower_bound),
            ask.pct(f.category_rate),
        ]
        for f in rows
    ]
    table.chart = _chart(
        ask,
        "bar",
        [row[1].text for row in table.rows],
        [
            (_("Lower bound (Wilson, 95 %)"), [_value(row[5]) for row in table.rows]),
            (_("Category's rate"), [_value(row[6]) for row in table.rows]),
        ],
        unit="pct",
        horizontal=True,
    )
    return table


def suppliers_table(ask: Ask) -> Table:
    cards = selectors.supplier_scorecards(**ask.span, totals=ask.totals)
    table = Table(
        name="suppliers",
        title=_("Supplier scorecards"),
        columns=[
            Column("code", _("Code")),
            Column("supplier", _("Supplier")),
            Column("sold_units", _("Units sold")),
            Column("returned_units", _("Units returned")),
            Column("rate_pct", _("Return rate")),
            Column("defective_pct", _("Defective")),
            Column("damaged_pct", _("Damaged")),
            Column("not_as_described_pct", _("Not as described")),
        ],
        note=_("Shares of each supplier's returned units by reason."),
    )
    table.rows = [
        [
            ask.text(c.code),
            ask.text(c.name or c.code or _("(none)")),
            ask.count(c.sold_units),
            ask.count(c.returned_units),
            ask.pct(c.return_rate),
            ask.pct(c.defective_share),
            ask.pct(c.damaged_share),
            ask.pct(c.not_as_described_share),
        ]
        for c in cards
    ]
    table.chart = _chart(
        ask,
        "bar",
        [row[1].text for row in table.rows],
        [
            (_("Defective"), [_value(row[5]) for row in table.rows]),
            (_("Damaged"), [_value(row[6]) for row in table.rows]),
            (_("Not as described"), [_value(row[7]) for row in table.rows]),
        ],
        unit="pct",
        horizontal=True,
    )
    return table


def items_table(ask: Ask) -> Table:
    """The drill-down: the items returned for one reason, with their photos."""
    rows = selectors.returned_items(**ask.span, reason_code=ask.reason, limit=ITEMS_LIMIT)
    numbers = {r.number for r in rows}
    # The photos show to every role that may open them (analysts included: what came back
    # is what they study); the return's page (the shopper's details) to support roles only.
    openable = _returns(ask.merchant, numbers) if ask.staff.may(*SUPPORT_ROLES) else set()
    may_see_photos = ask.staff.may(*PHOTO_ROLES)
    photos = _photos(ask.merchant, numbers)
    table = Table(
        name="items",
        title=_("Returned items"),
        columns=[
            Column("return", _("Return")),
            Column("requested", _("Requested")),
            Column("sku", _("SKU")),
            Column("title", _("Item")),
            Column("quantity", _("Quantity")),
            Column("resolution", _("Resolution")),
            Column("comment", _("Comment")),
            Column("photos", _("Photos")),
        ],
        note=_("Newest first; at most %(n)s items.") % {"n": ask.number(ITEMS_LIMIT)},
    )
    names = {v: str(label) for v, label in Resolution.choices}
    for r in rows:
        found = photos.get((r.number, r.sku), [])
        link = (
            reverse("dashboard:return", kwargs={"store": ask.merchant.slug, "number": r.number})
            if r.number in openable
            else ""
        )
        thumbs = [
            (
                reverse(
                    "dashboard:return-photo",
                    kwargs={"store": ask.merchant.slug, "number": r.number, "photo_id": pk},
                ),
                _("Photo %(n)s of %(item)s") % {"n": n, "item": r.title or r.sku},
            )
            for n, pk in enumerate(found, start=1)
        ]
        table.rows.append(
            [
                Cell(r.number, r.number, href=link),
                ask.day(r.requested_at),
                ask.text(r.sku),
                ask.text(r.title),
                ask.count(r.quantity),
                Cell(r.resolution, names.get(r.resolution, r.resolution)),
                ask.text(r.comment),
                Cell(
                    str(len(found)),
                    ask.number(len(found)),
                    photos=thumbs if may_see_photos else (),
                    numeric=True,
                ),
            ]
        )
    return table


def _returns(merchant: Merchant, numbers: set[str]) -> set[str]:
    """Which numbers are returns (the others are imported credit notes: no page)."""
    return set(
        Return.objects.for_merchant(merchant)
        .filter(number__in=numbers)
        .values_list("number", flat=True)
    )


def _photos(merchant: Merchant, numbers: set[str]) -> dict[tuple[str, str], list[int]]:
    """The attached photos' ids by (return number, SKU), in the order they were taken."""
    found: dict[tuple[str, str], list[int]] = {}
    for number, sku, pk in (
        ReturnPhoto.objects.for_merchant(merchant)
        .filter(return_item__return_request__number__in=numbers)
        .order_by("attached_at", "pk")
        .values_list("return_item__return_request__number", "return_item__order_line__sku", "pk")
    ):
        found.setdefault((number, sku), []).append(pk)
    return found


def _top_products(ask: Ask) -> Table:
    return rates_table(ask, "product", top=OVERVIEW_TOP, name="top-products")


def _rates(by: selectors.Dimension) -> Callable[[Ask], Table]:
    def build(ask: Ask) -> Table:
        return rates_table(ask, by, top=RATES_TOP, name=f"rates-{by}")

    return build


TABLES: dict[str, Callable[[Ask], Table]] = {
    "top-products": _top_products,
    **{f"rates-{by}": _rates(by) for by in DIMENSIONS},
    "reasons": reasons_table,
    "reason-trend": trend_table,
    "resolutions": resolutions_table,
    "refund-times": refund_times_table,
    "transit-times": transit_times_table,
    "flagged": flagged_table,
    "suppliers": suppliers_table,
    "items": items_table,
}
OVERVIEW = (
    "top-products",
    "reasons",
    "reason-trend",
    "resolutions",
    "refund-times",
    "transit-times",
    "flagged",
    "suppliers",
)


# -- pages -------------------------------------------------------------------------------------


def _url(ask: Ask, name: str, **query: str) -> str:
    base = reverse(f"dashboard:{name}", kwargs={"store": ask.merchant.slug})
    return f"{base}?{urlencode({**ask.period.params(), **query})}"


def _csv_url(ask: Ask, table: str) -> str:
    base = reverse("dashboard:analytics-csv", kwargs={"store": ask.merchant.slug, "table": table})
    query = {**ask.period.params(), **({"reason": ask.reason} if table == "items" else {})}
    return f"{base}?{urlencode(query)}"


def _built(ask: Ask, name: str) -> Table:
    table = TABLES[name](ask)
    table.csv_url = _csv_url(ask, name)
    table.chart_label = _("Chart: %(title)s. The figures are in the table below.") % {
        "title": table.title
    }
    if table.chart is not None and table.rows:
        table.chart_json = json_script(table.chart, f"{name}-chart-data")
    return table


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    cell: Cell
    help: str = ""


def _figures(ask: Ask) -> list[Figure]:
    summary = selectors.return_summary(**ask.span, totals=ask.totals)
    mix = selectors.resolution_mix(**ask.span)
    costs = selectors.return_costs(**ask.span)
    customers = selectors.cached_customers_who_return(**ask.span)
    returned, sold = ask.count(summary.returned_units), ask.count(summary.sold_units)
    return [
        Figure(
            "unit-rate",
            _("Return rate by units"),
            ask.pct(summary.unit_rate),
            _("%(returned)s of %(sold)s units") % {"returned": returned.text, "sold": sold.text},
        ),
        Figure(
            "value-rate",
            _("Return rate by value"),
            ask.pct(summary.value_rate),
            _("%(returned)s of %(sold)s")
            % {
                "returned": ask.money(summary.returned_minor).text,
                "sold": ask.money(summary.sold_minor).text,
            },
        ),
        Figure(
            "customer-share",
            _("Customers who return"),
            ask.pct(customers.share),
            _("%(returning)s of %(buying)s customers who bought also returned something")
            % {
                "returning": ask.count(customers.returning).text,
                "buying": ask.count(customers.buying).text,
            },
        ),
        Figure(
            "revenue-kept",
            _("Revenue kept"),
            ask.pct(mix.revenue_kept),
            _("Exchanges and store credit, of all returned value"),
        ),
        Figure(
            "bonus-cost",
            _("Bonus cost"),
            ask.money(costs.bonus_minor),
            _("Store-credit bonuses given"),
        ),
        Figure(
            "fees",
            _("Fees collected"),
            ask.money(costs.fees_minor),
            _("Restocking and return shipping fees"),
        ),
    ]


def _page(
    request: HttpRequest,
    staff: Staff,
    template: str,
    form: PeriodForm,
    *,
    view: str,
    view_kwargs: dict[str, str] | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    errors = dict(form.errors)
    if errors:
        status = 400
    return render(
        request,
        template,
        context(
            request,
            staff,
            form=form,
            errors=errors,
            periods=[
                ("30", _("Last 30 days")),
                ("90", _("Last 90 days")),
                ("365", _("Last 365 days")),
                ("custom", _("From–to dates")),
            ],
            action=reverse(
                f"dashboard:{view}", kwargs={"store": staff.merchant.slug, **(view_kwargs or {})}
            ),
            dimensions=[(by, _dimension_title(by)) for by in DIMENSIONS],
            period_query=urlencode(form.period.params()) if form.period else "",
            **extra,
        ),
        status=status,
    )


def _ask(staff: Staff, period: Period, reason: str = "") -> Ask:
    return Ask(
        staff=staff,
        period=period,
        lang=language(),
        options=FormatOptions.of(staff.merchant),
        reason=reason,
    )


@never_cache
@require_http_methods(["GET"])
@staff_page(*ANALYTICS_ROLES)
def overview(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Key figures and every section over the chosen period."""
    form = read_period(request.GET, staff.merchant)
    if form.period is None:
        return _page(request, staff, "dashboard/analytics.html", form, view="analytics")
    ask = _ask(staff, form.period)
    return _page(
        request,
        staff,
        "dashboard/analytics.html",
        form,
        view="analytics",
        figures=_figures(ask),
        tables=[_built(ask, name) for name in OVERVIEW],
    )


@never_cache
@require_http_methods(["GET"])
@staff_page(*ANALYTICS_ROLES)
def rates(request: HttpRequest, staff: Staff, dimension: str) -> HttpResponse:
    """The return rate by product, variant, category or supplier: the top ones."""
    form = read_period(request.GET, staff.merchant)
    kwargs = {"dimension": dimension}
    if dimension not in DIMENSIONS:
        message = _(
            "There is no breakdown by “%(name)s”: choose product, variant, category or supplier."
        ) % {"name": dimension[:40]}
        form = PeriodForm(
            form.period,
            form.choice,
            form.raw_from,
            form.raw_to,
            {**form.errors, "dimension": message},
        )
    if form.period is None or form.errors:
        return _page(
            request,
            staff,
            "dashboard/analytics_rates.html",
            form,
            view="analytics-rates",
            view_kwargs=kwargs,
            dimension=dimension,
        )
    ask = _ask(staff, form.period)
    return _page(
        request,
        staff,
        "dashboard/analytics_rates.html",
        form,
        view="analytics-rates",
        view_kwargs=kwargs,
        dimension=dimension,
        tables=[_built(ask, f"rates-{dimension}")],
    )


@never_cache
@require_http_methods(["GET"])
@staff_page(*ANALYTICS_ROLES)
def items(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The drill-down: a reason's returned items (with their photos, for the roles that see
    photos; the return's page for the roles that open returns)."""
    form = read_period(request.GET, staff.merchant)
    reason = request.GET.get("reason", "").strip()[:60]
    form = _check_reason(form, staff.merchant, reason)
    if form.period is None or form.errors:
        return _page(
            request,
            staff,
            "dashboard/analytics_items.html",
            form,
            view="analytics-items",
            reason=reason,
            reason_label="",
        )
    ask = _ask(staff, form.period, reason=reason)
    return _page(
        request,
        staff,
        "dashboard/analytics_items.html",
        form,
        view="analytics-items",
        reason=reason,
        reason_label=_reason_labels(ask).get(reason, reason),
        tables=[_built(ask, "items")],
    )


def _check_reason(form: PeriodForm, merchant: Merchant, reason: str) -> PeriodForm:
    if reason and ReturnReason.objects.for_merchant(merchant).filter(code=reason).exists():
        return form
    message = _("Choose a reason from the reasons table.")
    return PeriodForm(
        form.period, form.choice, form.raw_from, form.raw_to, {**form.errors, "reason": message}
    )


@never_cache
@require_http_methods(["GET"])
@staff_page(*ANALYTICS_ROLES)
def table_csv(request: HttpRequest, staff: Staff, table: str) -> HttpResponse:
    """One table of the pages, exactly as shown with the same query string, as CSV."""
    if table not in TABLES:
        raise Http404("no such table")
    form = read_period(request.GET, staff.merchant)
    reason = request.GET.get("reason", "").strip()[:60]
    if table == "items":
        form = _check_reason(form, staff.merchant, reason)
    if form.period is None or form.errors:
        text = " ".join(form.errors.values())
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    ask = _ask(staff, form.period, reason=reason if table == "items" else "")
    built = TABLES[table](ask)
    period = f"{ask.period.start.isoformat()}_{ask.period.end.isoformat()}"
    return csv_response(
        [c.key for c in built.columns],
        ([cell.value for cell in row] for row in built.rows),
        filename=f"{table}-{staff.merchant.slug}-{period}.csv",
    )
