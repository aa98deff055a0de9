"""Staff pages, under ``/<language>/staff/`` (see awda/urls.py); a store's pages under
``<store>/``, each guarded by ``access.staff_page``."""

from django.urls import path

from awda.dashboard import station, views

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
]
