"""The public face of a return policy: the policy page's answers and the badge's headline.

Both come from the same document the engine evaluates, so the page can't promise what the
engine won't do. Defaults answer each question; a rule that changes an answer is listed under
it by its name ("Electronics returned for a change of mind: 14 days."), since conditions such
as categories and reasons are the merchant's own codes and the rule's name says them best.

Pure: no database and no clock. The caller passes the document, the merchant's country (for
the legal minimum when the document names none) and, optionally, the store's reason labels
in the page's language. The English sentences are gettext message ids in this app's
catalogue; numbers and amounts are formatted by Babel for the same language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from babel.lists import format_list
from babel.numbers import format_decimal, format_percent
from django.utils.translation import gettext, ngettext, override

from awda.policies.document import Outcome, PolicyDocument, Rule
from awda.policies.presets import LegalPreset, legal_minimum_for

LANGUAGES = ("en", "ar")

SectionKey = Literal[
    "window", "condition", "exclusions", "money", "fees", "methods", "timing", "legal"
]

# Which outcome fields each part of the page describes; a rule that sets any of a group's
# fields gets that group's sentences, read from the defaults merged with the rule.
_GROUPS: tuple[tuple[str, SectionKey, frozenset[str]], ...] = (
    ("condition", "condition", frozenset({"condition"})),
    ("photos", "condition", frozenset({"photos_required", "photos_required_for_reasons"})),
    ("resolutions", "money", frozenset({"resolutions"})),
    ("bonus", "money", frozenset({"store_credit_bonus_percent", "store_credit_bonus_flat_minor"})),
    (
        "exchange",
        "money",
        frozenset(
            {
                "exchange_scope",
                "exchange_price_higher",
                "exchange_price_lower",
                "instant_exchange",
                "instant_exchange_max_minor",
            }
        ),
    ),
    (
        "shipping",
        "fees",
        frozenset(
            {
                "return_shipping_paid_by",
                "return_shipping_fee_minor",
                "waive_shipping_for_reasons",
                "waive_shipping_for_exchanges",
            }
        ),
    ),
    (
        "restocking",
        "fees",
        frozenset(
            {
                "restocking_fee_percent",
                "restocking_fee_flat_minor",
                "waive_restocking_for_reasons",
            }
        ),
    ),
    ("methods", "methods", frozenset({"methods"})),
    ("keep_item", "methods", frozenset({"keep_item_threshold_minor"})),
    ("review", "methods", frozenset({"manual_review"})),
    ("expiry", "methods", frozenset({"unshipped_expiry_days"})),
    ("timing", "timing", frozenset({"refund_timing"})),
)


@dataclass(frozen=True, slots=True)
class Section:
    """One question the page answers: a stable key, its heading and its sentences."""

    key: SectionKey
    title: str
    points: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PublicPolicy:
    """The policy page's content in one language; every string is ready to show."""

    language: str
    title: str
    headline: str
    sections: tuple[Section, ...]
    start_return: str

    def section(self, key: SectionKey) -> Section | None:
        """The section with this key, or None when the policy has nothing to say there."""
        return next((s for s in self.sections if s.key == key), None)


def _supported(language: str) -> str:
    primary = language.replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else "en"


@dataclass(frozen=True, slots=True)
class _Page:
    """What every sentence needs: the document, the language, the law and reason labels."""

    document: PolicyDocument
    lang: str
    legal: LegalPreset | None
    reason_labels: Mapping[str, str]

    # -- formatting ---------------------------------------------------------------------------
    def number(self, value: int) -> str:
        return str(format_decimal(value, locale=self.lang))

    def money(self, minor: int) -> str:
        return self.document.money(minor).format(self.lang)

    def amount(self, percent: Decimal, flat_minor: int) -> str:
        parts = []
        if percent:
            parts.append(str(format_percent(percent / 100, format="#,##0.##%", locale=self.lang)))
        if flat_minor:
            parts.append(self.money(flat_minor))
        if len(parts) == 2:
            return gettext("%(percent)s plus %(amount)s") % {
                "percent": parts[0],
                "amount": parts[1],
            }
        return parts[0]

    def any_of(self, items: Sequence[str]) -> str:
        return str(format_list(list(items), style="or", locale=self.lang))

    def all_of(self, items: Sequence[str]) -> str:
        return str(format_list(list(items), locale=self.lang))

    def reasons(self, codes: Iterable[str]) -> str:
        # A code without a label (a reason since deleted) still reads as words.
        labels = [self.reason_labels.get(code) or code.replace("_", " ") for code in codes]
        return self.any_of([gettext("“%(reason)s”") % {"reason": label} for label in labels])

    def rule_name(self, rule: Rule) -> str:
        return rule.name_ar if self.lang == "ar" and rule.name_ar else rule.name

    # -- the window -----------------------------------------------------------------------------
    def window(self, days: int) -> tuple[int, bool]:
        """The window a shopper gets (the law's minimum when longer) and whether it was raised."""
        if self.legal is not None and days < self.legal.window_days:
            return self.legal.window_days, True
        return days, False


