from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "awda.notifications"
    label = "notifications"
    verbose_name = "Notifications"
