"""The harness against Awda's own server (pytest-django's live_server, static files
included): Django's admin login in both languages, and a sign-in through it."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from tests.browser.conftest import NewPage
from tests.browser.helpers import assert_ltr, assert_rtl, axe_check, snap


def test_admin_login_is_arabic_and_right_to_left_for_an_arabic_browser(
    live_server: Any, new_page: NewPage
) -> None:
    page = new_page("ar")
    page.goto(f"{live_server.url}/admin/login/")

    assert_rtl(page)
    assert_rtl(page, page.locator("#content"))
    with translation.override("ar"):
        log_in = translation.gettext("Log in")
    assert log_in != "Log in"
    assert page.locator("input[type=submit]").get_attribute("value") == log_in
    assert snap(page, "login").stat().st_size > 0
    axe_check(page)


def test_admin_login_is_english_and_left_to_right_for_an_english_browser(
    live_server: Any, new_page: NewPage
) -> None:
    page = new_page("en", desktop=True)
    page.goto(f"{live_server.url}/admin/login/")

    assert_ltr(page)
    assert_ltr(page, page.locator("#content"))
    assert page.locator("input[type=submit]").get_attribute("value") == "Log in"
    assert snap(page, "login").stat().st_size > 0
    axe_check(page)


def test_a_user_made_in_the_test_signs_in_through_the_browser(
    live_server: Any, new_page: NewPage, django_user_model: Any
) -> None:
    # The ORM call runs in the test thread beside Playwright's loop (see conftest.py), and
    # the live server sees the row (live_server makes the test transactional).
    django_user_model.objects.create_superuser("noura", "noura@example.com", "s3cret-pass!")
    page = new_page("ar")
    page.goto(f"{live_server.url}/admin/login/")
    page.locator("#id_username").fill("noura")
    page.locator("#id_password").fill("s3cret-pass!")
    snap(page, "filled")
    page.locator("input[type=submit]").click()

    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.locator("#user-tools strong").text_content() == "noura"
    snap(page, "signed-in")


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_every_admin_login_step_is_saved_as_a_screenshot(
    live_server: Any, new_page: NewPage, locale: str
) -> None:
    page = new_page(locale)
    page.goto(f"{live_server.url}/admin/login/")
    page.locator("#id_username").fill("nobody")
    page.locator("#id_password").fill("wrong")
    page.locator("input[type=submit]").click()
    page.locator(".errornote").wait_for()

    shot = snap(page, "wrong-password")
    assert shot.name == "01-wrong-password.png"
    assert shot.parent.name.endswith(f"saved_as_a_screenshot-{locale}")