def _values(document: PolicyDocument, rule: Rule | None = None) -> dict[str, Any]:
    values = dict(document.defaults.__dict__)
    if rule is not None:
        values.update(rule.then.changes())
    return values


def _is_free_shipping(values: Mapping[str, Any]) -> bool:
    # "customer" with a zero fee is a free return too (as in the engine).
    return bool(
        values["return_shipping_paid_by"] == "merchant" or values["return_shipping_fee_minor"] == 0
    )


def _has_restocking(values: Mapping[str, Any]) -> bool:
    return bool(values["restocking_fee_percent"] or values["restocking_fee_flat_minor"])


def _reopens(rule: Rule) -> bool:
    return rule.then.returnable is True


# -- the headline ----------------------------------------------------------------------------------
def _headline(page: _Page) -> str:
    document = page.document
    defaults: Outcome = document.defaults
    if not defaults.returnable:
        if any(_reopens(rule) for rule in document.rules):
            return gettext("Returns accepted for some items only")
        return gettext("This store doesn't accept returns")
    values = _values(document)
    days, _raised = page.window(defaults.window_days)
    free_shipping = _is_free_shipping(values)
    restocking = _has_restocking(values)
    # Honest first: "free" only when the shopper pays neither shipping nor a restocking fee.
    if days == 0:
        parts = [gettext("Returns on the day of delivery only")]
    elif free_shipping and not restocking:
        parts = [
            ngettext("Free returns within %(days)s day", "Free returns within %(days)s days", days)
            % {"days": page.number(days)}
        ]
    else:
        parts = [
            ngettext("Returns within %(days)s day", "Returns within %(days)s days", days)
            % {"days": page.number(days)}
        ]
    if not free_shipping:
        exchanges_free = defaults.waive_shipping_for_exchanges and "exchange" in (
            defaults.resolutions
        )
        if exchanges_free and not restocking:
            parts.append(gettext("free exchanges"))
        else:
            parts.append(
                gettext("return shipping %(fee)s")
                % {"fee": page.money(defaults.return_shipping_fee_minor)}
            )
    if restocking:
        parts.append(
            gettext("%(fee)s restocking fee")
            % {
                "fee": page.amount(
                    defaults.restocking_fee_percent, defaults.restocking_fee_flat_minor
                )
            }
        )
    if len(parts) < 3 and "refund" in defaults.resolutions:
        if defaults.refund_timing == "immediate":
            parts.append(gettext("instant refund"))
        elif defaults.refund_timing == "first_scan":
            parts.append(gettext("refund as soon as you send it"))
    return " · ".join(parts)


# -- the groups of outcome fields ------------------------------------------------------------------
# Each returns full sentences for a set of outcome values. ``rule`` is the rule being described
# (None for the defaults): a rule also states the "off" answers it sets, which the defaults
# leave unsaid ("no restocking fee" is only news when somewhere there is one).


