from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """``vaxops bench``: each run against the raw database doing the same minimal work, in the same run."""

    name = "vaxops.benchmarks"
    label = "benchmarks"
    verbose_name = "性能基准"
