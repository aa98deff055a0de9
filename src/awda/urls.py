from django.contrib import admin
from django.urls import path

from awda.api.app import api
from awda.core.views import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("healthz", health, name="health"),
]
