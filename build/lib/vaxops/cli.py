"""The ``vaxops`` console command: Django's management commands plus our own."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaxops.settings.base")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["vaxops", *sys.argv[1:]])


if __name__ == "__main__":
    main()
