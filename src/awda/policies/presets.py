"""Statutory return windows by country: the floor a merchant's policy can't go below.

A preset states the law's minimum for goods that are returnable by their nature. Each law
also lists goods it exempts (perishables, custom-made goods, opened hygiene products or
software…). The engine can't judge the nature of goods, so it trusts the merchant: a line the
merchant marks final sale or not returnable stays so, and only the *length* of the window is
raised to the legal minimum. Marking a non-exempt product final sale to dodge the law is the
merchant's legal risk, not something the engine can detect.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LegalPreset:
    """A country's (or the EU's) statutory minimum for distance-sale returns."""

    code: str
    window_days: int
    refund_within_days: int | None
    label_en: str
    label_ar: str
    # The currency a new policy for this preset starts in (``policy export-preset``).
    currency: str
    requires_unused: bool = False
    # Stable codes of the goods the law exempts, for the public policy page.
    exceptions: tuple[str, ...] = ()


EU_MEMBER_STATES: frozenset[str] = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip

# The Consumer Rights Directive also binds Iceland, Liechtenstein and Norway through the EEA
# Agreement, so their shoppers get the same 14 days.
EEA_NON_EU_STATES: frozenset[str] = frozenset({"IS", "LI", "NO"})

LEGAL_PRESETS: dict[str, LegalPreset] = {
    "SA": LegalPreset(
        code="SA",
        window_days=7,
        refund_within_days=None,
        label_en="Saudi E-Commerce Law, art. 13",
        label_ar="نظام التجارة الإلكترونية السعودي، المادة 13",
        currency="SAR",
        requires_unused=True,
        exceptions=(
            "custom_made",
            "perishable",
            "opened_media_or_software",
            "opened_personal_hygiene",
            "services_rendered",
        ),
    ),
    "KW": LegalPreset(
        code="KW",
        window_days=14,
        refund_within_days=None,
        label_en="Kuwait Consumer Protection Law",
        label_ar="قانون حماية المستهلك الكويتي",
        currency="KWD",
    ),
    "EG": LegalPreset(
        code="EG",
        window_days=14,
        refund_within_days=7,
        label_en="Egyptian Consumer Protection Law No. 181 of 2018",
        label_ar="قانون حماية المستهلك المصري رقم 181 لسنة 2018",
        currency="EGP",
    ),
    "EU": LegalPreset(
        code="EU",
        window_days=14,
        refund_within_days=14,
        label_en="EU Consumer Rights Directive",
        label_ar="توجيه الاتحاد الأوروبي بشأن حقوق المستهلك",
        currency="EUR",
        exceptions=(
            "custom_made",
            "perishable",
            "opened_media_or_software",
            "opened_personal_hygiene",
        ),
    ),
}


def preset_code_for(country: str | None) -> str | None:
    """The preset code covering ``country`` (an EU/EEA member maps to ``EU``), or None."""
    if not country:
        return None
    code = country.upper()
    if code in LEGAL_PRESETS:
        return code
    if code in EU_MEMBER_STATES or code in EEA_NON_EU_STATES:
        return "EU"
    return None


def legal_minimum_for(country: str | None) -> LegalPreset | None:
    """The statutory preset protecting a shopper in ``country``, or None where none is known."""
    code = preset_code_for(country)
    return LEGAL_PRESETS[code] if code else None
