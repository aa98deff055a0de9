"""The return, step by step: items → money → the way back → review and confirm.

Each step reads the draft (``draft``), checks what the shopper sent, shows every error next
to its field, and saves before moving on. The review asks the same services as the API
(``preview_return``, then ``request_return``), so the portal can't promise what the policy
doesn't allow; when the order changed meanwhile, the page says what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.core.files.uploadedfile import UploadedFile
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from awda.catalog.models import Stock, Variant
from awda.core import clock
from awda.core.errors import DomainError
from awda.core.iban import normalise_iban
from awda.merchants.models import Merchant
from awda.orders.models import Order, OrderLine, PaymentMethod
from awda.orders.selectors import order_by_number
from awda.orders.services import ReplacementLine, price_replacement
from awda.portal import access, draft
from awda.portal.draft import Draft, DraftItem
from awda.portal.pages import context, language, store_page
from awda.returns.models import Resolution, ReturnMethod
from awda.returns.photos import store_photo
from awda.returns.selectors import ReasonLabel, ReturnableLine, reason_labels, returnable_lines
from awda.returns.services import ReturnPlan, preview_return, request_return
from awda.shipping.selectors import address_coordinates, nearby_drop_off_points

P = ParamSpec("P")

STEPS = ("items", "resolution", "method", "review")


def url(step: str, merchant: Merchant, number: str) -> str:
    return reverse(f"portal:{step}", kwargs={"store": merchant.slug, "number": number})


def _step_labels() -> list[tuple[str, str]]:
    return [
        ("items", _("Items")),
        ("resolution", _("Refund or exchange")),
        ("method", _("Sending it back")),
        ("review", _("Review")),
    ]


StepView = Callable[Concatenate[HttpRequest, Merchant, Order, P], HttpResponse]


def order_step(view: StepView[P]) -> Callable[..., HttpResponse]:
    """Resolve the store and the order, and require that this session may see the order."""

    @wraps(view)
    @require_http_methods(["GET", "POST"])
    @store_page
    def wrapper(request: HttpRequest, merchant: Merchant, number: str) -> HttpResponse:
        order = order_by_number(merchant=merchant, number=number)
        if order is None or not access.may_see(request, merchant, order.pk):
            return HttpResponseRedirect(reverse("portal:lookup", kwargs={"store": merchant.slug}))
        return view(request, merchant, order)  # type: ignore[call-arg]

    return wrapper


def _page(
    request: HttpRequest,
    merchant: Merchant,
    step: str,
    template: str,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    return render(
        request,
        template,
        context(request, merchant, steps=_step_labels(), step=step, **extra),
        status=status,
    )


# -- items -------------------------------------------------------------------------------------


def _reason_choices(merchant: Merchant, lang: str) -> list[dict[str, Any]]:
    """Top-level reasons, each with its sub-reasons, labelled in the page's language."""
    reasons = reason_labels(merchant=merchant)

    def label(r: ReasonLabel) -> str:
        return (r.label_ar or r.label_en) if lang == "ar" else r.label_en

    groups: list[dict[str, Any]] = []
    by_code: dict[str, dict[str, Any]] = {}
    for r in reasons:
        if r.parent_code is None:
            group = {"code": r.code, "label": label(r), "children": []}
            groups.append(group)
            by_code[r.code] = group
    for r in reasons:
        if r.parent_code is not None and r.parent_code in by_code:
            by_code[r.parent_code]["children"].append({"code": r.code, "label": label(r)})
    return groups


def _reason_parents(groups: list[dict[str, Any]]) -> dict[str, str]:
    """code -> top-level code, for every selectable code."""
    parents: dict[str, str] = {}
    for g in groups:
        if g["children"]:
            for c in g["children"]:
                parents[c["code"]] = g["code"]
        else:
            parents[g["code"]] = g["code"]
    return parents


def _photos_needed(line: ReturnableLine, reason_code: str, parent_code: str) -> bool:
    outcome = line.decision.outcome
    wanted = set(outcome.photos_required_for_reasons)
    return bool(outcome.photos_required) or reason_code in wanted or parent_code in wanted


def _files(request: HttpRequest, name: str) -> list[UploadedFile]:
    return [f for f in request.FILES.getlist(name) if f.size]


