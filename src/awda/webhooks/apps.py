from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "awda.webhooks"
    label = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"
