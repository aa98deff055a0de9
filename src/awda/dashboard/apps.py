from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "awda.dashboard"
    label = "dashboard"
    verbose_name = "Staff dashboard"
