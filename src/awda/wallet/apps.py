from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "awda.wallet"
    label = "wallet"
    verbose_name = "Store credit"
