from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo county (``vaxops seed-demo``): built only through the other apps' public services."""

    name = "vaxops.demo"
    label = "demo"
    verbose_name = "演示数据"
