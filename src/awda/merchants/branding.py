"""A merchant's look on the portal: name in the page's language, logo, and a brand colour
with a text colour that stays readable on it (WCAG AA contrast, whatever colour is set)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from awda.merchants.models import Merchant

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_DEFAULT = "#0F766E"


def _luminance(hex_color: str) -> float:
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(background: str) -> str:
    """White or near-black, whichever contrasts more with ``background``."""
    return max(("#FFFFFF", "#111827"), key=lambda ink: contrast(background, ink))


@dataclass(frozen=True)
class Storefront:
    slug: str
    display_name: str
    logo_url: str
    brand_color: str
    on_brand_color: str


def storefront(merchant: Merchant, language: str) -> Storefront:
    color = merchant.primary_color if _HEX.match(merchant.primary_color or "") else _DEFAULT
    name = merchant.name_ar if language == "ar" and merchant.name_ar else merchant.name
    return Storefront(
        slug=merchant.slug,
        display_name=name,
        logo_url=merchant.logo_url,
        brand_color=color,
        on_brand_color=readable_on(color),
    )
