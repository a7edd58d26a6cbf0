from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "启动后台任务进程（导入、提醒、日报等）。Run the background task worker."

    def handle(self, *args, **options):
        call_command("qcluster")