@order_step
def items_view(request: HttpRequest, merchant: Merchant, order: Order) -> HttpResponse:
    lang = language()
    current = draft.load(request, merchant, order.number)
    _order, _version, lines = returnable_lines(merchant=merchant, order_number=order.number)
    groups = _reason_choices(merchant, lang)
    parents = _reason_parents(groups)
    chosen = {i.line_ref: i for i in current.items}
    errors: dict[str, str] = {}
    values: dict[str, dict[str, Any]] = {
        ref: {
            "selected": True,
            "quantity": i.quantity,
            "reason": i.sub_reason or i.reason,
            "comment": i.comment,
            "photos": len(i.photo_ids),
        }
        for ref, i in chosen.items()
    }
    if request.method == "POST":
        picked: list[DraftItem] = []
        values = {}
        for line in lines:
            ref = line.line_ref
            if line.returnable_quantity <= 0 or request.POST.get(f"sel-{ref}") != "on":
                continue
            v: dict[str, Any] = {
                "selected": True,
                "quantity": request.POST.get(f"qty-{ref}", "1"),
                "reason": request.POST.get(f"reason-{ref}", ""),
                "comment": request.POST.get(f"comment-{ref}", "").strip()[:1000],
                "photos": len(chosen[ref].photo_ids) if ref in chosen else 0,
            }
            values[ref] = v
            try:
                quantity = int(v["quantity"])
            except ValueError:
                quantity = 0
            if not 1 <= quantity <= line.returnable_quantity:
                errors[f"qty-{ref}"] = _("Choose between 1 and %(n)s.") % {
                    "n": line.returnable_quantity
                }
            reason = v["reason"]
            if reason not in parents:
                errors[f"reason-{ref}"] = _("Choose a reason.")
                continue
            parent = parents[reason]
            photo_ids = list(chosen[ref].photo_ids) if ref in chosen else []
            for upload in _files(request, f"photos-{ref}"):
                try:
                    photo = store_photo(merchant=merchant, order=order, data=upload.read())
                except DomainError as exc:
                    errors[f"photos-{ref}"] = str(exc.message)
                    break
                photo_ids.append(photo.pk)
            v["photos"] = len(photo_ids)
            if (
                f"photos-{ref}" not in errors
                and _photos_needed(line, reason, parent)
                and not photo_ids
            ):
                errors[f"photos-{ref}"] = _("Add at least one photo of the item.")
            picked.append(
                DraftItem(
                    line_ref=ref,
                    quantity=max(quantity, 1),
                    reason=parent,
                    sub_reason=reason if reason != parent else "",
                    comment=v["comment"],
                    photo_ids=photo_ids,
                    exchange_sku=chosen[ref].exchange_sku if ref in chosen else "",
                )
            )
        if not values and not errors:
            errors["selection"] = _("Choose at least one item to return.")
        # Photos already stored are kept in the draft even when another field needs fixing.
        current.items = picked
        draft.save(request, merchant, order.number, current)
        if not errors:
            return HttpResponseRedirect(url("resolution", merchant, order.number))
    rows = [
        {
            "line": line,
            "value": values.get(line.line_ref, {}),
            "explanation": line.explanation.get(lang, []),
            "quantities": list(range(1, line.returnable_quantity + 1)),
        }
        for line in lines
    ]
    return _page(
        request,
        merchant,
        "items",
        "portal/items.html",
        order=order,
        rows=rows,
        reasons=groups,
        errors=errors,
        status=422 if errors else 200,
    )


# -- resolution --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chosen:
    """The draft's lines as the policy sees them now, and what all of them allow."""

    lines: list[ReturnableLine]
    resolutions: list[str]
    methods: list[str]

    def titles(self, lang: str) -> dict[str, str]:
        return {li.line_ref: (li.title_ar if lang == "ar" else li.title_en) for li in self.lines}


def _chosen(merchant: Merchant, order: Order, current: Draft) -> _Chosen:
    _o, _v, every_line = returnable_lines(merchant=merchant, order_number=order.number)
    refs = {i.line_ref for i in current.items}
    lines = [li for li in every_line if li.line_ref in refs]
    return _Chosen(
        lines=lines,
        resolutions=_common([list(li.decision.outcome.resolutions) for li in lines]),
        methods=_common([list(li.decision.outcome.methods) for li in lines]),
    )


def _preview(
    merchant: Merchant, order: Order, current: Draft, *, resolution: str, method: str
) -> ReturnPlan:
    requests = [replace(r, resolution=resolution) for r in current.item_requests()]
    return preview_return(
        merchant=merchant, order_number=order.number, items=requests, method=method
    )


