"""``vaxops coldchain``: temperature readings from loggers, files and MQTT; the manual log's check.

    vaxops coldchain import-readings FILE --unit CODE [--json] [--user NAME]
    vaxops coldchain listen --mqtt mqtt://HOST:PORT [--user NAME] [--count N] [--seconds S]
    vaxops coldchain manual-check [--date YYYY-MM-DD]

``import-readings`` prints ``{"read", "stored", "unchanged", "rejected", "errors": [{"row", "reason"}],
"excursions_opened"}`` with ``--json`` (read = stored + unchanged + rejected). ``listen`` subscribes to
``vaxops/coldchain/+/temperature`` (payload ``{"at", "celsius"}``) and stores each reading as it comes.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

from django.core.management.base import BaseCommand, CommandError

from vaxops.core.actors import cli_actor
from vaxops.core.errors import VaxOpsError

TOPIC = "vaxops/coldchain/+/temperature"
MAX_BATCH = 2000  # messages ingested together at most
SENSOR_CACHE_SECONDS = 60  # the listener looks unit codes up again after this


class Command(BaseCommand):
    help = "冷链温度：导入记录仪文件、订阅 MQTT、检查人工记录。Cold-chain readings from files and MQTT."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import-readings", help="导入温度记录仪导出的 CSV/XLSX")
        imp.add_argument("path")
        imp.add_argument("--unit", required=True, help="设备编码")
        imp.add_argument("--user", help="以该用户身份导入；默认系统身份")
        imp.add_argument("--json", action="store_true")
        lis = sub.add_parser("listen", help="订阅 MQTT 温度消息")
        lis.add_argument("--mqtt", required=True, help="mqtt://HOST:PORT")
        lis.add_argument("--user")
        lis.add_argument("--count", type=int, default=0, help="收到 N 条后退出（0：一直运行）")
        lis.add_argument("--seconds", type=float, default=0, help="运行 S 秒后退出（0：一直运行）")
        chk = sub.add_parser("manual-check", help="检查人工温度记录缺项并提醒")
        chk.add_argument("--date")

    def handle(self, *args, action, **options):
        try:
            if action == "import-readings":
                return self._import(**options)
            if action == "listen":
                return self._listen(**options)
            return self._manual(**options)
        except VaxOpsError as e:
            raise CommandError(e.message) from None

    def _import(self, *, path, unit, user, json: bool, **options):
        from vaxops.coldchain import intake, selectors

        p = Path(path)
        if not p.is_file():
            raise CommandError(f"文件不存在：{path}")
        eq = selectors.equipment_by_code(code=unit)
        if eq is None:
            raise CommandError(f"设备编码不存在：{unit}")
        actor = cli_actor(user)
        with p.open("rb") as f:
            table = intake.readings_table_open(f, size=p.stat().st_size, filename=p.name)
            result = intake.file_readings(actor=actor, table=table, equipment=eq)
        out = result.as_dict()
        if json:
            import json as _json

            self.stdout.write(_json.dumps(out, ensure_ascii=False))
        else:
            self.stdout.write(
                f"读取 {out['read']} 行：新增 {out['stored']}，未变 {out['unchanged']}，拒绝 {out['rejected']}；"
                f"新发现超标 {out['excursions_opened']} 起"
            )
            for e in out["errors"]:
                self.stdout.write(f"  第{e['row']}行：{e['reason']}")

    def _listen(self, *, mqtt, user, count: int, seconds: float, **options):
        import time

        import paho.mqtt.client as paho

        from vaxops.coldchain import intake

        url = urlparse(mqtt)
        if url.scheme != "mqtt" or not url.hostname:
            raise CommandError(f"--mqtt 应为 mqtt://主机:端口，而不是 {mqtt}")
        actor = cli_actor(user)
        seen = {"n": 0}
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=f"vaxops-coldchain-{uuid.uuid4().hex[:12]}"
        )

        def on_connect(c, userdata, flags, reason, properties=None):
            c.subscribe(TOPIC, qos=1)

        def on_subscribe(c, userdata, mid, reason_codes, properties=None):
            # On stderr (stdout carries the JSON answer): the moment readings start to be received.
            self.stderr.write(f"已订阅 / subscribed: {TOPIC}")

        # (topic, payload, mid, qos): acknowledged to the broker only once stored, so a listener stopped
        # mid-batch has the broker deliver those messages again (QoS 1, at least once; a repeat is unchanged).
        pending: list[tuple[str, bytes, int, int]] = []
        sensors: dict[str, object] = {}
        cached_at = time.monotonic()

        def on_message(c, userdata, msg):
            pending.append((msg.topic, msg.payload, msg.mid, msg.qos))

        def drain() -> None:
            """Ingest what arrived since the last call in one transaction (a busy broker's messages are
            taken together, not one transaction each)."""
            nonlocal cached_at
            from django.db import close_old_connections

            if not pending:
                return
            batch = pending[:]
            del pending[:]
            if time.monotonic() - cached_at > SENSOR_CACHE_SECONDS:
                sensors.clear()
                cached_at = time.monotonic()
            close_old_connections()
            result = intake.mqtt_readings(
                actor=actor, messages=[(t, p) for t, p, _m, _q in batch], sensors=sensors
            )
            for _t, _p, mid, qos in batch:
                if qos:
                    client.ack(mid, qos)
            seen["n"] += len(batch)
            for e in result.errors:
                topic = batch[e["row"] - 1][0] if 0 < e["row"] <= len(batch) else ""
                print(f"{topic}：{e['reason']}", file=sys.stderr)

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        client.manual_ack_set(True)
        try:
            client.connect(url.hostname, url.port or 1883, keepalive=30)
        except OSError as e:
            raise CommandError(f"无法连接 MQTT 服务器 {url.hostname}:{url.port or 1883}：{e}") from None
        deadline = time.monotonic() + seconds if seconds else None
        while not (count and seen["n"] >= count):
            if deadline is not None and time.monotonic() > deadline:
                break
            # Read everything the broker has for us (short waits while messages keep coming), then ingest.
            rc = client.loop(timeout=0.5 if not pending else 0.0)
            while rc == paho.MQTT_ERR_SUCCESS and len(pending) < MAX_BATCH:
                before = len(pending)
                rc = client.loop(timeout=0.0)
                if len(pending) == before:
                    break
            drain()
            if rc != paho.MQTT_ERR_SUCCESS:
                time.sleep(1)
                try:
                    client.reconnect()
                except OSError:
                    continue
        drain()
        client.disconnect()
        self.stdout.write(json.dumps({"received": seen["n"]}))

    def _manual(self, *, date, **options):
        from vaxops.coldchain import services

        day = dt.date.fromisoformat(date) if date else None
        self.stdout.write(json.dumps({"missing": services.manual_log_check(day=day)}))
