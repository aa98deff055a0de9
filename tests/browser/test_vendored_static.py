"""The front-end files vendored from npm (scripts/vendor) are the ones listed in VERSIONS, are
served at their static URLs, and run in the browser without any CDN."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.templatetags.static import static
from playwright.sync_api import Route, expect

from tests.browser.conftest import NewPage
from tests.browser.helpers import REPO, axe_check, snap

STATIC_VENDOR = REPO / "src" / "awda" / "static" / "vendor"
TEST_VENDOR = REPO / "tests" / "browser" / "vendor"


def versions(directory: Path) -> dict[str, tuple[str, str, str]]:
    """file → (package, version, sha256), from the VERSIONS file scripts/vendor writes."""
    rows = {}
    for line in (directory / "VERSIONS").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, version, file, sha256 = line.split()
            rows[file] = (package, version, sha256)
    return rows


def test_the_vendored_files_are_those_listed_in_versions_with_their_licences() -> None:
    listed = versions(STATIC_VENDOR) | versions(TEST_VENDOR)

    assert set(listed) == {"htmx.min.js", "alpine.min.js", "chart.umd.min.js", "axe.min.js"}
    for file, (package, _, sha256) in listed.items():
        path = (TEST_VENDOR if package == "axe-core" else STATIC_VENDOR) / file
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256, f"{file} was edited"
        assert (path.parent / f"{file.split('.')[0]}.LICENSE.txt").stat().st_size > 0


def test_django_finds_the_vendored_files_in_the_awda_app() -> None:
    for file in versions(STATIC_VENDOR):
        assert finders.find(f"vendor/{file}") == str(STATIC_VENDOR / file)
    # axe-core is for the tests only: never served.
    assert finders.find("vendor/axe.min.js") is None


def test_the_live_server_serves_the_vendored_files_byte_for_byte(
    live_server: Any, new_page: NewPage
) -> None:
    page = new_page("en")
    for file, (_, _, sha256) in versions(STATIC_VENDOR).items():
        response = page.request.get(live_server.url + static(f"vendor/{file}"))
        assert response.ok, f"{file}: HTTP {response.status}"
        assert "javascript" in response.headers["content-type"]
        assert hashlib.sha256(response.body()).hexdigest() == sha256


def test_htmx_alpine_and_chart_js_run_from_the_static_urls(
    live_server: Any, new_page: NewPage
) -> None:
    # A page on the live server's origin, given by the test (Awda has no page using these yet).
    url = f"{live_server.url}/__harness__/vendored"
    scripts = "".join(
        f'<script src="{static(f"vendor/{file}")}" defer></script>'
        for file in ("htmx.min.js", "chart.umd.min.js", "alpine.min.js")
    )
    html = f"""<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
      <title>مكتبات</title>{scripts}</head><body><main>
      <h1>مكتبات الواجهة</h1>
      <p id="alpine" x-data="{{ n: 21 }}" x-text="n * 2">…</p>
      </main></body></html>"""
    page = new_page("ar")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    def serve(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    page.route(url, serve)
    page.goto(url)

    expect(page.locator("#alpine")).to_have_text("42")
    loaded = page.evaluate("() => [htmx.version, Alpine.version, Chart.version]")
    listed = versions(STATIC_VENDOR)
    assert loaded == [listed[f][1] for f in ("htmx.min.js", "alpine.min.js", "chart.umd.min.js")]
    assert [u for u in requested if not u.startswith(live_server.url)] == []
    snap(page, "vendored-scripts")
    axe_check(page)