def _common(lists: list[list[str]]) -> list[str]:
    if not lists:
        return []
    first, *rest = lists
    return [x for x in first if all(x in other for other in rest)]


OTHER_PRODUCTS_SHOWN = 12


def _exchange_options(
    merchant: Merchant, order: Order, current: Draft, scopes: Mapping[str, str], lang: str
) -> dict[str, list[dict[str, Any]]]:
    """Per item, the in-stock variants it may become: other sizes or colours of the same
    product, and where the policy's scope is ``any_product``, products of the same category
    (``group`` says which), each with its price difference. Never the variant bought."""
    refs = {i.line_ref for i in current.items}
    lines = list(
        OrderLine.objects.for_merchant(merchant)
        .filter(order=order, line_ref__in=refs)
        .select_related("product")
    )
    products = {li.product_id for li in lines if li.product_id is not None}
    categories = {
        li.product.category_id
        for li in lines
        if li.product is not None
        and li.product.category_id is not None
        and scopes.get(li.line_ref) == "any_product"
    }
    # Units held for other shoppers' exchanges are not on offer.
    in_stock = (
        Stock.objects.for_merchant(merchant).filter(on_hand__gt=F("reserved")).values("variant")
    )
    variants = (
        Variant.objects.for_merchant(merchant)
        .filter(pk__in=in_stock)
        .filter(Q(product_id__in=products) | Q(product__category_id__in=categories))
        .select_related("product")
        .order_by("product_id", "sku")
    )
    by_product: dict[int, list[Variant]] = {}
    by_category: dict[int, list[Variant]] = {}
    for variant in variants:
        by_product.setdefault(variant.product_id, []).append(variant)
        if variant.product.category_id is not None:
            by_category.setdefault(variant.product.category_id, []).append(variant)

    def option(line: OrderLine, v: Variant, group: str) -> dict[str, Any]:
        size = " / ".join(str(x) for x in (v.options or {}).values())
        title = (v.product.title_ar or v.product.title_en) if lang == "ar" else v.product.title_en
        label = size or v.sku if group == "same" else " · ".join(p for p in (title, size) if p)
        return {
            "sku": v.sku,
            "group": group,
            "label": label,
            "difference_minor": v.price_minor - line.unit_price_minor,
        }

    result: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        same = [v for v in by_product.get(line.product_id or 0, []) if v.sku != line.sku]
        others: list[Variant] = []
        if scopes.get(line.line_ref) == "any_product" and line.product is not None:
            category = line.product.category_id or 0
            others = [v for v in by_category.get(category, []) if v.product_id != line.product_id]
        result[line.line_ref] = [option(line, v, "same") for v in same] + [
            option(line, v, "other") for v in others[:OTHER_PRODUCTS_SHOWN]
        ]
    return result


@order_step
def resolution_view(request: HttpRequest, merchant: Merchant, order: Order) -> HttpResponse:
    current = draft.load(request, merchant, order.number)
    if not current.items:
        return HttpResponseRedirect(url("items", merchant, order.number))
    chosen = _chosen(merchant, order, current)
    refs = {i.line_ref for i in current.items}
    allowed = chosen.resolutions
    # Money doesn't depend on the way back before its fee: any allowed one will do here.
    any_method = chosen.methods[0] if chosen.methods else ReturnMethod.LABEL
    cod = order.payment_method == PaymentMethod.CASH_ON_DELIVERY
    scopes = {li.line_ref: li.decision.outcome.exchange_scope for li in chosen.lines}
    exchange_options = (
        _exchange_options(merchant, order, current, scopes, language())
        if "exchange" in allowed
        else {}
    )
    if "exchange" in allowed and not all(exchange_options.get(r) for r in refs):
        allowed = [a for a in allowed if a != "exchange"]  # nothing in stock to swap to
    money: dict[str, Any] = {}
    error = ""
    try:
        for option in (o for o in allowed if o != "exchange"):
            plan = _preview(merchant, order, current, resolution=option, method=any_method)
            money[option] = plan.quote
    except DomainError as exc:
        error = str(exc.message)
    errors: dict[str, str] = {}
    exchange_values: dict[str, str] = {i.line_ref: i.exchange_sku for i in current.items}
    values: dict[str, Any] = {
        "resolution": current.resolution,
        "iban": "",
        "payout_name": current.payout_name,
        "exchange": exchange_values,
    }
    if request.method == "POST":
        choice = request.POST.get("resolution", "")
        values["resolution"] = choice
        if choice not in allowed:
            errors["resolution"] = _("Choose how you want your money back.")
        if choice == Resolution.REFUND and cod:
            iban_raw = request.POST.get("iban", "")
            name = request.POST.get("payout_name", "").strip()[:140]
            values["iban"], values["payout_name"] = iban_raw, name
            try:
                iban = normalise_iban(iban_raw, field="iban")
            except DomainError as exc:
                errors["iban"] = str(exc.message)
                iban = ""
            if not name:
                errors["payout_name"] = _("Enter the account holder's name.")
            if not errors:
                current.set_payout(iban=iban, name=name)
        if choice == Resolution.EXCHANGE:
            for item in current.items:
                sku = request.POST.get(f"exchange-{item.line_ref}", "")
                exchange_values[item.line_ref] = sku
                if sku not in {o["sku"] for o in exchange_options.get(item.line_ref, [])}:
                    errors[f"exchange-{item.line_ref}"] = _(
                        "Choose something in stock to exchange for."
                    )
                item.exchange_sku = sku
        else:
            for item in current.items:
                item.exchange_sku = ""
        if not errors:
            current.resolution = choice
            draft.save(request, merchant, order.number, current)
            return HttpResponseRedirect(url("method", merchant, order.number))
    return _page(
        request,
        merchant,
        "resolution",
        "portal/resolution.html",
        order=order,
        allowed=allowed,
        money=money,
        cod=cod,
        items=current.items,
        titles=chosen.titles(language()),
        exchange_options=exchange_options,
        values=values,
        errors=errors,
        error=error,
        status=422 if errors else 200,
    )


