"""A line decision's explanations as sentences in the shopper's language (English or Arabic).

The English sentences are the gettext message ids; the Arabic lives in this app's
``locale/ar/LC_MESSAGES/django.po`` (compile it with ``pybabel compile -d
src/awda/policies/locale -D django``). Dates and amounts are formatted by Babel for the same
language, so an Arabic sentence gets Arabic month names and currency. Renderers receive a
supported language code ("en" or "ar").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel.dates import format_date
from babel.numbers import format_percent
from django.utils.translation import gettext, ngettext, override

from awda.core.money import Money
from awda.policies.rules import Explanation, LineDecision

LANGUAGES = ("en", "ar")


def _supported(lang: str) -> str:
    # "ar-sa" and "ar_SA" are Arabic; an unsupported language gets English throughout, not
    # English sentences with (say) French month names from Babel.
    primary = lang.replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else "en"


def _date(moment: object, lang: str) -> str:
    assert isinstance(moment, datetime)
    # Day and month only: a return window never spans far enough for the year to matter.
    return str(format_date(moment.date(), format="d MMMM", locale=lang))


def _amount(percent: object, flat: object, lang: str) -> str:
    assert isinstance(percent, Decimal)
    assert isinstance(flat, Money)
    locale = lang
    parts = []
    if percent:
        parts.append(str(format_percent(percent / 100, format="#,##0.##%", locale=locale)))
    if flat.minor:
        parts.append(flat.format(locale))
    if len(parts) == 2:
        return gettext("%(percent)s plus %(amount)s") % {"percent": parts[0], "amount": parts[1]}
    return parts[0]


def _rule_name(params: Mapping[str, object], lang: str) -> str:
    name_ar = params.get("name_ar")
    if lang == "ar" and name_ar:
        return str(name_ar)
    return str(params["name"])


def _window_open(p: Mapping[str, Any], lang: str) -> str:
    deadline = _date(p["deadline"], lang)
    if p["counted_from"] == "order":
        return gettext(
            "Returnable until %(deadline)s (counted from the order date, as the order hasn't "
            "been delivered yet)."
        ) % {"deadline": deadline}
    return gettext("Returnable until %(deadline)s.") % {"deadline": deadline}


def _window_expired(p: Mapping[str, Any], lang: str) -> str:
    return gettext("The return window closed on %(deadline)s.") % {
        "deadline": _date(p["deadline"], lang)
    }


def _final_sale(p: Mapping[str, Any], lang: str) -> str:
    return gettext("This item was sold as final sale and can't be returned.")


def _product_not_returnable(p: Mapping[str, Any], lang: str) -> str:
    return gettext("This product can't be returned.")


def _policy_not_returnable(p: Mapping[str, Any], lang: str) -> str:
    if "name" in p:
        return gettext("This item can't be returned under the store's policy (%(rule)s).") % {
            "rule": _rule_name(p, lang)
        }
    return gettext("The store doesn't accept returns of this item.")


def _legal_minimum_applied(p: Mapping[str, Any], lang: str) -> str:
    days = int(p["days"])
    law = p["law_ar"] if lang == "ar" else p["law_en"]
    return ngettext(
        "The law gives you at least %(days)s day to return this item (%(law)s).",
        "The law gives you at least %(days)s days to return this item (%(law)s).",
        days,
    ) % {"days": days, "law": law}


def _keep_item(p: Mapping[str, Any], lang: str) -> str:
    return gettext("You don't need to send this item back; you can keep it.")


def _photos_required(p: Mapping[str, Any], lang: str) -> str:
    return gettext("Please add photos of the item to your request.")


def _manual_review(p: Mapping[str, Any], lang: str) -> str:
    return gettext("Our team will review this return before approving it.")


def _restocking_fee(p: Mapping[str, Any], lang: str) -> str:
    return gettext("A restocking fee of %(fee)s will be deducted from your refund.") % {
        "fee": _amount(p["percent"], p["flat"], lang)
    }


def _return_shipping_free(p: Mapping[str, Any], lang: str) -> str:
    if p["why"] == "reason":
        return gettext("Return shipping is free for the reason you chose.")
    return gettext("Return shipping is free.")


def _return_shipping_fee(p: Mapping[str, Any], lang: str) -> str:
    fee = p["fee"]
    assert isinstance(fee, Money)
    values = {"fee": fee.format(lang)}
    if p["free_for_exchanges"]:
        return (
            gettext(
                "Return shipping costs %(fee)s, deducted from your refund; it's free if you "
                "choose an exchange."
            )
            % values
        )
    return gettext("Return shipping costs %(fee)s, deducted from your refund.") % values


def _store_credit_bonus(p: Mapping[str, Any], lang: str) -> str:
    return gettext("Choose store credit and get an extra %(bonus)s.") % {
        "bonus": _amount(p["percent"], p["flat"], lang)
    }


def _refund_timing(p: Mapping[str, Any], lang: str) -> str:
    timing = p["timing"]
    if timing == "immediate":
        return gettext("Your refund is issued as soon as your return is approved.")
    if timing == "first_scan":
        return gettext("Your refund is issued as soon as the carrier scans your parcel.")
    if timing == "delivered":
        return gettext("Your refund is issued when your parcel reaches our warehouse.")
    return gettext("Your refund is issued after we inspect the returned item.")


def _rule_matched(p: Mapping[str, Any], lang: str) -> str:
    return gettext("Store rule applied: “%(rule)s”.") % {"rule": _rule_name(p, lang)}


RENDERERS: dict[str, Callable[[Mapping[str, Any], str], str]] = {
    "window_open": _window_open,
    "window_expired": _window_expired,
    "final_sale": _final_sale,
    "product_not_returnable": _product_not_returnable,
    "policy_not_returnable": _policy_not_returnable,
    "legal_minimum_applied": _legal_minimum_applied,
    "keep_item": _keep_item,
    "photos_required": _photos_required,
    "manual_review": _manual_review,
    "restocking_fee": _restocking_fee,
    "return_shipping_free": _return_shipping_free,
    "return_shipping_fee": _return_shipping_fee,
    "store_credit_bonus": _store_credit_bonus,
    "refund_timing": _refund_timing,
    "rule_matched": _rule_matched,
}


def render(explanation: Explanation, lang: str) -> str:
    """One explanation as a sentence in ``lang``."""
    lang = _supported(lang)
    with override(lang):
        return RENDERERS[explanation.code](explanation.params, lang)


@lru_cache(maxsize=8192)
def _render_cached(code: str, params: tuple[tuple[str, Any], ...], lang: str) -> str:
    with override(lang):
        return RENDERERS[code](dict(params), lang)


def explain(decision: LineDecision, lang: str) -> list[str]:
    """The decision's explanations as sentences in ``lang`` ("en" or "ar"; others get "en")."""
    lang = _supported(lang)
    sentences = []
    for e in decision.reasons:
        # The same sentences recur across lines and requests (rule names, fees, deadlines);
        # rendering one means a language switch and Babel formatting, so keep them.
        try:
            sentences.append(_render_cached(e.code, tuple(sorted(e.params.items())), lang))
        except TypeError:  # a parameter that can't be a cache key
            with override(lang):
                sentences.append(RENDERERS[e.code](e.params, lang))
    return sentences


def explain_both(decision: LineDecision) -> dict[str, list[str]]:
    """The decision's explanations in every supported language: {"en": [...], "ar": [...]}."""
    return {lang: explain(decision, lang) for lang in LANGUAGES}
