from django.core.management.base import BaseCommand, CommandError

from vaxops.accounts.models import User
from vaxops.accounts.services import api_token_create
from vaxops.core.actors import SystemActor


class Command(BaseCommand):
    help = "为机器客户端创建 API 令牌（只显示一次）。Create an API token for a machine client."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name", help="令牌用途，例如“省平台对接”")

    def handle(self, *args, username: str, name: str, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"用户不存在：{username}") from None
        _, raw = api_token_create(user=user, name=name, actor=SystemActor())
        self.stdout.write(raw)
        self.stderr.write("令牌只显示这一次，请妥善保存；使用方式：Authorization: Bearer <令牌>")