# -- method ------------------------------------------------------------------------------------

PICKUP_SLOTS = ("morning", "afternoon")


def _pickup_dates(today: date) -> list[date]:
    days = [today + timedelta(days=n) for n in range(1, 8)]
    return [d for d in days if d.weekday() != 4][:4]  # no pickups on Fridays


@order_step
def method_view(request: HttpRequest, merchant: Merchant, order: Order) -> HttpResponse:
    current = draft.load(request, merchant, order.number)
    if not current.items or not current.resolution:
        return HttpResponseRedirect(url("items", merchant, order.number))
    allowed = _chosen(merchant, order, current).methods
    fees: dict[str, Any] = {}
    error = ""
    try:
        for m in allowed:
            plan = _preview(merchant, order, current, resolution=current.resolution, method=m)
            fees[m] = plan.quote.shipping_fee
    except DomainError as exc:
        error = str(exc.message)
    dates = _pickup_dates(clock.now().date())
    address = order.shipping_address or {}
    points = (
        nearby_drop_off_points(
            merchant=merchant,
            country=order.shipping_country,
            city=str(address.get("city", "")),
            near=address_coordinates(address),
        )
        if ReturnMethod.QR_DROPOFF in allowed
        else []
    )
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "method": current.method,
        "address": current.pickup.get("address", {}).get("line1", address.get("line1", "")),
        "city": current.pickup.get("address", {}).get("city", address.get("city", "")),
        "date": current.pickup.get("date", ""),
        "slot": current.pickup.get("slot", ""),
    }
    if request.method == "POST":
        choice = request.POST.get("method", "")
        values["method"] = choice
        if choice not in allowed:
            errors["method"] = _("Choose how to send the items back.")
        if choice == ReturnMethod.PICKUP:
            for key in ("address", "city", "date", "slot"):
                values[key] = request.POST.get(key, "").strip()[:200]
            if not values["address"]:
                errors["address"] = _("Enter the pickup address.")
            if not values["city"]:
                errors["city"] = _("Enter the city.")
            if values["date"] not in {d.isoformat() for d in dates}:
                errors["date"] = _("Choose a pickup day.")
            if values["slot"] not in PICKUP_SLOTS:
                errors["slot"] = _("Choose a time.")
        if not errors:
            current.method = choice
            current.pickup = (
                {
                    "address": {
                        "line1": values["address"],
                        "city": values["city"],
                        "country": order.shipping_country,
                    },
                    "date": values["date"],
                    "slot": values["slot"],
                }
                if choice == ReturnMethod.PICKUP
                else {}
            )
            draft.save(request, merchant, order.number, current)
            return HttpResponseRedirect(url("review", merchant, order.number))
    return _page(
        request,
        merchant,
        "method",
        "portal/method.html",
        order=order,
        allowed=allowed,
        fees=fees,
        points=points,
        dates=dates,
        slots=PICKUP_SLOTS,
        values=values,
        errors=errors,
        error=error,
        status=422 if errors else 200,
    )


