"""Staff pages, under ``/<language>/staff/`` (see awda/urls.py); a store's pages under
``<store>/``, each guarded by ``access.staff_page``."""

from django.urls import path

from awda.dashboard import (
    analytics_views,
    connect_views,
    owner_views,
    policy_views,
    station,
    support_views,
    views,
)

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("<slug:store>/", views.home, name="home"),
    path("<slug:store>/warehouse/", station.scan, name="scan"),
    path("<slug:store>/warehouse/unknown/", station.unknown_parcel, name="unknown-parcel"),
    path(
        "<slug:store>/warehouse/returns/<str:number>/",
        station.return_page,
        name="station-return",
    ),
    path(
        "<slug:store>/warehouse/returns/<str:number>/items/<int:position>/label.pdf",
        station.item_label,
        name="bin-label",
    ),
    # The support agent's pages (and the owner's).
    path("<slug:store>/customers/", support_views.customers, name="customers"),
    path("<slug:store>/customers/<int:customer_id>/", support_views.customer, name="customer"),
    path(
        "<slug:store>/customers/<int:customer_id>/goodwill/",
        support_views.grant,
        name="grant-goodwill",
    ),
    path(
        "<slug:store>/customers/<int:customer_id>/notes/",
        support_views.add_note,
        name="customer-note",
    ),
    path(
        "<slug:store>/customers/<int:customer_id>/override/",
        support_views.override_policy,
        name="override-policy",
    ),
    path("<slug:store>/returns/", support_views.queue, name="queue"),
    path("<slug:store>/returns/decide/", support_views.decide_many, name="queue-decide"),
    path("<slug:store>/returns/<str:number>/", support_views.return_detail, name="return"),
    # One photo view for the station and the support pages (``PHOTO_ROLES``).
    path(
        "<slug:store>/returns/<str:number>/photos/<int:photo_id>/",
        station.item_photo,
        name="return-photo",
    ),
    path(
        "<slug:store>/returns/<str:number>/decide/",
        support_views.decide_one,
        name="return-decide",
    ),
    # The owner's.
    path("<slug:store>/goodwill/", owner_views.budgets, name="budgets"),
    path(
        "<slug:store>/goodwill/<int:grant_id>/decide/",
        owner_views.decide_request,
        name="goodwill-decide",
    ),
    path("<slug:store>/audit/", owner_views.audit, name="audit"),
    path("<slug:store>/audit.csv", owner_views.audit_csv, name="audit-csv"),
    path("<slug:store>/policy/", policy_views.editor, name="policy"),
    path("<slug:store>/policy/preview/", policy_views.preview, name="policy-preview"),
    # The analyst's (and the owner's): each table's CSV takes the page's query string.
    path("<slug:store>/analytics/", analytics_views.overview, name="analytics"),
    path(
        "<slug:store>/analytics/rates/<str:dimension>/",
        analytics_views.rates,
        name="analytics-rates",
    ),
    path("<slug:store>/analytics/items/", analytics_views.items, name="analytics-items"),
    path(
        "<slug:store>/analytics/<slug:table>.csv",
        analytics_views.table_csv,
        name="analytics-csv",
    ),
    # The owner's store connections (Shopify's OAuth sends the owner back to the callback).
    path("<slug:store>/connections/", connect_views.connections, name="connections"),
    path(
        "<slug:store>/connections/shopify/callback/",
        connect_views.shopify_callback,
        name="shopify-callback",
    ),
]
