"""Where messages go. ``VAXOPS_NOTIFY_CHANNEL`` chooses: ``file`` (the default: one JSON line per message in
``var/notifications.log``, what the demo and tests read), ``console`` (standard error) or ``sms`` (an HTTP
SMS gateway at ``VAXOPS_SMS_URL`` with ``VAXOPS_SMS_TOKEN``, for production)."""

import json
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


class ChannelError(Exception):
    """A message could not be handed to the channel; the notification is kept for a retry."""


@dataclass(frozen=True)
class Message:
    phone: str
    text: str
    reference: str = ""


class FileChannel:
    name = "file"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path(settings.VAR_DIR) / "notifications.log"

    def send(self, message: Message) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(
                json.dumps(
                    {"phone": message.phone, "text": message.text, "reference": message.reference},
                    ensure_ascii=False,
                )
                + "\n"
            )


class ConsoleChannel:
    name = "console"

    def send(self, message: Message) -> None:
        sys.stderr.write(f"[短信 → {message.phone}] {message.text}\n")


class SmsGatewayChannel:
    """POSTs ``{"phone", "text", "reference"}`` as JSON to the gateway; any non-2xx answer is a failure."""

    name = "sms"

    def __init__(self, url: str, token: str, timeout: float = 5.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ChannelError("短信网关地址须以 https:// 或 http:// 开头")
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: Message) -> None:
        body = json.dumps(
            {"phone": message.phone, "text": message.text, "reference": message.reference}
        ).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                if not 200 <= response.status < 300:
                    raise ChannelError(f"短信网关返回{response.status}")
        except OSError as e:
            raise ChannelError(f"短信网关不可达：{e}") from None


def channel_get():
    kind = getattr(settings, "VAXOPS_NOTIFY_CHANNEL", "file")
    if kind == "console":
        return ConsoleChannel()
    if kind == "sms":
        url = getattr(settings, "VAXOPS_SMS_URL", "")
        if not url:
            raise ChannelError("未配置短信网关（VAXOPS_SMS_URL）")
        return SmsGatewayChannel(url, getattr(settings, "VAXOPS_SMS_TOKEN", ""))
    return FileChannel()
