"""Shopper portal URLs, under ``/<language>/r/<store>/`` (see awda/urls.py)."""

from django.urls import path

from awda.portal import parcel, policy_views, views

app_name = "portal"

urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("link/<str:token>/", views.order_link, name="order-link"),
    path("orders/<str:number>/", views.order_items, name="items"),
    path("orders/<str:number>/resolution/", views.order_resolution, name="resolution"),
    path("orders/<str:number>/method/", views.order_method, name="method"),
    path("orders/<str:number>/review/", views.order_review, name="review"),
    path("returns/<str:number>/", views.return_status, name="return"),
    path("returns/<str:number>/parcel/", parcel.return_parcel, name="parcel"),
    path("returns/<str:number>/label.pdf", parcel.return_label, name="label"),
    path("policy/", policy_views.policy_page, name="policy"),
]
