from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "awda.integrations"
    label = "integrations"
    verbose_name = "Store integrations"
