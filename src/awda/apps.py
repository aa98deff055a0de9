from django.apps import AppConfig


class AwdaConfig(AppConfig):
    """The project itself: job registry (tasks.py) and the ``awda`` CLI commands."""

    name = "awda"
    label = "awda"
