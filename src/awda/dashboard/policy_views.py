"""The owner's policy editor: quick settings over the policy's most changed defaults, the
whole document as YAML, a preview of the public page for unsaved values, and "try this
policy" on one of the store's orders.

Two forms rather than one so they can't fight: "quick settings" changes a few fields of the
saved document, "advanced" replaces the whole document; both save a new version through
``replace_policy_by_staff``. Preview and try evaluate the edited values and save nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from awda.core import clock
from awda.core.errors import InvalidInput, NotFound
from awda.dashboard.access import OWNER_ROLES, Staff, staff_page
from awda.dashboard.pages import context, language
from awda.dashboard.support_views import enum_labels, parse_amount
from awda.orders.selectors import get_order_lines
from awda.policies.document import (
    DOCUMENT_FIELD,
    PolicyDocument,
    PolicyError,
    PolicyInvalid,
    default_policy,
    parse_policy,
)
from awda.policies.explain import explain
from awda.policies.models import ReturnPolicy
from awda.policies.public import PublicPolicy, public_policy
from awda.policies.rules import CompiledPolicy, LineDecision, evaluate_order
from awda.policies.selectors import active_compiled_policy, facts_for_order
from awda.policies.services import replace_policy_by_staff
from awda.policies.yaml_io import dump_policy_yaml, load_policy_yaml
from awda.returns.selectors import reason_labels

MAX_YAML = 200_000
MAX_ORDER_NUMBER = 64
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

# The quick settings: each form field is named by its path in the document, so the
# document's own errors land next to the field they are about.
WINDOW = "defaults.window_days"
PAYER = "defaults.return_shipping_paid_by"
SHIPPING_FEE = "defaults.return_shipping_fee_minor"
RESTOCKING = "defaults.restocking_fee_percent"
METHODS = "defaults.methods"
RESOLUTIONS = "defaults.resolutions"
BONUS = "defaults.store_credit_bonus_percent"
TIMING = "defaults.refund_timing"
CREDIT_EXPIRY = "store_credit_expiry_days"
REJECTED = "rejected_items"
QUICK_FIELDS = (
    WINDOW,
    PAYER,
    SHIPPING_FEE,
    RESTOCKING,
    METHODS,
    RESOLUTIONS,
    BONUS,
    TIMING,
    CREDIT_EXPIRY,
    REJECTED,
)
YAML_FIELD = "document"
# The template's names for the quick fields.
FIELD_NAMES = {
    "window": WINDOW,
    "payer": PAYER,
    "shipping_fee": SHIPPING_FEE,
    "restocking": RESTOCKING,
    "methods": METHODS,
    "resolutions": RESOLUTIONS,
    "bonus": BONUS,
    "timing": TIMING,
    "credit_expiry": CREDIT_EXPIRY,
    "rejected": REJECTED,
}


def _choices() -> dict[str, list[tuple[str, str]]]:
    labels = enum_labels()
    return {
        PAYER: [("customer", _("The customer")), ("merchant", _("The store"))],
        METHODS: list(labels["method"].items()),
        RESOLUTIONS: list(labels["resolution"].items()),
        TIMING: [
            ("immediate", _("As soon as the return is approved")),
            ("first_scan", _("When the carrier scans the parcel")),
            ("delivered", _("When the parcel reaches the warehouse")),
            ("inspected", _("After the item is inspected")),
        ],
        REJECTED: [
            ("send_back", _("Send them back to the shopper")),
            ("keep", _("Keep them at the store")),
        ],
    }


# -- reading the forms ------------------------------------------------------------------------


class FormInvalid(Exception):
    """Input refused before it became a document: {field: message}."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(errors)


def _whole_number(raw: str, field: str, low: int, high: int, errors: dict[str, str]) -> int:
    text = raw.strip().translate(_DIGITS)
    if not text.isdecimal() or not low <= int(text) <= high:
        errors[field] = _("Enter a whole number from %(low)s to %(high)s.") % {
            "low": low,
            "high": high,
        }
        return 0
    return int(text)


def _percent(raw: str, field: str, errors: dict[str, str]) -> str:
    text = raw.strip().translate(_DIGITS).replace("٫", ".").rstrip("%").strip() or "0"
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100 or len(text.partition(".")[2]) > 2:
        errors[field] = _("Enter a percentage from 0 to 100, with at most 2 decimal places.")
    return text


