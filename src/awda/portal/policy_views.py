"""The public policy page and the embeddable badge, generated from the active policy.

Both are public and the same for every visitor, so shared caches may keep them: they set no
cookie, read no session, and carry an ETag built from the active policy's version, the
language and a digest of the body (the page also shows the store's name, colour and reason
labels, which can change without a new policy version).
"""

from __future__ import annotations

import hashlib
import json

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import override
from django.views.decorators.http import require_safe

from awda.core.errors import NotFound
from awda.merchants.branding import storefront
from awda.merchants.models import Merchant
from awda.policies.document import PolicyDocument
from awda.policies.public import LANGUAGES, headline, public_policy
from awda.policies.selectors import active_policy
from awda.portal.pages import context, language, store_page
from awda.returns.selectors import reason_labels

PAGE_MAX_AGE = 300
BADGE_MAX_AGE = 600


def _policy_or_404(merchant: Merchant) -> tuple[int, PolicyDocument]:
    try:
        return active_policy(merchant=merchant)
    except NotFound:
        raise Http404("this store has no return policy") from None


def _cacheable(
    request: HttpRequest, response: HttpResponse, *, tag: str, max_age: int
) -> HttpResponse:
    """Public caching for ``max_age`` seconds, and a 304 when the client's copy is current."""
    digest = hashlib.sha256(response.content).hexdigest()[:16]
    etag = f'"{tag}-{digest}"'
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=max_age)
    conditional = get_conditional_response(request, etag=etag, response=response)
    return conditional if conditional is not None else response


@require_safe
@store_page
def policy_page(request: HttpRequest, merchant: Merchant) -> HttpResponse:
    version, document = _policy_or_404(merchant)
    lang = language()
    labels = {
        reason.code: (reason.label_ar if lang == "ar" and reason.label_ar else reason.label_en)
        for reason in reason_labels(merchant=merchant)
    }
    policy = public_policy(document, language=lang, country=merchant.country, reason_labels=labels)
    response = render(request, "portal/policy.html", context(request, merchant, policy=policy))
    return _cacheable(request, response, tag=f"policy-v{version}-{lang}", max_age=PAGE_MAX_AGE)


# The badge script: it finds its own <script> tag and puts a link to the policy page right
# after it, in the host page's language. Styles are set through the DOM (not a style
# attribute or a <style> element), so a host page's strict Content-Security-Policy allows it.
_BADGE_JS = """\
(function () {
  "use strict";
  var data = __AWDA_BADGE__;
  var script = document.currentScript;
  if (!script) {
    var scripts = document.querySelectorAll("script[src]");
    for (var i = scripts.length - 1; i >= 0 && !script; i--) {
      if (scripts[i].src.indexOf(data.src) !== -1) script = scripts[i];
    }
  }
  if (!script) return;
  var lang = (document.documentElement.lang || "").toLowerCase().indexOf("ar") === 0 ? "ar" : "en";
  var link = document.createElement("a");
  link.className = "awda-badge";
  link.href = new URL(data.href[lang], script.src).href;
  link.lang = lang;
  link.dir = lang === "ar" ? "rtl" : "ltr";
  link.textContent = data.text[lang];
  var style = link.style;
  style.display = "inline-block";
  style.unicodeBidi = "isolate";
  style.maxWidth = "100%";
  style.margin = "8px 0";
  style.padding = "6px 12px";
  style.borderRadius = "999px";
  style.backgroundColor = data.background;
  style.color = data.color;
  style.font = "600 14px/1.4 system-ui, -apple-system, 'Segoe UI', 'Noto Sans Arabic', sans-serif";
  style.textDecoration = "none";
  var parent = script.parentNode;
  if (parent && parent !== document.head) {
    parent.insertBefore(link, script.nextSibling);
  } else if (document.body) {
    document.body.appendChild(link);
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      document.body.appendChild(link);
    });
  }
})();
"""


def _script_json(data: object) -> str:
    # ASCII-only JSON (U+2028/2029 escaped too) with <, > and & escaped, so no value can end
    # the script element or open a comment wherever the script's text ends up.
    text = json.dumps(data, ensure_ascii=True, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@require_safe
@store_page
def badge_js(request: HttpRequest, merchant: Merchant) -> HttpResponse:
    version, document = _policy_or_404(merchant)
    hrefs = {}
    for lang in LANGUAGES:
        # Relative paths, resolved in the browser against the script's own URL: the badge
        # links to the host that served it, whatever Host header reached us.
        with override(lang):
            hrefs[lang] = reverse("portal:policy", kwargs={"store": merchant.slug})
    colours = storefront(merchant, "en")
    data = {
        "text": {
            lang: headline(document, language=lang, country=merchant.country) for lang in LANGUAGES
        },
        "href": hrefs,
        "background": colours.brand_color,
        "color": colours.on_brand_color,
        "src": reverse("portal-badge", kwargs={"store": merchant.slug}),
    }
    response = HttpResponse(
        _BADGE_JS.replace("__AWDA_BADGE__", _script_json(data)),
        content_type="application/javascript; charset=utf-8",
    )
    response = _cacheable(request, response, tag=f"badge-v{version}", max_age=BADGE_MAX_AGE)
    # Any site may load the script (and read it, e.g. a merchant's tag manager fetching it).
    response["Access-Control-Allow-Origin"] = "*"
    return response
