from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from vaxops.accounts.models import User
from vaxops.accounts.services import api_token_create
from vaxops.core.actors import SystemActor
from vaxops.core.errors import VaxOpsError


class Command(BaseCommand):
    help = "为机器客户端创建 API 令牌（只显示一次）。Create an API token for a machine client."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("name", help="令牌用途，例如“省平台对接”")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="有效天数（默认 VAXOPS_API_TOKEN_DAYS，90天）/ days valid (default 90)",
        )

    def handle(self, *args, username: str, name: str, days: int | None = None, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"用户不存在：{username}") from None
        try:
            token, raw = api_token_create(user=user, name=name, actor=SystemActor(), days=days)
        except VaxOpsError as e:
            raise CommandError(e.message) from None
        self.stdout.write(raw)
        self.stderr.write(
            f"令牌只显示这一次，请妥善保存；有效期至{timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}；"
            "使用方式：Authorization: Bearer <令牌>"
        )