def _quick_document(current: PolicyDocument, post: QueryDict) -> PolicyDocument:
    """The saved document with the quick settings' values in place, or FormInvalid /
    PolicyInvalid."""
    errors: dict[str, str] = {}
    choices = _choices()
    defaults: dict[str, Any] = {}
    defaults["window_days"] = _whole_number(post.get(WINDOW, ""), WINDOW, 0, 365, errors)
    for field, key in ((PAYER, "return_shipping_paid_by"), (TIMING, "refund_timing")):
        value = post.get(field, "")
        if value not in dict(choices[field]):
            errors[field] = _("Choose one of the options.")
        defaults[key] = value
    try:
        fee = parse_amount(post.get(SHIPPING_FEE, "") or "0", current.currency, allow_zero=True)
        defaults["return_shipping_fee_minor"] = fee.minor
    except InvalidInput as error:
        errors[SHIPPING_FEE] = str(error.message)
    defaults["restocking_fee_percent"] = _percent(post.get(RESTOCKING, ""), RESTOCKING, errors)
    defaults["store_credit_bonus_percent"] = _percent(post.get(BONUS, ""), BONUS, errors)
    for field, key in ((METHODS, "methods"), (RESOLUTIONS, "resolutions")):
        known = dict(choices[field])
        picked = [v for v in post.getlist(field) if v in known]
        defaults[key] = [v for v in known if v in picked]  # the options' order, once each
    expiry_raw = post.get(CREDIT_EXPIRY, "").strip()
    expiry = _whole_number(expiry_raw, CREDIT_EXPIRY, 30, 3650, errors) if expiry_raw else None
    rejected = post.get(REJECTED, "")
    if rejected not in dict(choices[REJECTED]):
        errors[REJECTED] = _("Choose one of the options.")
    if errors:
        raise FormInvalid(errors)
    data = current.to_data()
    data["defaults"] = {**data["defaults"], **defaults}
    data["rejected_items"] = rejected
    data.pop("store_credit_expiry_days", None)
    if expiry is not None:
        data["store_credit_expiry_days"] = expiry
    return parse_policy(data)


def _yaml_document(post: QueryDict) -> PolicyDocument:
    text = post.get(YAML_FIELD, "")
    if len(text) > MAX_YAML:
        raise FormInvalid({YAML_FIELD: _("The document is too long.")})
    if not text.strip():
        raise FormInvalid({YAML_FIELD: _("Paste or write the whole policy as YAML.")})
    return load_policy_yaml(text)


def _edited(current: PolicyDocument, post: QueryDict) -> tuple[str, PolicyDocument]:
    """Which form was sent and the document it describes (raises FormInvalid or
    PolicyInvalid)."""
    form = post.get("form", "")
    if form == "yaml":
        return form, _yaml_document(post)
    return "quick", _quick_document(current, post)


def _policy_errors(form: str, invalid: PolicyInvalid) -> dict[str, str]:
    """The document's errors by form field; the YAML form lists every error with its path,
    the quick form shows its own fields' next to them and the others at the top."""
    errors: dict[str, str] = {}
    others: list[PolicyError] = []
    for error in invalid.errors:
        if form == "quick" and error.field in QUICK_FIELDS and error.field not in errors:
            errors[error.field] = error.reason
        else:
            others.append(error)
    if others:
        lines = [
            e.reason if e.field == DOCUMENT_FIELD else f"{e.field}: {e.reason}" for e in others
        ]
        errors[YAML_FIELD if form == "yaml" else "form"] = "\n".join(lines)
    return errors


# -- what the page shows ------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    version: int | None
    saved_at: datetime | None
    saved_by: str
    document: PolicyDocument


@dataclass(frozen=True)
class TriedLine:
    title: str
    sku: str
    decision: LineDecision
    sentences: list[str]


@dataclass(frozen=True)
class Tried:
    number: str
    currency: str
    lines: list[TriedLine]
    edited: bool  # the edited (unsaved) values rather than the saved policy


def _saved(staff: Staff) -> Saved:
    row = (
        ReturnPolicy.objects.for_merchant(staff.merchant)
        .filter(is_active=True)
        .select_related("created_by")
        .first()
    )
    if row is None:
        # A store without a policy starts from the default one; its first save is version 1.
        merchant = staff.merchant
        return Saved(None, None, "", default_policy(merchant.currency, merchant.country or None))
    by = row.created_by.get_username() if row.created_by else ""
    return Saved(row.version, row.created_at, by, parse_policy(row.document))


def _preview(staff: Staff, document: PolicyDocument) -> PublicPolicy:
    lang = language()
    labels = {
        r.code: (r.label_ar if lang == "ar" and r.label_ar else r.label_en)
        for r in reason_labels(merchant=staff.merchant)
    }
    return public_policy(
        document, language=lang, country=staff.merchant.country, reason_labels=labels
    )


def _try(staff: Staff, number: str, document: PolicyDocument | None) -> Tried | None:
    """Each line of the store's order under ``document`` (None: the saved policy), or None
    when the store has no such order (another store's orders are not looked at)."""
    try:
        order, lines = get_order_lines(merchant=staff.merchant, number=number)
    except NotFound:
        return None
    policy: PolicyDocument | CompiledPolicy = (
        document if document is not None else active_compiled_policy(merchant=staff.merchant)[1]
    )
    order_facts, line_facts = facts_for_order(order, lines)
    decisions = evaluate_order(
        policy, order_facts, [line_facts[li.id] for li in lines], now=clock.now()
    )
    lang = language()
    return Tried(
        number=order.number,
        currency=order.currency,
        lines=[
            TriedLine(
                title=(li.title_ar if lang == "ar" and li.title_ar else li.title_en),
                sku=li.sku,
                decision=d,
                sentences=explain(d, lang),
            )
            for li, d in zip(lines, decisions, strict=True)
        ],
        edited=document is not None,
    )


