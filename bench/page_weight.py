"""Page weight of the shopper portal: each page's HTML plus the CSS and JavaScript it loads.

For each portal page (lookup, items, policy, status) in Arabic and English: fetch the HTML,
find the stylesheets (``<link rel="stylesheet" href>``) and scripts (``<script src>``) it
references, fetch those, and report the bytes raw, gzip-compressed at level 6 (what a reverse
proxy such as nginx or Caddy sends by default) and, if the ``brotli`` module is installed,
brotli at quality 5 (a typical on-the-fly setting). Each response is compressed on its own, as
it is sent. Images (product photos, the store logo) are left out, as the goal says.

The HTML comes from Django's test client against the database in AWDA_DATABASE_URL (the
benchmark's demo store, bench/portal_seed.py), or with ``--url`` from a running server. Static
files come from that server when it serves them, otherwise from Django's staticfiles finders:
the same files ``collectstatic`` copies for Granian's ``--static-path-mount`` in production.

Usage: python bench/page_weight.py --work DIR [--url http://127.0.0.1:8089] [--json FILE]
DIR is portal_seed.py's --out (sessions.csv, portal_env).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "awda.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles import finders  # noqa: E402
from django.test import Client  # noqa: E402

try:
    import brotli  # type: ignore[import-not-found]
except ImportError:  # not a dependency; reported when it happens to be installed
    brotli = None

HOST = "127.0.0.1"
ACCEPT_LANGUAGE = {"ar": "ar-SA,ar;q=0.9,en;q=0.8", "en": "en-US,en;q=0.9,ar;q=0.5"}
GOAL_KB = 150  # compressed, photos aside; KB = 1,000 bytes
PAGES = ("portal_lookup", "portal_items", "portal_policy", "portal_status")


class Assets(HTMLParser):
    """Stylesheets, scripts and images a page references, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.css: list[str] = []
        self.js: list[str] = []
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link" and "stylesheet" in a.get("rel", "").lower().split() and a.get("href"):
            self.css.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.js.append(a["src"])
        elif tag == "img":
            self.images += 1


def sizes(data: bytes) -> dict[str, int | None]:
    return {
        "raw": len(data),
        "gzip": len(gzip.compress(data, compresslevel=6, mtime=0)),
        "brotli": len(brotli.compress(data, quality=5)) if brotli is not None else None,
    }


