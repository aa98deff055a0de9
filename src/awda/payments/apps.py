from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "awda.payments"
    label = "payments"
    verbose_name = "Payments"
