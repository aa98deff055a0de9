"""The owner's policy editor: quick settings and the YAML both save a new version with an
audit row, refusals are shown next to their field with nothing saved, the preview and
"try this policy" save nothing, and only the store's owner opens any of it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from awda.core.models import AuditEntry
from awda.merchants.models import StaffRole
from awda.policies.models import ReturnPolicy
from awda.policies.selectors import active_policy
from awda.policies.yaml_io import dump_policy_yaml
from tests import factories
from tests.dashboard import helpers as d

pytestmark = pytest.mark.django_db


def editor_url(m: factories.Merchant, lang: str = "en") -> str:
    return f"/{lang}/staff/{m.slug}/policy/"


def preview_url(m: factories.Merchant, lang: str = "en") -> str:
    return f"/{lang}/staff/{m.slug}/policy/preview/"


def quick(**changes: Any) -> dict[str, Any]:
    """The quick settings form as the default policy fills it, with ``changes``."""
    data: dict[str, Any] = {
        "form": "quick",
        "defaults.window_days": "30",
        "defaults.return_shipping_paid_by": "customer",
        "defaults.return_shipping_fee_minor": "15",
        "defaults.restocking_fee_percent": "0",
        "defaults.methods": ["label", "qr_dropoff", "pickup"],
        "defaults.resolutions": ["refund", "store_credit", "exchange"],
        "defaults.store_credit_bonus_percent": "10",
        "defaults.refund_timing": "delivered",
        "store_credit_expiry_days": "",
        "rejected_items": "send_back",
    }
    data.update(changes)
    return data


def versions(m: factories.Merchant) -> int:
    return ReturnPolicy.objects.filter(merchant=m).count()


def owner_client(m: factories.Merchant) -> Client:
    return d.signed_in(d.staff(m, StaffRole.OWNER))


def test_saving_quick_settings_makes_a_new_version_with_an_audit_row_and_keeps_the_rules():
    m = factories.merchant()
    client = owner_client(m)
    before_rules = active_policy(merchant=m)[1].rules

    answer = client.post(
        editor_url(m),
        quick(**{"defaults.window_days": "45", "defaults.store_credit_bonus_percent": "12.5",
                 "store_credit_expiry_days": "365", "rejected_items": "keep",
                 "defaults.return_shipping_fee_minor": "20.50"}),
    )  # fmt: skip

    assert answer.status_code == 302 and answer["Location"].endswith("?saved=2")
    version, document = active_policy(merchant=m)
    assert version == 2
    assert document.defaults.window_days == 45
    assert str(document.defaults.store_credit_bonus_percent) == "12.5"
    assert document.defaults.return_shipping_fee_minor == 2050
    assert document.store_credit_expiry_days == 365
    assert document.rejected_items == "keep"
    assert document.rules == before_rules
    audit = AuditEntry.objects.get(merchant_id=m.pk, action="policy_replaced")
    assert audit.subject_id == "2" and audit.role == StaffRole.OWNER
    page = client.get(answer["Location"]).content.decode()
    assert "Saved as version 2." in page and "Version 2, saved" in page


def test_a_window_below_the_countrys_legal_minimum_is_refused_next_to_its_field_in_arabic():
    m = factories.merchant()  # a Saudi store: at least 7 days
    client = owner_client(m)

    answer = client.post(editor_url(m, "ar"), quick(**{"defaults.window_days": "3"}))

    assert answer.status_code == 422
    page = answer.content.decode()
    assert 'id="defaults.window_days-error"' in page
    assert "7 أيام على الأقل" in page and "نظام التجارة الإلكترونية السعودي" in page
    assert versions(m) == 1
    assert not AuditEntry.objects.filter(merchant_id=m.pk, action="policy_replaced").exists()


def test_a_quick_setting_the_document_refuses_is_shown_next_to_its_field_and_nothing_saved():
    m = factories.merchant()
    client = owner_client(m)

    answer = client.post(editor_url(m), quick(**{"defaults.resolutions": []}))

    assert answer.status_code == 422
    page = answer.content.decode()
    assert 'id="defaults.resolutions-error"' in page
    assert "needs at least one resolution" in page
    assert versions(m) == 1


def test_yaml_with_a_syntax_error_is_refused_with_its_line_and_nothing_saved():
    m = factories.merchant()
    client = owner_client(m)

    answer = client.post(
        editor_url(m), {"form": "yaml", "document": "name: Store\ndefaults: [unclosed\n"}
    )

    assert answer.status_code == 422
    page = answer.content.decode()
    assert 'id="document-error"' in page and "invalid YAML at line" in page
    assert versions(m) == 1


def test_yaml_with_an_unknown_field_is_refused_with_its_path():
    m = factories.merchant()
    client = owner_client(m)
    text = dump_policy_yaml(active_policy(merchant=m)[1]).replace(
        "window_days: 30", "window_dayz: 30", 1
    )

    answer = client.post(editor_url(m), {"form": "yaml", "document": text})

    assert answer.status_code == 422
    page = answer.content.decode()
    assert "defaults.window_dayz: Unknown field; did you mean &#39;window_days&#39;?" in page
    assert versions(m) == 1


def test_valid_yaml_replaces_the_whole_policy_as_a_new_version():
    m = factories.merchant()
    client = owner_client(m)
    text = dump_policy_yaml(active_policy(merchant=m)[1]).replace(
        "window_days: 30", "window_days: 60", 1
    )

    answer = client.post(editor_url(m), {"form": "yaml", "document": text})

    assert answer.status_code == 302
    assert active_policy(merchant=m)[1].defaults.window_days == 60
    audit = AuditEntry.objects.get(merchant_id=m.pk, action="policy_replaced")
    assert audit.data["source"] == "yaml"


def test_preview_shows_the_public_page_for_the_edited_values_without_saving():
    m = factories.merchant()
    client = owner_client(m)

    answer = client.post(
        preview_url(m), quick(**{"defaults.window_days": "50"}), headers={"HX-Request": "true"}
    )

    assert answer.status_code == 200
    page = answer.content.decode()
    assert "50 days" in page and "nothing is saved" in page
    assert "<html" not in page  # the panel alone
    assert versions(m) == 1
    assert active_policy(merchant=m)[1].defaults.window_days == 30


def test_preview_of_invalid_values_shows_the_errors_instead():
    m = factories.merchant()
    client = owner_client(m)

    answer = client.post(
        preview_url(m), quick(**{"defaults.window_days": "many"}), headers={"HX-Request": "true"}
    )

    assert answer.status_code == 200
    page = answer.content.decode()
    assert 'id="preview-errors"' in page and "Enter a whole number from 0 to 365." in page


def test_try_this_policy_shows_each_lines_decision_under_the_saved_and_the_edited_policy():
    m = factories.merchant()
    factories.order(
        m,
        number="5001",
        lines=[factories.line("1"), factories.line("2", tags=["final-sale"])],
        delivered_days_ago=20,
    )
    client = owner_client(m)

    saved = client.get(editor_url(m) + "?order=5001").content.decode()
    edited = client.post(
        preview_url(m),
        quick(order="5001", **{"defaults.window_days": "14"}),
        headers={"HX-Request": "true"},
    ).content.decode()

    assert "Order 5001 under the saved policy" in saved
    assert 'id="tried-1"' in saved and 'id="tried-2"' in saved
    assert "Returnable until" in saved
    assert "can’t be returned under the store’s policy" in saved.replace("'", "’").replace(
        "&#39;", "’"
    )
    assert "Order 5001 under the edited policy" in edited
    assert "The return window closed on" in edited
    assert versions(m) == 1


def test_an_unknown_order_and_another_stores_order_both_say_there_is_no_such_order():
    m = factories.merchant()
    other = factories.merchant()
    factories.order(other, number="7001")
    client = owner_client(m)

    for number in ("9999", "7001"):
        page = client.get(editor_url(m) + f"?order={number}").content.decode()
        assert f"This store has no order {number}." in page
        assert "tried-1" not in page


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.WAREHOUSE, StaffRole.ANALYST])
def test_only_the_owner_opens_the_editor(role: str):
    m = factories.merchant()
    client = d.signed_in(d.staff(m, role))

    assert client.get(editor_url(m)).status_code == 403
    assert client.post(editor_url(m), quick(**{"defaults.window_days": "60"})).status_code == 403
    assert client.post(preview_url(m), quick()).status_code == 403
    assert versions(m) == 1


def test_another_stores_owner_gets_not_found_and_the_home_page_lists_the_editor_for_owners():
    m = factories.merchant()
    other_owner = owner_client(factories.merchant())
    owner = owner_client(m)

    assert other_owner.get(editor_url(m)).status_code == 404
    assert other_owner.post(editor_url(m), quick()).status_code == 404
    assert editor_url(m) in owner.get(f"/en/staff/{m.slug}/").content.decode()
    assert versions(m) == 1


def test_a_save_without_the_csrf_token_is_refused():
    m = factories.merchant()
    client = d.signed_in(d.staff(m, StaffRole.OWNER), enforce_csrf_checks=True)

    assert client.post(editor_url(m), quick(**{"defaults.window_days": "60"})).status_code == 403
    assert client.post(preview_url(m), quick()).status_code == 403
    assert versions(m) == 1


def test_the_editor_and_its_preview_read_in_arabic_and_work_without_script():
    m = factories.merchant()
    factories.order(m, number="5002")
    client = owner_client(m)

    page = client.get(editor_url(m, "ar") + "?order=5002").content.decode()
    answer = client.post(preview_url(m, "ar"), quick(order="5002"))

    assert "سياسة الإرجاع" in page and "الطلب 5002 وفق السياسة المحفوظة" in page
    assert answer.status_code == 200
    full = answer.content.decode()
    assert "<html" in full and "معاينة السياسة المعدّلة" in full
    assert "الطلب 5002 وفق السياسة المعدّلة" in full
    assert versions(m) == 1
