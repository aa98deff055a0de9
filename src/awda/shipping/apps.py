from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "awda.shipping"
    label = "shipping"
    verbose_name = "Shipping"
