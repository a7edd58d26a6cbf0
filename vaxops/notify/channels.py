"""Where messages go. ``VAXOPS_NOTIFY_CHANNEL`` chooses: ``file`` (the default: one JSON line per message in
``var/notifications.log``, what the demo reads), ``console`` (standard error), ``memory`` (``outbox``, what
the tests read) or ``sms`` (an HTTP SMS gateway at ``VAXOPS_SMS_URL`` with ``VAXOPS_SMS_TOKEN``, for
production).

A message may carry a secret (a one-time code): ``text`` is what the person receives, ``kept_text`` the same
with the secret masked — all that may be written anywhere that lasts. The file channel writes only
``kept_text``, to a file only its owner may read (0600); when its process has a terminal (``make demo``'s
gunicorn) it shows a secret-bearing message there, the demo's stand-in for the resident's phone.
"""

import json
import os
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
    kept_text: str | None = None  # the text with its secret masked, when it carries one

    @property
    def has_secret(self) -> bool:
        return self.kept_text is not None and self.kept_text != self.text

    @property
    def storable_text(self) -> str:
        return self.kept_text if self.kept_text is not None else self.text


class FileChannel:
    name = "file"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path(settings.VAR_DIR) / "notifications.log"

    def send(self, message: Message) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {"phone": message.phone, "text": message.storable_text, "reference": message.reference},
            ensure_ascii=False,
        )
        # Created 0600 (os.open applies the mode only to a new file; an older, wider one is narrowed).
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        if message.has_secret and sys.stderr.isatty():
            sys.stderr.write(f"[演示短信 → {message.phone}] {message.text}\n")


class ConsoleChannel:
    name = "console"

    def send(self, message: Message) -> None:
        # A terminal is a screen; standard error redirected to a file is a file, and gets the masked text.
        text = message.text if sys.stderr.isatty() else message.storable_text
        sys.stderr.write(f"[短信 → {message.phone}] {text}\n")


# What the memory channel sent, oldest first (tests read it, like Django's mail.outbox).
outbox: list[Message] = []


class MemoryChannel:
    name = "memory"

    def send(self, message: Message) -> None:
        outbox.append(message)


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
    if kind == "memory":
        return MemoryChannel()
    if kind == "sms":
        url = getattr(settings, "VAXOPS_SMS_URL", "")
        if not url:
            raise ChannelError("未配置短信网关（VAXOPS_SMS_URL）")
        return SmsGatewayChannel(url, getattr(settings, "VAXOPS_SMS_TOKEN", ""))
    return FileChannel()
