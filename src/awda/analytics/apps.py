from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "awda.analytics"
    label = "analytics"
    default_auto_field = "django.db.models.BigAutoField"
