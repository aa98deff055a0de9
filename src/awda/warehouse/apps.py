from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "awda.warehouse"
    label = "warehouse"
    verbose_name = "Warehouse"
