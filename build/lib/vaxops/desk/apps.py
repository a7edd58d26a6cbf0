from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "vaxops.desk"
    label = "desk"
    verbose_name = "接种台"
