"""The return-policy document: validated, versioned data (DESIGN.md §4).

A policy is defaults plus ordered rules; a rule is conditions (all must hold; a list means
"any of") plus an outcome patch (only the fields it sets override; later rules win). Every
money field is an integer of minor units of the document's ``currency``.

The models are frozen and use tuples, so a parsed document is an immutable value: the engine
can cache its compiled form on it, and the dashboard edits through ``model_copy``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from awda.core import validation
from awda.core.money import Money, known_currencies
from awda.policies.presets import LEGAL_PRESETS, preset_code_for

SCHEMA_VERSION = 1

Resolution = Literal["refund", "store_credit", "exchange"]
ReturnMethod = Literal["label", "qr_dropoff", "pickup", "keep_item"]
ShippingPayer = Literal["merchant", "customer"]
RefundTiming = Literal["immediate", "first_scan", "delivered", "inspected"]
ExchangeScope = Literal["same_product", "any_product", "none"]
# The two directions of an exchange's price difference are different decisions: collecting
# money from the shopper versus giving money back.
HigherPriceHandling = Literal["charge_link", "collect_on_delivery"]
LowerPriceHandling = Literal["refund_difference", "credit_difference"]
GoodsCondition = Literal["unused_with_tags", "unused", "any"]
PaymentMethod = Literal["card", "wallet", "cash_on_delivery", "bank_transfer"]
# What becomes of an item the warehouse rejects: shipped back to the shopper at the store's
# cost, or kept by the store (hygiene goods it won't send out again, say).
RejectedItems = Literal["send_back", "keep"]

SHIPPING_METHODS: frozenset[str] = frozenset({"label", "qr_dropoff", "pickup"})


def _plain_decimal(value: Decimal) -> Decimal:
    # "1E+1" is a valid Decimal but reads badly in YAML and on the dashboard.
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


# Strict ints and bools: YAML and JSON give real numbers and booleans, and lax parsing would
# quietly read `window_days: true` as a one-day window.
Days = Annotated[int, Field(strict=True, ge=0, le=365)]
ExpiryDays = Annotated[int, Field(strict=True, ge=1, le=90)]
# Store credit lasts at least a month (the reminder goes out a week ahead) and at most ten
# years. None of the legal presets sets a minimum for credit, so this floor is ours.
CreditDays = Annotated[int, Field(strict=True, ge=30, le=3650)]
Minor = Annotated[int, Field(strict=True, ge=0)]
Count = Annotated[int, Field(strict=True, ge=0)]
Flag = Annotated[bool, Field(strict=True)]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2), AfterValidator(_plain_decimal)]
Rate = Annotated[Decimal, Field(ge=0, le=1, decimal_places=4), AfterValidator(_plain_decimal)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", max_length=64)]
# No control characters: names are shown to people, and PostgreSQL rejects NUL in text.
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
CountryCode = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z]{2}$")]
CurrencyCode = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z]{3}$")]
# A condition list that is present but empty could never match, which is always a mistake.
AnyOf = Annotated[tuple[Text, ...], Field(min_length=1)]
AnyOfSlugs = Annotated[tuple[Slug, ...], Field(min_length=1)]


def _error(loc: tuple[str | int, ...], message: str, value: object) -> InitErrorDetails:
    return {"type": PydanticCustomError("policy", message), "loc": loc, "input": value}


def _raise_if(errors: list[InitErrorDetails], title: str) -> None:
    # Raising a ValidationError from a validator keeps each error's own field path (pydantic
    # prefixes the parents'), so a cross-field error points at the field to fix.
    if errors:
        raise ValidationError.from_exception_data(title, errors)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Conditions(_Model):
    """When a rule applies: every set field must hold; a list matches any of its items."""

    # Catalog ids and tags are often numbers in a store's export; read them as text.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    product_ids: AnyOf | None = None
    variant_skus: AnyOf | None = None
    categories: AnyOf | None = None
    tags: AnyOf | None = None
    suppliers: AnyOf | None = None
    price_min_minor: Minor | None = None
    price_max_minor: Minor | None = None
    order_value_min_minor: Minor | None = None
    order_value_max_minor: Minor | None = None
    order_tags: AnyOf | None = None
    customer_tags: AnyOf | None = None
    countries: Annotated[tuple[CountryCode, ...], Field(min_length=1)] | None = None
    payment_methods: Annotated[tuple[PaymentMethod, ...], Field(min_length=1)] | None = None
    days_since_delivery_min: Days | None = None
    days_since_delivery_max: Days | None = None
    reasons: AnyOfSlugs | None = None
    customer_returns_count_min: Count | None = None
    customer_return_rate_min: Rate | None = None
    customer_returns_value_min_minor: Minor | None = None
    final_sale: Flag | None = None

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> Conditions:
        errors: list[InitErrorDetails] = []
        for low, high in (
            ("price_min_minor", "price_max_minor"),
            ("order_value_min_minor", "order_value_max_minor"),
            ("days_since_delivery_min", "days_since_delivery_max"),
        ):
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value is not None and high_value is not None and low_value > high_value:
                message = _("must not be below %(field)s (%(value)s)")
                errors.append(
                    _error((high,), message % {"field": low, "value": low_value}, high_value)
                )
        _raise_if(errors, "Conditions")
        return self


def _outcome_problems(values: Mapping[str, Any]) -> list[tuple[str, str, object]]:
    """Cross-field contradictions in a complete set of outcome values: (field, reason, value)."""
    problems: list[tuple[str, str, object]] = []
    methods = values["methods"]
    if values["returnable"]:
        if not values["resolutions"]:
            problems.append(
                ("resolutions", _("a returnable item needs at least one resolution"), ())
            )
        if not SHIPPING_METHODS.intersection(methods):
            problems.append(
                (
                    "methods",
                    _(
                        "a returnable item needs at least one of label, qr_dropoff or pickup "
                        "(keep_item only covers lines under the keep-item threshold)"
                    ),
                    methods,
                )
            )
    if "keep_item" in methods and values["keep_item_threshold_minor"] == 0:
        problems.append(
            ("keep_item_threshold_minor", _("the keep_item method needs a threshold above 0"), 0)
        )
    if values["instant_exchange"] and values["instant_exchange_max_minor"] == 0:
        problems.append(
            (
                "instant_exchange_max_minor",
                _("an instant exchange needs a cap above 0 on the replacement's value"),
                0,
            )
        )
    if "exchange" in values["resolutions"] and values["exchange_scope"] == "none":
        problems.append(
            (
                "exchange_scope",
                _("exchange is an allowed resolution, so the scope can't be 'none'"),
                "none",
            )
        )
    return problems


class Outcome(_Model):
    """The complete set of outcome values: a policy's defaults and a line's result."""

    window_days: Days
    returnable: Flag
    resolutions: tuple[Resolution, ...]
    methods: tuple[ReturnMethod, ...]
    return_shipping_paid_by: ShippingPayer
    refund_timing: RefundTiming
    condition: GoodsCondition
    # Fields below default to "off" so a hand-written policy stays short.
    restocking_fee_percent: Percent = Decimal(0)
    restocking_fee_flat_minor: Minor = 0
    return_shipping_fee_minor: Minor = 0
    waive_shipping_for_reasons: tuple[Slug, ...] = ()
    waive_shipping_for_exchanges: Flag = False
    waive_restocking_for_reasons: tuple[Slug, ...] = ()
    store_credit_bonus_percent: Percent = Decimal(0)
    store_credit_bonus_flat_minor: Minor = 0
    keep_item_threshold_minor: Minor = 0
    photos_required: Flag = False
    photos_required_for_reasons: tuple[Slug, ...] = ()
    manual_review: Flag = False
    exchange_scope: ExchangeScope = "same_product"
    exchange_price_higher: HigherPriceHandling = "charge_link"
    exchange_price_lower: LowerPriceHandling = "refund_difference"
    # Ship the replacement at approval, before the return arrives, for replacements worth up
    # to the cap (a customer whose earlier return arrived missing or wrong, or who has
    # another instant exchange still out, waits for the parcel as everyone else does).
    instant_exchange: Flag = False
    instant_exchange_max_minor: Minor = 0
    unshipped_expiry_days: ExpiryDays = 14

    @model_validator(mode="after")
    def _consistent(self) -> Outcome:
        problems = _outcome_problems(self.__dict__)
        _raise_if([_error((field,), reason, value) for field, reason, value in problems], "Outcome")
        return self


class OutcomePatch(_Model):
    """The outcome fields a rule overrides; unset (None) fields keep the earlier value."""

    window_days: Days | None = None
    returnable: Flag | None = None
    resolutions: tuple[Resolution, ...] | None = None
    methods: tuple[ReturnMethod, ...] | None = None
    return_shipping_paid_by: ShippingPayer | None = None
    refund_timing: RefundTiming | None = None
    condition: GoodsCondition | None = None
    restocking_fee_percent: Percent | None = None
    restocking_fee_flat_minor: Minor | None = None
    return_shipping_fee_minor: Minor | None = None
    waive_shipping_for_reasons: tuple[Slug, ...] | None = None
    waive_shipping_for_exchanges: Flag | None = None
    waive_restocking_for_reasons: tuple[Slug, ...] | None = None
    store_credit_bonus_percent: Percent | None = None
    store_credit_bonus_flat_minor: Minor | None = None
    keep_item_threshold_minor: Minor | None = None
    photos_required: Flag | None = None
    photos_required_for_reasons: tuple[Slug, ...] | None = None
    manual_review: Flag | None = None
    exchange_scope: ExchangeScope | None = None
    exchange_price_higher: HigherPriceHandling | None = None
    exchange_price_lower: LowerPriceHandling | None = None
    instant_exchange: Flag | None = None
    instant_exchange_max_minor: Minor | None = None
    unshipped_expiry_days: ExpiryDays | None = None

    def changes(self) -> dict[str, Any]:
        """The fields this patch sets, by name."""
        return {name: value for name, value in self.__dict__.items() if value is not None}


class Rule(_Model):
    """Conditions plus the outcome fields they override."""

    id: Slug
    name: Text
    name_ar: Text | None = None
    when: Conditions = Field(default_factory=Conditions)
    then: OutcomePatch

    @model_validator(mode="after")
    def _sets_something(self) -> Rule:
        if not self.then.changes():
            _raise_if(
                [_error(("then",), _("a rule must set at least one outcome field"), {})], "Rule"
            )
        return self


class RiskThresholds(_Model):
    """When the staff's pages flag a customer (a serial returner, say) for a second look.
    Flags inform people; they decide nothing on their own (rules use ``Conditions``)."""

    returns_count: Count = 5
    return_rate: Rate = Decimal("0.5")
    # No rate flag before this many units bought: one small order returned is not a pattern.
    min_units_bought: Count = 4
    returns_value_minor: Minor | None = None


class PolicyDocument(_Model):
    """A merchant's return policy: defaults plus ordered rules, schema version 1."""

    schema_version: Literal[1] = 1
    name: Text
    name_ar: Text | None = None
    country: CountryCode | None = None
    currency: CurrencyCode
    # One answer per store, not per line: the warehouse acts on a parcel's rejected items.
    rejected_items: RejectedItems = "send_back"
    # Store credit granted for a return lapses this many days after it is granted; None:
    # never. One term per store, as a return's credit is one grant whatever its lines' rules.
    store_credit_expiry_days: CreditDays | None = None
    risk: RiskThresholds = Field(default_factory=RiskThresholds)
    defaults: Outcome
    rules: Annotated[tuple[Rule, ...], Field(max_length=500)] = ()

    # The engine's precomputed form of this (immutable) document; see rules.compile_policy.
    _compiled: Any = PrivateAttr(default=None)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in known_currencies():
            raise PydanticCustomError(
                "policy", _("unknown ISO 4217 currency %(code)s") % {"code": value}
            )
        return value

    @field_validator("country")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and preset_code_for(value) is None:
            message = _(
                "no legal preset for %(code)s; use one of %(known)s or an EU member state, "
                "or leave it out"
            )
            raise PydanticCustomError(
                "policy", message % {"code": value, "known": ", ".join(LEGAL_PRESETS)}
            )
        return value

    @model_validator(mode="after")
    def _rules_fit_the_defaults(self) -> PolicyDocument:
        errors: list[InitErrorDetails] = []
        seen: dict[str, int] = {}
        base = self.defaults.__dict__
        for index, rule in enumerate(self.rules):
            if rule.id in seen:
                errors.append(
                    _error(
                        ("rules", index, "id"),
                        _("duplicate rule id %(id)s (also rules.%(index)s.id)")
                        % {"id": repr(rule.id), "index": seen[rule.id]},
                        rule.id,
                    )
                )
            seen.setdefault(rule.id, index)
            # Each rule must make sense on top of the defaults; checking every combination
            # of rules would be exponential, and the engine stays safe on the rest.
            changes = rule.then.changes()
            for field, reason, value in _outcome_problems({**base, **changes}):
                if field not in changes:
                    reason = _("%(reason)s (set it in this rule too)") % {"reason": reason}
                errors.append(_error(("rules", index, "then", field), reason, value))
        _raise_if(errors, "PolicyDocument")
        return self

    def to_data(self) -> dict[str, Any]:
        """JSON-ready data (Decimals as strings, unset optional fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)

    def money(self, minor: int) -> Money:
        """An amount of this policy's currency."""
        return Money(minor, self.currency)


