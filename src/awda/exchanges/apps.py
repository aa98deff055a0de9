from django.apps import AppConfig


class ExchangesConfig(AppConfig):
    name = "awda.exchanges"
    label = "exchanges"
    verbose_name = "Exchanges"
