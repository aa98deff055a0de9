"""What browser tests assert with: screenshots, axe-core, right-to-left layout, keyboard.

Every page comes from the ``new_page`` fixture (conftest.py), which ties its browser context
to the running test's artifact directory; ``snap`` and ``axe_check`` write there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page

REPO = Path(__file__).resolve().parents[2]
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

# The WCAG 2.1 A and AA rules; "best-practice" rules are advice, not the bar we hold pages to.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}

MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def artifacts_root() -> Path:
    """``$AWDA_TEST_ARTIFACTS`` or ``var/test/artifacts`` in the repository (git-ignored)."""
    configured = os.environ.get("AWDA_TEST_ARTIFACTS")
    return Path(configured).resolve() if configured else REPO / "var" / "test" / "artifacts"


@dataclass
class TestArtifacts:
    """One test's artifact directory; files are numbered in the order the test wrote them."""

    __test__ = False  # not a test class, whatever its name

    directory: Path
    written: list[Path] = field(default_factory=list)

    @classmethod
    def for_test(cls, node: pytest.Item) -> TestArtifacts:
        name = re.sub(r"[^\w.-]+", "-", f"{node.path.stem}.{node.name}").strip("-")
        directory = artifacts_root() / "screenshots" / name
        # A rerun replaces the test's files: leftovers would break the numbering's story.
        shutil.rmtree(directory, ignore_errors=True)
        return cls(directory)

    def next_path(self, name: str, suffix: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^\w.-]+", "-", name).strip("-") or "step"
        path = self.directory / f"{len(self.written) + 1:02d}-{slug}{suffix}"
        self.written.append(path)
        return path


# Filled by the new_page fixture for the length of one test.
_ARTIFACTS: dict[BrowserContext, TestArtifacts] = {}


def register(context: BrowserContext, artifacts: TestArtifacts) -> None:
    _ARTIFACTS[context] = artifacts


def unregister(context: BrowserContext) -> None:
    _ARTIFACTS.pop(context, None)


def _artifacts(page: Page) -> TestArtifacts:
    try:
        return _ARTIFACTS[page.context]
    except KeyError:
        raise RuntimeError("open pages with the new_page fixture to save artifacts") from None


def snap(page: Page, name: str) -> Path:
    """Save a full-page PNG of the page as the test's next numbered step; return its path."""
    path = _artifacts(page).next_path(name, ".png")
    page.screenshot(path=path, full_page=True, animations="disabled", caret="hide")
    return path


def save_artifact(page: Page, name: str, suffix: str, content: bytes) -> Path:
    """Keep a file the step produced (a downloaded transfer file…) as the test's next
    numbered step, next to its screenshots; return its path."""
    path = _artifacts(page).next_path(name, suffix)
    path.write_bytes(content)
    return path


def axe_check(page: Page, name: str = "axe") -> dict[str, Any]:
    """Run axe-core (WCAG 2.1 A/AA) on the page; fail on any serious or critical violation.

    The whole axe result is saved as the test's next numbered step (``NN-<name>.json``).
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=AXE_JS)
        if not page.evaluate("() => typeof window.axe === 'object'"):
            # add_script_tag inlines the file, which a strict Content-Security-Policy refuses.
            pytest.fail(f"axe-core did not load on {page.url} (a CSP blocking inline scripts?)")
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    path = _artifacts(page).next_path(name, ".json")
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    blocking = [v for v in result["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    if blocking:
        lines = [f"axe: {len(blocking)} serious or critical violation(s) on {page.url}:"]
        for violation in blocking:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            lines.extend(f"    {' '.join(map(str, node['target']))}" for node in violation["nodes"])
        lines.append(f"full result: {path}")
        pytest.fail("\n".join(lines), pytrace=False)
    return result


_LAYOUT_JS = """
element => {
  const style = getComputedStyle(element);
  const align = style.textAlign;
  const rtl = style.direction === 'rtl';
  // 'start'/'end' (and 'justify', whose last line starts at the start) depend on direction.
  const resolved = {
    start: rtl ? 'right' : 'left', end: rtl ? 'left' : 'right', justify: rtl ? 'right' : 'left',
    '-webkit-right': 'right', '-webkit-left': 'left', '-webkit-center': 'center',
  }[align] || align;
  return {
    dir: document.documentElement.dir,
    lang: document.documentElement.lang,
    direction: style.direction,
    textAlign: align,
    alignment: resolved,
  };
}
"""


def layout(page: Page, locator: Locator | None = None) -> dict[str, str]:
    """The document's dir and lang and the element's computed direction and text alignment."""
    target = locator if locator is not None else page.locator("body")
    result: dict[str, str] = target.evaluate(_LAYOUT_JS)
    return result


def assert_rtl(page: Page, locator: Locator | None = None, *, lang: str = "ar") -> None:
    """The document is right-to-left in ``lang`` and the element (default: body) reads from
    the right: computed direction rtl, text aligned right (``start`` resolves to right)."""
    seen = layout(page, locator)
    expected = {"dir": "rtl", "direction": "rtl", "alignment": "right"}
    _assert_layout(seen, expected, lang)


def assert_ltr(page: Page, locator: Locator | None = None, *, lang: str = "en") -> None:
    """The document is left-to-right in ``lang`` and the element (default: body) reads from
    the left."""
    seen = layout(page, locator)
    expected = {"dir": "ltr", "direction": "ltr", "alignment": "left"}
    _assert_layout(seen, expected, lang)


def _assert_layout(seen: dict[str, str], expected: dict[str, str], lang: str) -> None:
    wrong = {k: seen[k] for k, v in expected.items() if seen[k] != v}
    # "ar" matches "ar" and regional tags such as "ar-SA".
    if seen["lang"].split("-")[0].lower() != lang:
        wrong["lang"] = seen["lang"]
    assert not wrong, f"expected {expected} and lang={lang!r}, got {seen}"


def focus_order(page: Page, steps: int) -> list[str]:
    """Press Tab ``steps`` times from the top of the page; describe each focused element
    (``tag#id`` or ``tag "accessible text"``), to assert what the keyboard reaches, in order."""
    # Focus a throwaway element at the top of <body> and remove it: the next Tab then starts
    # from the beginning of the document whatever was focused before.
    page.evaluate(
        """() => {
          const probe = document.createElement('span');
          probe.tabIndex = -1;
          document.body.prepend(probe);
          probe.focus();
          probe.remove();
        }"""
    )
    seen = []
    for _ in range(steps):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate(
                """() => {
                  const e = document.activeElement;
                  if (!e || e === document.body) return 'body';
                  const tag = e.tagName.toLowerCase();
                  if (e.id) return `${tag}#${e.id}`;
                  const text = (e.getAttribute('aria-label') || e.textContent || e.value || '');
                  return `${tag} "${text.trim().replace(/\\s+/g, ' ')}"`;
                }"""
            )
        )
    return seen