@dataclass(frozen=True, slots=True)
class PolicyError:
    """One problem in a policy: a dotted field path and an English reason."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class PolicyInvalid(ValueError):
    """A policy document failed validation; ``errors`` says where and why."""

    def __init__(self, errors: list[PolicyError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


DOCUMENT_FIELD = "(document)"
_MODELS: tuple[type[BaseModel], ...] = (PolicyDocument, Rule, Conditions, Outcome, OutcomePatch)
_KNOWN_FIELDS = sorted({name for model in _MODELS for name in model.model_fields})


def _reason(error: Mapping[str, Any]) -> str:
    """The error in the user's language; what was given is quoted for a plain value."""
    kind, loc, value = error["type"], error["loc"], error["input"]
    if kind == "extra_forbidden":
        if loc and isinstance(loc[-1], str):
            close = difflib.get_close_matches(loc[-1], _KNOWN_FIELDS, n=1)
            if close:
                return _("Unknown field; did you mean %(name)s?") % {"name": repr(close[0])}
        return _("Unknown field.")
    if kind == "policy":
        return str(error["msg"])  # ours, translated when raised
    text = validation.reason(error)
    if kind != "missing" and isinstance(value, str | int | float | Decimal):
        text = _("%(reason)s (got %(value)s)") % {
            "reason": text.rstrip("."),
            "value": f"{value!r:.60}",
        }
    return text


