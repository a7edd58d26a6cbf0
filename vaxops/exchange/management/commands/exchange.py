"""``vaxops exchange``: the outbox's worker, the local receiving FHIR server, Bulk Data export and import.

    vaxops exchange send [--endpoint CODE] [--once] [--batch N] [--seconds S] [--no-validate]
    vaxops exchange receiver [--host H] [--port N] [--no-validate]
    vaxops exchange export --since YYYY-MM-DD [--division CODE] --out DIR [--no-validate]
    vaxops exchange import FILE|DIR [--source NAME] [--user NAME]
    vaxops exchange endpoint CODE --url URL [--kind provincial|national|traceability] [--name NAME] [--inactive]
    vaxops exchange backlog

``send`` drains every active endpoint (``--once``: one pass, then exit; otherwise it keeps polling every
second). ``export`` and ``import`` print a JSON summary.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import socket
import threading
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from vaxops.core.actors import cli_actor
from vaxops.core.errors import VaxOpsError


def _stop_when_gone(receiver, port: int) -> None:
    """Shut the receiver down once the server on ``port`` was seen up and has gone (the demo stopped)."""
    seen = False
    while True:
        time.sleep(3)
        with socket.socket() as s:
            s.settimeout(1)
            up = s.connect_ex(("127.0.0.1", port)) == 0
        if up:
            seen = True
        elif seen:
            receiver.server.shutdown()
            return


class Command(BaseCommand):
    help = "数据交换（FHIR R4）：发送、本地接收端、批量导出导入。FHIR exchange: send, receiver, bulk export/import."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        s = sub.add_parser("send", help="发送待交换消息")
        s.add_argument("--endpoint", action="append", help="只发送到该端点（可重复）")
        s.add_argument("--once", action="store_true", help="发送一轮后退出")
        s.add_argument("--batch", type=int, help="每批剂次数（默认按端点配置）")
        s.add_argument("--seconds", type=float, help="最多运行 S 秒")
        s.add_argument("--no-validate", action="store_true")
        r = sub.add_parser("receiver", help="启动本地 FHIR 接收端（测试、演示用）")
        r.add_argument("--host", default="127.0.0.1")
        r.add_argument("--port", type=int, default=8090)
        r.add_argument("--no-validate", action="store_true")
        r.add_argument("--while-port", type=int, help="该本地端口（演示服务器）停止监听后自动退出")
        e = sub.add_parser("export", help="导出 FHIR Bulk Data（NDJSON）")
        e.add_argument("--since", required=True, help="YYYY-MM-DD")
        e.add_argument("--division", help="只导出该行政区划（12位代码）的居民")
        e.add_argument("--out", required=True)
        e.add_argument("--no-validate", action="store_true")
        i = sub.add_parser("import", help="导入 FHIR NDJSON 文件或目录")
        i.add_argument("path")
        i.add_argument("--source", default="", help="来源名称（默认取文件名）")
        i.add_argument("--user", help="以该用户身份导入；默认系统身份")
        p = sub.add_parser("endpoint", help="新增或修改交换端点")
        p.add_argument("code")
        p.add_argument("--url", required=True)
        p.add_argument("--kind", default="provincial", choices=["provincial", "national", "traceability"])
        p.add_argument("--name", default="")
        p.add_argument("--profile", default="")
        p.add_argument("--batch", type=int, default=200)
        p.add_argument("--inactive", action="store_true")
        sub.add_parser("backlog", help="列出超过2天未上传确认的剂次（按接种单位）")

    def handle(self, *args, action, **options):
        try:
            return getattr(self, "_" + action)(**options)
        except VaxOpsError as e:
            raise CommandError(e.message) from None

    def _send(self, *, endpoint, once, batch, seconds, no_validate, **_):
        from vaxops.exchange.services import outbox_drain

        started = time.monotonic()
        stop = False

        def _stop(*_):
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, _stop)
        clients: dict = {}
        total = 0
        while not stop:
            left = None if seconds is None else max(0.0, seconds - (time.monotonic() - started))
            result = outbox_drain(
                endpoint_codes=endpoint,
                batch=batch,
                max_seconds=left,
                validate=not no_validate,
                clients=clients,
            )
            total += result.acknowledged
            for error in result.errors[:3]:
                self.stderr.write(error)
            if once or (left is not None and left <= 0):
                break
            if not result.claimed:
                time.sleep(1)
        for c in clients.values():
            c.close()
        self.stdout.write(json.dumps({"acknowledged": total}))

    def _receiver(self, *, host, port, no_validate, while_port, **_):
        from vaxops.exchange.server import Receiver

        r = Receiver(host, port, validate=not no_validate)
        self.stdout.write(f"FHIR 接收端已启动：{r.url}（Ctrl-C 停止）")
        if while_port:
            threading.Thread(target=_stop_when_gone, args=(r, while_port), daemon=True).start()
        try:
            r.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            r.server.server_close()

    def _export(self, *, since, division, out, no_validate, **_):
        from vaxops.exchange.bulk import export
        from vaxops.jurisdictions.models import Division

        try:
            day = dt.date.fromisoformat(since)
        except ValueError:
            raise CommandError(f"--since 日期格式应为 YYYY-MM-DD：{since}") from None
        code_range = None
        if division:
            d = Division.objects.filter(code=division).first()
            if d is None:
                raise CommandError(f"行政区划不存在：{division}")
            code_range = d.code_range
        started = time.monotonic()
        manifest = export(since=day, out=Path(out), code_range=code_range, validate=not no_validate)
        manifest["seconds"] = round(time.monotonic() - started, 2)
        self.stdout.write(json.dumps(manifest, ensure_ascii=False))

    def _import(self, *, path, source, user, **_):
        from vaxops.exchange.bulk import import_path

        p = Path(path)
        if not p.exists():
            raise CommandError(f"文件或目录不存在：{path}")
        result = import_path(actor=cli_actor(user), path=p, source=source)
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))

    def _endpoint(self, *, code, url, kind, name, profile, batch, inactive, **_):
        from vaxops.exchange.services import endpoint_save

        e = endpoint_save(
            actor=cli_actor(None),
            code=code,
            name=name or code,
            kind=kind,
            url=url,
            profile=profile,
            batch_size=batch,
            active=not inactive,
        )
        self.stdout.write(f"{e}：{e.url}")

    def _backlog(self, **_):
        from vaxops.exchange.selectors import backlog_by_site

        for r in backlog_by_site():
            self.stdout.write(f"{r['code']}\t{r['name']}\t{r['doses']}\t{r['oldest']}")
