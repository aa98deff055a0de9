"""The public policy page and the embeddable badge through Django's test client: status codes,
caching headers, the badge script's content, and one store never showing another's policy."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from awda.merchants.services import create_merchant
from awda.policies.document import parse_policy
from awda.policies.services import replace_policy
from awda.portal import policy_views
from awda.returns.models import ReturnReason
from tests import factories

pytestmark = pytest.mark.django_db

GENEROUS = parse_policy(
    {
        "name": "Generous",
        "currency": "SAR",
        "country": "SA",
        "defaults": {
            "window_days": 60,
            "returnable": True,
            "resolutions": ["refund"],
            "methods": ["pickup"],
            "return_shipping_paid_by": "merchant",
            "refund_timing": "first_scan",
            "condition": "any",
        },
        "rules": [
            {
                "id": "perfume",
                "name": "Opened perfume",
                "name_ar": "العطور المفتوحة",
                "when": {"categories": ["perfume"]},
                "then": {"returnable": False},
            }
        ],
    }
)


def page(client: Client, slug: str, lang: str = "en", **headers: str) -> Any:
    return client.get(f"/{lang}/r/{slug}/policy/", headers=headers)


def badge(client: Client, slug: str, **headers: str) -> Any:
    return client.get(f"/r/{slug}/badge.js", headers=headers)


def badge_data(response: Any) -> dict[str, Any]:
    match = re.search(r"var data = (\{.*?\});\n", response.content.decode())
    assert match, response.content.decode()
    data: dict[str, Any] = json.loads(match.group(1))
    return data


# -- the policy page ------------------------------------------------------------------------------
def test_the_policy_page_is_served_in_arabic_right_to_left(client: Client) -> None:
    factories.merchant(slug="souq")

    response = page(client, "souq", "ar")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert "<h1>سياسة الإرجاع</h1>" in html
    assert "إرجاع خلال 30 يومًا · استبدال مجاني" in html
    # Reason labels come from the store's own reasons, in the page's language.
    assert "«معيب»" in html
    assert 'href="/en/r/souq/policy/"' in html  # the language switch
    assert 'href="/ar/r/souq/"' in html  # start a return


def test_the_policy_page_is_served_in_english(client: Client) -> None:
    factories.merchant(slug="souq")

    response = page(client, "souq", "en")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en" dir="ltr">' in html
    assert "Returns within 30 days · free exchanges" in html
    assert "Electronics returned for a change of mind: 14 days." in html
    assert "“Defective”" in html


def test_the_policy_page_is_publicly_cacheable_and_sets_no_cookie(client: Client) -> None:
    factories.merchant(slug="souq")

    response = page(client, "souq", "ar")

    assert response["Cache-Control"] == "public, max-age=300"
    assert re.fullmatch(r'"policy-v1-ar-[0-9a-f]{16}"', response["ETag"])
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert "Accept-Language" not in response.get("Vary", "")  # the language is in the path


def test_the_etag_is_stable_and_differs_by_language(client: Client) -> None:
    factories.merchant(slug="souq")

    first, again, english = (
        page(client, "souq", "ar"),
        page(client, "souq", "ar"),
        page(client, "souq", "en"),
    )

    assert first["ETag"] == again["ETag"]
    assert english["ETag"].startswith('"policy-v1-en-')
    assert english["ETag"] != first["ETag"]


def test_a_current_copy_gets_304_without_a_body(client: Client) -> None:
    factories.merchant(slug="souq")
    etag = page(client, "souq", "ar")["ETag"]

    response = page(client, "souq", "ar", if_none_match=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert response["Cache-Control"] == "public, max-age=300"


def test_a_new_policy_version_changes_the_etag_and_the_page(client: Client) -> None:
    merchant = factories.merchant(slug="souq")
    old = page(client, "souq", "en")["ETag"]

    replace_policy(merchant=merchant, document=GENEROUS)
    response = page(client, "souq", "en", if_none_match=old)

    assert response.status_code == 200
    assert response["ETag"].startswith('"policy-v2-en-')
    assert "Free returns within 60 days" in response.content.decode()


def test_head_is_allowed_and_post_is_not(client: Client) -> None:
    factories.merchant(slug="souq")

    assert client.head("/en/r/souq/policy/").status_code == 200
    assert client.post("/en/r/souq/policy/").status_code == 405


def test_an_unknown_store_or_a_store_without_a_policy_is_404(client: Client) -> None:
    create_merchant(slug="new-store", name="New store")

    assert page(client, "no-such-store", "ar").status_code == 404
    assert page(client, "new-store", "en").status_code == 404
    assert badge(client, "no-such-store").status_code == 404
    assert badge(client, "new-store").status_code == 404


# -- the badge ------------------------------------------------------------------------------------
def test_the_badge_is_a_cacheable_script_any_site_may_load(client: Client) -> None:
    factories.merchant(slug="souq")

    response = badge(client, "souq")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "public, max-age=600"
    assert re.fullmatch(r'"badge-v1-[0-9a-f]{16}"', response["ETag"])
    assert not response.cookies


def test_the_badge_carries_both_headlines_and_both_policy_links(client: Client) -> None:
    factories.merchant(slug="souq")

    data = badge_data(badge(client, "souq"))

    assert data["text"] == {
        "en": "Returns within 30 days · free exchanges",
        "ar": "إرجاع خلال 30 يومًا · استبدال مجاني",
    }
    assert data["href"] == {"en": "/en/r/souq/policy/", "ar": "/ar/r/souq/policy/"}
    assert data["src"] == "/r/souq/badge.js"
    assert (data["background"], data["color"]) == ("#0F766E", "#FFFFFF")


def test_the_badge_reads_the_page_language_and_uses_no_inline_handlers(client: Client) -> None:
    factories.merchant(slug="souq")

    script = badge(client, "souq").content.decode()

    assert "document.currentScript" in script
    assert "document.documentElement.lang" in script
    assert not re.search(r"\bon[a-z]+\s*=|setAttribute\(\s*[\"']on|innerHTML|eval\(", script)
    assert script.isascii()  # Arabic travels as \u escapes, whatever the host page's charset


def test_the_badge_text_is_readable_on_a_light_brand_colour(client: Client) -> None:
    merchant = factories.merchant(slug="souq")
    merchant.primary_color = "#FDE047"
    merchant.save(update_fields=["primary_color"])

    data = badge_data(badge(client, "souq"))

    assert (data["background"], data["color"]) == ("#FDE047", "#111827")


def test_a_new_brand_colour_changes_the_badge_etag_without_a_new_policy_version(
    client: Client,
) -> None:
    merchant = factories.merchant(slug="souq")
    before = badge(client, "souq")["ETag"]
    merchant.primary_color = "#1D4ED8"
    merchant.save(update_fields=["primary_color"])

    response = badge(client, "souq", if_none_match=before)

    assert response.status_code == 200
    assert response["ETag"] != before
    assert response["ETag"].startswith('"badge-v1-')


def test_a_current_badge_gets_304(client: Client) -> None:
    factories.merchant(slug="souq")
    etag = badge(client, "souq")["ETag"]

    response = badge(client, "souq", if_none_match=etag)

    assert response.status_code == 304
    assert response["Access-Control-Allow-Origin"] == "*"


def test_script_data_cannot_close_the_script_element() -> None:
    hostile = {"text": "</script><script>alert(1)</script><!-- & \u2028"}

    encoded = policy_views._script_json(hostile)

    assert "<" not in encoded and ">" not in encoded and "&" not in encoded
    assert "\u2028" not in encoded
    assert json.loads(encoded) == hostile


# -- one store, one policy ------------------------------------------------------------------------
def test_each_store_shows_only_its_own_policy(client: Client) -> None:
    factories.merchant(slug="alpha")
    factories.merchant(slug="beta", policy=GENEROUS)

    alpha, beta = page(client, "alpha", "en").content.decode(), page(client, "beta", "en")
    beta_html = beta.content.decode()

    assert "Returns within 30 days · free exchanges" in alpha
    assert "Opened perfume" not in alpha
    assert "Free returns within 60 days · refund as soon as you send it" in beta_html
    assert "Opened perfume" in beta_html
    assert "Underwear" not in beta_html
    assert badge_data(badge(client, "alpha"))["text"]["en"].startswith("Returns within 30 days")
    assert badge_data(badge(client, "beta"))["text"]["en"].startswith("Free returns within 60")
    assert badge_data(badge(client, "beta"))["href"]["ar"] == "/ar/r/beta/policy/"


def test_a_store_renaming_its_reasons_does_not_change_another_stores_page(client: Client) -> None:
    alpha = factories.merchant(slug="alpha")
    factories.merchant(slug="beta")
    ReturnReason.objects.for_merchant(alpha).filter(code="defective").update(label_en="Broken")

    assert "“Broken”" in page(client, "alpha", "en").content.decode()
    beta = page(client, "beta", "en").content.decode()
    assert "“Broken”" not in beta
    assert "“Defective”" in beta