def errors_from_validation(exc: ValidationError) -> list[PolicyError]:
    """Pydantic's errors as PolicyErrors with dotted paths such as ``rules.2.then.window_days``."""
    return [
        PolicyError(".".join(str(part) for part in e["loc"]) or DOCUMENT_FIELD, _reason(e))
        for e in exc.errors(include_url=False)
    ]


def parse_policy(data: Mapping[str, Any]) -> PolicyDocument:
    """Validate plain data into a PolicyDocument, or raise PolicyInvalid listing every error."""
    if not isinstance(data, Mapping):
        raise PolicyInvalid(
            [PolicyError(DOCUMENT_FIELD, _("a policy must be a mapping of fields"))]
        )
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        # A newer document read by an older Awda should say so, not list every field.
        raise PolicyInvalid(
            [
                PolicyError(
                    "schema_version",
                    _("unsupported version %(version)s; expected 1") % {"version": repr(version)},
                )
            ]
        )
    try:
        return PolicyDocument.model_validate(dict(data))
    except ValidationError as exc:
        raise PolicyInvalid(errors_from_validation(exc)) from None


# Sensible per-currency return-shipping fees for the default policy; a merchant sets their
# carrier's real rate. Amounts are in major units.
_DEFAULT_SHIPPING_FEE = {
    "SAR": "15",
    "AED": "15",
    "QAR": "15",
    "KWD": "1.5",
    "BHD": "1.5",
    "OMR": "1.5",
    "JOD": "3",
    "EGP": "50",
}


