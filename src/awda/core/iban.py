"""IBANs typed by shoppers (cash-on-delivery refunds go by bank transfer).

Checked with schwifty against each country's registered format and length and the ISO 7064
mod-97 check digits, so a mistyped or transposed character is caught before any money is
sent. Shoppers on Arabic keyboards type Arabic-Indic digits, and copying from a banking app
brings spaces, dashes and invisible direction marks: all are accepted and cleaned away.
"""

from __future__ import annotations

import re

from babel import Locale, UnknownLocaleError
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from schwifty import IBAN, registry
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    InvalidCountryCode,
    SchwiftyException,
)

from awda.core.errors import InvalidInput

# Arabic-Indic (٠١٢…) and Eastern Arabic-Indic / Persian (۰۱۲…) digits to ASCII.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Spaces of any kind, dashes and dots used as separators, and the invisible bidi marks an
# RTL text field or a copy from an Arabic page carries along.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212.\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_ALNUM = re.compile(r"[A-Z0-9]+")


def normalise_iban(value: str, *, field: str = "iban") -> str:
    """The IBAN in its electronic form (``SA0380000000608010167519``), or InvalidInput."""
    iban = _SEPARATORS.sub("", value.translate(_DIGITS)).upper()
    if not iban:
        raise InvalidInput(_("Enter the IBAN."), field=field)
    if not _ALNUM.fullmatch(iban):
        raise InvalidInput(_("An IBAN contains only Latin letters and digits."), field=field)
    country = iban[:2]
    try:
        spec = registry.get_iban_spec(country)
    except (InvalidCountryCode, KeyError):
        raise InvalidInput(
            _("An IBAN starts with a country code, such as SA or AE: “%(code)s” is not one.")
            % {"code": country},
            field=field,
        ) from None
    if len(iban) != spec.iban_length:
        raise InvalidInput(
            _("An IBAN from %(country)s has %(expected)s characters; this one has %(actual)s.")
            % {
                "country": _country_name(country),
                "expected": spec.iban_length,
                "actual": len(iban),
            },
            field=field,
            details={"expected_length": spec.iban_length, "length": len(iban)},
        )
    try:
        IBAN(iban)
    except (InvalidChecksumDigits, InvalidBBANChecksum):
        raise InvalidInput(
            _(
                "The IBAN's check digits don't match the rest of it: a character is probably "
                "mistyped. Please check it."
            ),
            field=field,
        ) from None
    except SchwiftyException:
        # Right country and length, wrong kind of character somewhere (a letter where the
        # country's format has a digit).
        raise InvalidInput(
            _("This is not the format of an IBAN from %(country)s. Please check it.")
            % {"country": _country_name(country)},
            field=field,
        ) from None
    return iban


def mask_iban(iban: str) -> str:
    """The IBAN with only its country, check digits and last four shown:
    ``SA03 **** **** **** **** 7519``."""
    compact = _SEPARATORS.sub("", iban.translate(_DIGITS)).upper()
    if len(compact) <= 8:
        return "*" * len(compact)
    hidden = len(compact) - 8
    groups = ["****"] * -(-hidden // 4)
    return " ".join([compact[:4], *groups, compact[-4:]])


def _country_name(code: str) -> str:
    """The country's name in the active language (Babel's CLDR data), or its code."""
    try:
        locale = Locale.parse(translation.get_language() or "en", sep="-")
    except (UnknownLocaleError, ValueError):
        return code
    return str(locale.territories.get(code, code))