class Fetcher:
    """GET pages and assets: from a live server (``url``) or through the test client."""

    def __init__(self, url: str | None) -> None:
        self.url = url.rstrip("/") if url else None

    def page(self, path: str, lang: str, cookies: dict[str, str]) -> tuple[int, bytes]:
        if self.url:
            request = urllib.request.Request(
                self.url + path,
                headers={
                    "Accept-Language": ACCEPT_LANGUAGE[lang],
                    "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read()
        client = Client(HTTP_HOST=HOST)
        for name, value in cookies.items():
            client.cookies[name] = value
        response = client.get(path, HTTP_ACCEPT_LANGUAGE=ACCEPT_LANGUAGE[lang])
        return response.status_code, response.content

    def asset(self, page_path: str, ref: str) -> tuple[bytes, str]:
        """The asset's bytes and where they came from (server / staticfiles)."""
        absolute = urljoin(f"http://{HOST}{page_path}", ref)
        path = urlsplit(absolute).path
        if self.url:
            try:
                with urllib.request.urlopen(self.url + path, timeout=30) as response:
                    return response.read(), "server"
            except urllib.error.HTTPError:
                pass  # Django doesn't serve static files; Granian or a proxy does
        if urlsplit(absolute).hostname not in (HOST, None):
            raise SystemExit(f"page_weight: {ref} is on another host; fetch it by hand")
        if not path.startswith(settings.STATIC_URL):
            raise SystemExit(f"page_weight: {ref} is neither static nor served")
        found = finders.find(path.removeprefix(settings.STATIC_URL))
        if not found:
            raise SystemExit(f"page_weight: no static file for {ref}")
        return Path(str(found)).read_bytes(), "staticfiles"


def measure(work: Path, fetcher: Fetcher) -> list[dict[str, Any]]:
    env = dict(
        line.split("=", 1) for line in (work / "portal_env").read_text().splitlines() if line
    )
    rows = [line.split(",") for line in (work / "sessions.csv").read_text().split()]
    cookie, number, ret = next(r for r in rows if r[2])  # a session whose order has a return
    session = {env["session_cookie"]: cookie}
    results = []
    for page in PAGES:
        for lang in ("ar", "en"):
            base = f"/{lang}/r/{env['store']}/"
            path, cookies = {
                "portal_lookup": (base, {}),
                "portal_items": (f"{base}orders/{number}/", session),
                "portal_policy": (f"{base}policy/", {}),
                "portal_status": (f"{base}returns/{ret}/", session),
            }[page]
            status, html = fetcher.page(path, lang, cookies)
            if status != 200:
                raise SystemExit(f"page_weight: GET {path} answered {status}")
            parser = Assets()
            parser.feed(html.decode("utf-8"))
            assets = []
            for kind, refs in (("css", parser.css), ("js", parser.js)):
                for ref in dict.fromkeys(refs):  # a file referenced twice is fetched once
                    data, source = fetcher.asset(path, ref)
                    assets.append({"kind": kind, "url": ref, "source": source, **sizes(data)})
            h = sizes(html)
            total: dict[str, int | None] = {}
            for k in ("raw", "gzip", "brotli"):
                parts = [h[k], *(a[k] for a in assets)]
                total[k] = None if any(p is None for p in parts) else sum(p or 0 for p in parts)
            results.append(
                {
                    "page": page,
                    "lang": lang,
                    "path": path,
                    "html": h,
                    "assets": assets,
                    "assets_raw": sum(a["raw"] for a in assets),
                    "assets_gzip": sum(a["gzip"] for a in assets),
                    "total": total,
                    "images_skipped": parser.images,
                    "meets_goal": (total["gzip"] or 0) < GOAL_KB * 1000,
                }
            )
    return results


def kb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1000:.1f}"


def print_table(results: list[dict[str, Any]]) -> None:
    header = (
        f"{'page':<14} {'lang':<4} {'HTML':>7} {'HTML gz':>7} {'assets':>7} {'assets gz':>9} "
        f"{'total':>7} {'total gz':>8} {'total br':>8} {'files':>5} {'imgs':>4}  goal"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['page']:<14} {r['lang']:<4} {kb(r['html']['raw']):>7} {kb(r['html']['gzip']):>7} "
            f"{kb(r['assets_raw']):>7} {kb(r['assets_gzip']):>9} {kb(r['total']['raw']):>7} "
            f"{kb(r['total']['gzip']):>8} {kb(r['total']['brotli']):>8} {len(r['assets']):>5} "
            f"{r['images_skipped']:>4}  {'ok' if r['meets_goal'] else 'MISS'}"
        )
    print(
        f"KB = 1,000 bytes. gz: gzip level 6, each response on its own; br: brotli quality 5 "
        f"({'installed' if brotli is not None else 'not installed'}). total = HTML + the CSS and "
        f"JS it loads (an empty cache);\nimgs: <img> tags left out (product photos, logo). "
        f"goal: total gz < {GOAL_KB} KB. Once the assets are cached, a page costs its HTML only."
    )
    seen: dict[str, dict[str, Any]] = {}
    for r in results:
        for a in r["assets"]:
            seen[a["url"]] = a
    print("assets:")
    for url, a in seen.items():
        print(f"  {kb(a['raw']):>7} KB raw  {kb(a['gzip']):>6} KB gz  {url}  (from {a['source']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("bench/results/work-portal"))
    parser.add_argument("--url", help="a running server; default: Django's test client")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    if not (args.work / "sessions.csv").exists():
        sys.exit(f"page_weight: no {args.work}/sessions.csv: run bench/portal_seed.py first")
    results = measure(args.work, Fetcher(args.url))
    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {
            "goal_kb_compressed": GOAL_KB,
            "kb": 1000,
            "gzip_level": 6,
            "brotli_quality": 5 if brotli is not None else None,
            "source": args.url or "django test client",
            "pages": results,
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
