from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "awda.portal"
    label = "portal"
    verbose_name = "Shopper portal"