def default_policy(currency: str = "SAR", country: str | None = "SA") -> PolicyDocument:
    """A generous starting policy: 30 days, refund/credit/exchange, free returns for defects."""
    fee = Money.from_decimal(_DEFAULT_SHIPPING_FEE.get(currency.upper(), "5"), currency.upper())
    return parse_policy(
        {
            "name": "Standard returns",
            "name_ar": "سياسة الإرجاع القياسية",
            "country": country,
            "currency": currency,
            "defaults": {
                "window_days": 30,
                "returnable": True,
                "resolutions": ["refund", "store_credit", "exchange"],
                "methods": ["label", "qr_dropoff", "pickup"],
                "return_shipping_paid_by": "customer",
                "return_shipping_fee_minor": fee.minor,
                "waive_shipping_for_reasons": ["defective", "damaged_in_transit", "wrong_item"],
                "waive_shipping_for_exchanges": True,
                "waive_restocking_for_reasons": ["defective", "damaged_in_transit", "wrong_item"],
                "store_credit_bonus_percent": "10",
                "photos_required_for_reasons": ["defective", "damaged_in_transit"],
                "refund_timing": "delivered",
                "exchange_scope": "any_product",
                "exchange_price_higher": "charge_link",
                "exchange_price_lower": "refund_difference",
                "unshipped_expiry_days": 14,
                "condition": "unused_with_tags",
            },
            "rules": [
                {
                    "id": "final-sale",
                    "name": "Final sale items",
                    "name_ar": "منتجات البيع النهائي",
                    "when": {"tags": ["final-sale"]},
                    "then": {"returnable": False},
                },
                {
                    "id": "underwear",
                    "name": "Underwear",
                    "name_ar": "الملابس الداخلية",
                    "when": {"categories": ["underwear"]},
                    "then": {"returnable": False},
                },
                {
                    "id": "electronics-change-of-mind",
                    "name": "Electronics returned for a change of mind",
                    "name_ar": "الإلكترونيات المُرجعة بسبب تغيير الرأي",
                    "when": {"categories": ["electronics"], "reasons": ["changed_my_mind"]},
                    "then": {"window_days": 14, "restocking_fee_percent": "15"},
                },
            ],
        }
    )