def _condition(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    condition = v["condition"]
    if condition == "unused_with_tags":
        return [
            gettext("Items must be unused and in their original condition, with tags attached.")
        ]
    if condition == "unused":
        return [gettext("Items must be unused and in their original condition.")]
    return [gettext("Items can be returned in any condition.")]


def _photos(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    if v["photos_required"]:
        return [gettext("Photos of the item are needed with every return request.")]
    reasons = _reasons_for(rule, v["photos_required_for_reasons"])
    if reasons:
        return [
            gettext("Photos of the item are needed when the reason is %(reasons)s.")
            % {"reasons": page.reasons(reasons)}
        ]
    return [gettext("No photos are needed.")] if rule is not None else []


def _resolution_name(resolution: str) -> str:
    if resolution == "refund":
        return gettext("a refund")
    if resolution == "store_credit":
        return gettext("store credit")
    return gettext("an exchange")


def _resolutions(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    resolutions = v["resolutions"]
    if not resolutions:
        return []
    points = [
        gettext("You can choose %(options)s.")
        % {"options": page.any_of([_resolution_name(r) for r in resolutions])}
    ]
    if "refund" in resolutions and rule is None:
        points.append(
            gettext(
                "Refunds go back to your original payment method; orders paid cash on delivery "
                "are refunded by bank transfer to the IBAN you give us."
            )
        )
    return points


def _bonus(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    if "store_credit" not in v["resolutions"]:
        return []
    percent, flat = v["store_credit_bonus_percent"], v["store_credit_bonus_flat_minor"]
    if percent or flat:
        return [
            gettext("Choose store credit and get an extra %(bonus)s.")
            % {"bonus": page.amount(percent, flat)}
        ]
    return [gettext("Store credit comes without a bonus.")] if rule is not None else []


def _credit_expiry(page: _Page, described: Sequence[Rule]) -> list[str]:
    # A term of the whole store, not of a rule: said once, where store credit is offered.
    document, days = page.document, page.document.store_credit_expiry_days
    offered = [_values(document)] if document.defaults.returnable else []
    offered += [_values(document, r) for r in described]
    if days is None or not any("store_credit" in v["resolutions"] for v in offered):
        return []
    return [
        ngettext(
            "Store credit from a return can be spent for %(days)s day after it is issued.",
            "Store credit from a return can be spent for %(days)s days after it is issued.",
            days,
        )
        % {"days": page.number(days)}
    ]


def _exchange(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    if "exchange" not in v["resolutions"]:
        return []
    if v["exchange_scope"] == "same_product":
        points = [gettext("Exchanges are for another size or colour of the same product.")]
    else:
        points = [gettext("You can exchange for any product in the store.")]
    if v["exchange_price_higher"] == "charge_link":
        points.append(
            gettext("If the new item costs more, you pay the difference through a payment link.")
        )
    else:
        points.append(gettext("If the new item costs more, you pay the difference on delivery."))
    if v["exchange_price_lower"] == "refund_difference":
        points.append(gettext("If it costs less, we refund the difference."))
    else:
        points.append(gettext("If it costs less, you get the difference as store credit."))
    if v["instant_exchange"] and v["instant_exchange_max_minor"]:
        points.append(
            gettext(
                "Replacements worth up to %(amount)s ship as soon as your exchange is approved, "
                "before your return reaches us; if it never arrives, you pay for the items."
            )
            % {"amount": page.money(v["instant_exchange_max_minor"])}
        )
    return points


def _reasons_for(rule: Rule | None, reasons: Sequence[str]) -> list[str]:
    # Under a rule that only applies for some reasons, the other reasons never happen.
    if rule is not None and rule.when.reasons is not None:
        return [r for r in reasons if r in rule.when.reasons]
    return list(reasons)


def _shipping(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    if _is_free_shipping(v):
        return [gettext("Return shipping is free.")]
    fee = {"fee": page.money(v["return_shipping_fee_minor"])}
    if v["waive_shipping_for_exchanges"] and "exchange" in v["resolutions"]:
        points = [
            gettext(
                "Return shipping costs %(fee)s, deducted from your refund; it's free if you "
                "choose an exchange."
            )
            % fee
        ]
    else:
        points = [gettext("Return shipping costs %(fee)s, deducted from your refund.") % fee]
    reasons = _reasons_for(rule, v["waive_shipping_for_reasons"])
    if reasons:
        points.append(
            gettext("Return shipping is free when the reason is %(reasons)s.")
            % {"reasons": page.reasons(reasons)}
        )
    return points


def _restocking(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    if not _has_restocking(v):
        # The defaults say "no fee" only when no rule charges one either.
        charged = any(_has_restocking(_values(page.document, r)) for r in page.document.rules)
        return [gettext("There is no restocking fee.")] if rule is not None or not charged else []
    points = [
        gettext("A restocking fee of %(fee)s will be deducted from your refund.")
        % {"fee": page.amount(v["restocking_fee_percent"], v["restocking_fee_flat_minor"])}
    ]
    reasons = _reasons_for(rule, v["waive_restocking_for_reasons"])
    if reasons:
        points.append(
            gettext("There is no restocking fee when the reason is %(reasons)s.")
            % {"reasons": page.reasons(reasons)}
        )
    return points


def _method_name(method: str) -> str:
    if method == "label":
        return gettext("a printed return label")
    if method == "qr_dropoff":
        return gettext("a QR code at a drop-off point")
    return gettext("a courier pickup from your address")


def _methods(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    shipping = [m for m in v["methods"] if m != "keep_item"]
    if not shipping:
        return []
    return [
        gettext("You can send the item back with %(options)s.")
        % {"options": page.any_of([_method_name(m) for m in shipping])}
    ]


def _keep_item(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    threshold = v["keep_item_threshold_minor"]
    if "keep_item" in v["methods"] and threshold:
        return [
            gettext("Items priced under %(amount)s are refunded without being sent back.")
            % {"amount": page.money(threshold)}
        ]
    return []


def _review(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    if v["manual_review"]:
        return [gettext("Our team reviews every return before approving it.")]
    return [gettext("Returns are approved without a manual review.")] if rule is not None else []


def _expiry(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    days = v["unshipped_expiry_days"]
    return [
        ngettext(
            "Once your return is approved, send it within %(days)s day or it expires.",
            "Once your return is approved, send it within %(days)s days or it expires.",
            days,
        )
        % {"days": page.number(days)}
    ]


def _timing(page: _Page, v: Mapping[str, Any], rule: Rule | None) -> list[str]:
    timing = v["refund_timing"]
    if timing == "immediate":
        return [gettext("Your refund is issued as soon as your return is approved.")]
    if timing == "first_scan":
        return [gettext("Your refund is issued as soon as the carrier scans your parcel.")]
    if timing == "delivered":
        return [gettext("Your refund is issued when your parcel reaches our warehouse.")]
    return [gettext("Your refund is issued after we inspect the returned item.")]


_DESCRIBE = {
    "condition": _condition,
    "photos": _photos,
    "resolutions": _resolutions,
    "bonus": _bonus,
    "exchange": _exchange,
    "shipping": _shipping,
    "restocking": _restocking,
    "methods": _methods,
    "keep_item": _keep_item,
    "review": _review,
    "expiry": _expiry,
    "timing": _timing,
}


# -- the sections --------------------------------------------------------------------------------
def _window_points(page: _Page) -> list[str]:
    document = page.document
    points = []
    if document.defaults.returnable:
        days, _raised = page.window(document.defaults.window_days)
        if days == 0:
            points.append(gettext("You can ask for a return on the day of delivery only."))
        else:
            points.append(
                ngettext(
                    "You have %(days)s day from delivery to ask for a return.",
                    "You have %(days)s days from delivery to ask for a return.",
                    days,
                )
                % {"days": page.number(days)}
            )
        points.append(
            gettext("Until your order is delivered, the days are counted from the order date.")
        )
    for rule in document.rules:
        if rule.then.window_days is None or not _values(document, rule)["returnable"]:
            continue
        days, _raised = page.window(rule.then.window_days)
        points.append(
            ngettext("%(rule)s: %(days)s day.", "%(rule)s: %(days)s days.", days)
            % {"rule": page.rule_name(rule), "days": page.number(days)}
        )
    return points


def _exclusion_points(page: _Page) -> list[str]:
    document = page.document
    points = []
    if not document.defaults.returnable:
        points.append(gettext("Items can't be returned, except as listed below."))
    points.append(gettext("Items sold as final sale or marked as not returnable."))
    for rule in document.rules:
        if rule.then.returnable is False:
            points.append(page.rule_name(rule))
    for rule in document.rules:
        if _reopens(rule):
            points.append(gettext("%(rule)s can be returned.") % {"rule": page.rule_name(rule)})
    return points


def _legal_points(page: _Page, raised: bool) -> list[str]:
    legal = page.legal
    if legal is None:
        return []
    law = legal.label_ar if page.lang == "ar" else legal.label_en
    values = {"law": law, "days": page.number(legal.window_days)}
    if legal.requires_unused:
        first = ngettext(
            "By law (%(law)s), you have at least %(days)s day to return unused goods bought "
            "online.",
            "By law (%(law)s), you have at least %(days)s days to return unused goods bought "
            "online.",
            legal.window_days,
        )
    else:
        first = ngettext(
            "By law (%(law)s), you have at least %(days)s day to return goods bought online.",
            "By law (%(law)s), you have at least %(days)s days to return goods bought online.",
            legal.window_days,
        )
    points = [first % values]
    if raised:
        points.append(gettext("The periods above already include this legal minimum."))
    if legal.refund_within_days:
        points.append(
            ngettext(
                "The law also requires your refund within %(days)s day.",
                "The law also requires your refund within %(days)s days.",
                legal.refund_within_days,
            )
            % {"days": page.number(legal.refund_within_days)}
        )
    if legal.exceptions:
        points.append(
            gettext("The law allows stores to refuse returns of %(goods)s.")
            % {"goods": page.all_of([_exempt_goods(code) for code in legal.exceptions])}
        )
    return points


def _exempt_goods(code: str) -> str:
    names = {
        "custom_made": gettext("custom-made items"),
        "perishable": gettext("perishable goods"),
        "opened_media_or_software": gettext("opened media and software"),
        "opened_personal_hygiene": gettext("opened hygiene products"),
        "services_rendered": gettext("services already provided"),
    }
    return names.get(code, code.replace("_", " "))


def _section_titles() -> dict[SectionKey, str]:
    return {
        "window": gettext("How long you have"),
        "exclusions": gettext("What can't be returned"),
        "condition": gettext("What condition items must be in"),
        "money": gettext("How you get your money back"),
        "fees": gettext("Fees"),
        "methods": gettext("How to send it back"),
        "timing": gettext("When you get your refund"),
        "legal": gettext("Your legal rights"),
    }


def _sections(page: _Page) -> tuple[Section, ...]:
    document = page.document
    points: dict[SectionKey, list[str]] = {key: [] for key in _section_titles()}
    points["window"] = _window_points(page)
    points["exclusions"] = _exclusion_points(page)
    defaults = _values(document)
    # Returnable rules only: a rule that closes a line has nothing else to say to a shopper.
    described = [r for r in document.rules if _values(document, r)["returnable"]]
    for group, key, fields in _GROUPS:
        describe = _DESCRIBE[group]
        if defaults["returnable"]:
            points[key].extend(describe(page, defaults, None))
        for rule in described:
            if fields.isdisjoint(rule.then.changes()):
                continue
            name = page.rule_name(rule)
            points[key].extend(
                gettext("%(rule)s: %(terms)s") % {"rule": name, "terms": sentence}
                for sentence in describe(page, _values(document, rule), rule)
            )
    points["money"].extend(_credit_expiry(page, described))
    windows = [document.defaults.window_days] + [
        r.then.window_days for r in described if r.then.window_days is not None
    ]
    points["legal"] = _legal_points(page, any(page.window(days)[1] for days in windows))
    titles = _section_titles()
    return tuple(
        Section(key=key, title=titles[key], points=tuple(found))
        for key, found in points.items()
        if found
    )


# -- entry points ---------------------------------------------------------------------------------
def _page(
    document: PolicyDocument,
    lang: str,
    country: str | None,
    reason_labels: Mapping[str, str] | None,
) -> _Page:
    # The document's own country picks the law it was written for; the merchant's country
    # stands in when it names none.
    return _Page(
        document=document,
        lang=lang,
        legal=legal_minimum_for(document.country or country),
        reason_labels=reason_labels or {},
    )


def headline(document: PolicyDocument, *, language: str, country: str | None = None) -> str:
    """The policy in one line ("Free returns within 30 days"), for the page and the badge."""
    lang = _supported(language)
    with override(lang):
        return _headline(_page(document, lang, country, None))


def public_policy(
    document: PolicyDocument,
    *,
    language: str,
    country: str | None = None,
    reason_labels: Mapping[str, str] | None = None,
) -> PublicPolicy:
    """The public policy page's content in ``language`` ("en" or "ar"; others get "en").

    ``reason_labels`` maps the store's reason codes to their labels in that language; amounts
    are in the document's currency, which is what its minor-unit fields are counted in.
    """
    lang = _supported(language)
    with override(lang):
        page = _page(document, lang, country, reason_labels)
        return PublicPolicy(
            language=lang,
            title=gettext("Return policy"),
            headline=_headline(page),
            sections=_sections(page),
            start_return=gettext("Start a return"),
        )
