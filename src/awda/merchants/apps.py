from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "awda.merchants"
    label = "merchants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from awda.merchants.models import Merchant
        from awda.merchants.services import forget_store

        # A store edited in this process (admin, settings) shows at once on its pages.
        post_save.connect(forget_store, sender=Merchant, dispatch_uid="awda-forget-store")
