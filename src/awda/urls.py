from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from awda.api.app import api
from awda.api.hooks import carrier_webhook, payment_webhook, store_webhook
from awda.core.views import health
from awda.portal.policy_views import badge_js

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("healthz", health, name="health"),
    # Carriers post tracking updates here; the account's public id picks merchant and secret.
    path("hooks/carriers/<str:public_id>/", carrier_webhook, name="carrier-webhook"),
    # Payment gateways post their events (a paid payment link) here, the same way.
    path("hooks/payments/<str:public_id>/", payment_webhook, name="payment-webhook"),
    # Stores (Shopify, WooCommerce, Zid) post their order events here, the same way.
    path("hooks/stores/<str:public_id>/", store_webhook, name="store-webhook"),
    # The badge script is embedded in other sites' pages: one URL for every language.
    path("r/<slug:store>/badge.js", badge_js, name="portal-badge"),
]

# Shopper pages carry their language in the path (/ar/…, /en/…): shareable, cacheable, and
# the language switch is a plain link. A path without it redirects by the browser's language.
urlpatterns += i18n_patterns(
    path("r/<slug:store>/", include("awda.portal.urls")),
    path("staff/", include("awda.dashboard.urls")),
    prefix_default_language=True,
)