def _order_number(raw: str) -> str:
    return raw.strip().translate(_DIGITS).lstrip("#")[:MAX_ORDER_NUMBER]


def _page(
    request: HttpRequest,
    staff: Staff,
    *,
    saved: Saved | None = None,
    form: str = "",
    errors: dict[str, str] | None = None,
    values: QueryDict | None = None,
    preview: PublicPolicy | None = None,
    tried: Tried | None = None,
    status: int = 200,
) -> HttpResponse:
    saved = saved or _saved(staff)
    number = _order_number((values or request.GET).get("order", ""))
    if tried is None and number and status == 200 and preview is None and saved.version:
        tried = _try(staff, number, None)
    defaults = saved.document.defaults
    quick: dict[str, Any] = {
        WINDOW: defaults.window_days,
        PAYER: defaults.return_shipping_paid_by,
        SHIPPING_FEE: saved.document.money(defaults.return_shipping_fee_minor).to_decimal(),
        RESTOCKING: defaults.restocking_fee_percent,
        METHODS: list(defaults.methods),
        RESOLUTIONS: list(defaults.resolutions),
        BONUS: defaults.store_credit_bonus_percent,
        TIMING: defaults.refund_timing,
        CREDIT_EXPIRY: saved.document.store_credit_expiry_days or "",
        REJECTED: saved.document.rejected_items,
    }
    yaml_text = dump_policy_yaml(saved.document)
    if values is not None and form == "quick":
        quick = {f: values.getlist(f) if f in (METHODS, RESOLUTIONS) else values.get(f, "")
                 for f in QUICK_FIELDS}  # fmt: skip
    if values is not None and form == "yaml":
        yaml_text = values.get(YAML_FIELD, "")[:MAX_YAML]
    just_saved = request.GET.get("saved", "") if status == 200 and values is None else ""
    return render(
        request,
        "dashboard/policy.html",
        context(
            request,
            staff,
            saved=saved,
            just_saved=just_saved,
            form=form,
            errors=errors or {},
            quick=quick,
            yaml_text=yaml_text,
            choices=_choices(),
            f=FIELD_NAMES,
            order_number=number,
            order_missing=bool(number) and tried is None and status == 200,
            preview=preview,
            tried=tried,
            labels=enum_labels(),
        ),
        status=status,
    )


# -- the views --------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@staff_page(*OWNER_ROLES)
def editor(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The editor; a POST saves one form's values as a new version (or shows why not)."""
    if request.method != "POST":
        return _page(request, staff)
    saved = _saved(staff)
    try:
        form, document = _edited(saved.document, request.POST)
        policy = replace_policy_by_staff(
            merchant=staff.merchant,
            document=document,
            user=staff.user,
            role=staff.role,
            source=form,
        )
    except FormInvalid as invalid:
        form = "yaml" if request.POST.get("form") == "yaml" else "quick"
        return _page(request, staff, saved=saved, form=form, errors=invalid.errors,
                     values=request.POST, status=422)  # fmt: skip
    except PolicyInvalid as invalid:
        form = "yaml" if request.POST.get("form") == "yaml" else "quick"
        return _page(request, staff, saved=saved, form=form,
                     errors=_policy_errors(form, invalid), values=request.POST,
                     status=422)  # fmt: skip
    url = reverse("dashboard:policy", kwargs={"store": staff.merchant.slug})
    return HttpResponseRedirect(f"{url}?saved={policy.version}")


@never_cache
@require_POST
@staff_page(*OWNER_ROLES)
def preview(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The public page (and the chosen order's lines) for the edited values; nothing saved.

    From htmx the panel alone, always 200 so htmx swaps it in, errors included; without
    script the whole page, 422 on bad input."""
    partial = request.headers.get("HX-Request") == "true"
    saved = _saved(staff)
    form = "yaml" if request.POST.get("form") == "yaml" else "quick"
    try:
        form, document = _edited(saved.document, request.POST)
    except FormInvalid as invalid:
        errors = invalid.errors
    except PolicyInvalid as invalid:
        errors = _policy_errors(form, invalid)
    else:
        errors = {}
    number = _order_number(request.POST.get("order", ""))
    if errors:
        if partial:
            return render(request, "dashboard/policy_preview.html",
                          context(request, staff, preview_errors=errors, preview=None))  # fmt: skip
        return _page(request, staff, saved=saved, form=form, errors=errors,
                     values=request.POST, status=422)  # fmt: skip
    shown = _preview(staff, document)
    tried = _try(staff, number, document) if number else None
    if partial:
        return render(
            request,
            "dashboard/policy_preview.html",
            context(request, staff, preview=shown, tried=tried,
                    order_number=number, order_missing=bool(number) and tried is None,
                    labels=enum_labels()),
        )  # fmt: skip
    return _page(request, staff, saved=saved, form=form, values=request.POST,
                 preview=shown, tried=tried)  # fmt: skip