# -- review and confirm -------------------------------------------------------------------------


@order_step
def review_view(request: HttpRequest, merchant: Merchant, order: Order) -> HttpResponse:
    current = draft.load(request, merchant, order.number)
    if not current.items or not current.resolution or not current.method:
        return HttpResponseRedirect(url("items", merchant, order.number))
    lang = language()
    plan: ReturnPlan | None = None
    problem = ""
    try:
        plan = _preview(
            merchant, order, current, resolution=current.resolution, method=current.method
        )
    except DomainError as exc:
        problem = str(exc.message)
    if request.method == "POST" and plan is not None:
        try:
            ret = request_return(
                merchant=merchant,
                order_number=order.number,
                items=current.item_requests(),
                method=current.method,
                language=lang,
                channel="portal",
                actor="shopper",
                idempotency_key=f"portal:{current.token}",
                payout_iban=current.payout_iban,
                payout_name=current.payout_name,
                pickup=current.pickup,
            )
        except DomainError as exc:
            problem = str(exc.message)
        else:
            draft.clear(request, merchant, order.number)
            target = reverse("portal:return", kwargs={"store": merchant.slug, "number": ret.number})
            return HttpResponseRedirect(f"{target}?new=1")
    titles = _chosen(merchant, order, current).titles(lang)
    return _page(
        request,
        merchant,
        "review",
        "portal/review.html",
        order=order,
        draft=current,
        plan=plan,
        exchange=_exchange_review(order, current, plan, lang) if plan is not None else None,
        titles=titles,
        problem=problem,
        status=409 if problem and request.method == "POST" else 200,
    )


@dataclass(frozen=True)
class _ExchangeReview:
    """What an exchange sends and what the shopper pays or gets back, as it will be issued."""

    replacements: list[tuple[str, int]]  # (the variant's label, units)
    value_minor: int
    difference_minor: int  # > 0 the shopper pays, < 0 the shopper gets it back
    handling: str  # how the difference is settled: DifferenceHandling's values, or "none"


def _exchange_review(
    order: Order, current: Draft, plan: ReturnPlan, lang: str
) -> _ExchangeReview | None:
    """The exchange the review's plan would open, weighed as ``exchanges.open_exchange`` and
    ``_handling`` weigh it: the replacement's price (taxed like the lines it replaces) less
    what the returned items refund after the policy's fees."""
    if current.resolution != Resolution.EXCHANGE:
        return None
    quote = plan.quote
    parts = zip(quote.items, quote.refund_parts, strict=True)
    credit = {item.line_ref: part.minor for item, part in parts}
    replacements: list[tuple[str, int]] = []
    lines: list[ReplacementLine] = []
    outcomes = []
    paid_back = 0
    for item in current.items:
        variant = plan.exchange_variants.get(item.line_ref)
        if variant is None:
            continue
        product = variant.product
        title = (product.title_ar or product.title_en) if lang == "ar" else product.title_en
        size = " / ".join(str(x) for x in (variant.options or {}).values())
        replacements.append((" · ".join(p for p in (title, size) if p), item.quantity))
        lines.append(
            ReplacementLine(
                variant_id=variant.pk,
                quantity=item.quantity,
                unit_price_minor=variant.price_minor,
                replaces_line_id=plan.lines[item.line_ref].id,
            )
        )
        outcomes.append(plan.decisions[item.line_ref].outcome)
        paid_back += credit.get(item.line_ref, 0)
    if not lines:
        return None
    value = price_replacement(original_order_id=order.pk, lines=lines)
    difference = value - paid_back
    # The terms as returns.services._exchange_terms writes them: the merchant-protective
    # rule wins when the items' rules differ.
    if difference > 0:
        handling = (
            "charge_link"
            if any(o.exchange_price_higher == "charge_link" for o in outcomes)
            else "collect_on_delivery"
        )
    elif difference == 0:
        handling = "none"
    elif any(o.exchange_price_lower == "credit_difference" for o in outcomes):
        handling = "store_credit"
    elif order.payment_method == PaymentMethod.CASH_ON_DELIVERY:
        # Nothing to refund a cash payment to: a transfer to the account the shopper gave.
        handling = "bank_transfer" if current.payout_iban else "store_credit"
    else:
        handling = "refund"
    return _ExchangeReview(replacements, value, difference, handling)
