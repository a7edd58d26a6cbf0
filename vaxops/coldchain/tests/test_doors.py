"""Readings in through the API, logger files and MQTT: the same counting rule, idempotent, scoped."""

import datetime as dt
import io
import json
import socket
import threading
import time

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from vaxops.accounts.services import api_token_create, user_create
from vaxops.coldchain import intake
from vaxops.coldchain.models import Excursion, Reading
from vaxops.conftest import PASSWORD
from vaxops.desk.tests.desk_setup import ten_in_the_morning
from vaxops.supply.models import CodeState, TraceCode

from .helpers import equipment_for


@pytest.fixture
def site(county, village_a1, vaccinator, monkeypatch):
    from vaxops.desk.tests.desk_setup import open_site

    now = ten_in_the_morning(monkeypatch)
    d = open_site(county, village_a1, vaccinator)
    d.now = now
    return d


@pytest.fixture
def eq(site):
    return equipment_for(site.place)


def _auth(user) -> dict:
    _, raw = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()


def test_the_api_takes_a_batch_counts_it_and_quarantines_on_a_freeze(client, site, eq, cdc):
    start = site.now - dt.timedelta(hours=2)
    body = [
        {"unit": eq.code, "at": _iso(start + dt.timedelta(minutes=i)), "celsius": -1.5} for i in range(61)
    ]
    body.insert(0, {"unit": eq.code, "at": _iso(start - dt.timedelta(minutes=1)), "celsius": 4})
    body.append({"unit": "NOPE", "at": _iso(start), "celsius": 4})
    body.append({"unit": eq.code, "at": "2026-13-01T00:00", "celsius": 4})
    body.append(
        {
            "unit": eq.code,
            "at": (start + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat(),
            "celsius": 4,
        }
    )
    r = client.post("/api/v1/coldchain/readings", body, content_type="application/json", **_auth(cdc))
    assert r.status_code == 200, r.content
    out = r.json()
    assert (out["read"], out["stored"], out["unchanged"], out["rejected"]) == (65, 62, 0, 3)
    assert [e["row"] for e in out["errors"]] == [63, 64, 65]
    assert "时区" in out["errors"][2]["reason"]
    assert out["excursions_opened"] == 2  # the freeze and the warning around it
    assert TraceCode.objects.filter(state=CodeState.QUARANTINED).count() == 10
    again = client.post(
        "/api/v1/coldchain/readings", body[:62], content_type="application/json", **_auth(cdc)
    )
    assert again.json()["unchanged"] == 62 and again.json()["stored"] == 0
    code = TraceCode.objects.first().code
    state = client.get(f"/api/v1/supply/codes/{code}", **_auth(cdc)).json()
    assert state["state"] == "quarantined" and state["unit"] == eq.unit_id
    units = client.get("/api/v1/coldchain/units", **_auth(cdc)).json()
    assert units[0]["code"] == eq.code and units[0]["quarantined"] == 10


def test_the_api_refuses_a_unit_outside_the_users_scope(client, site, eq, county):
    from vaxops.jurisdictions.models import Division

    other = user_create(
        username="town_b",
        password=PASSWORD,
        role="township_worker",
        division=Division.objects.get(code="330199002000"),
    )
    body = [{"unit": eq.code, "at": _iso(site.now), "celsius": 4}]
    out = client.post(
        "/api/v1/coldchain/readings", body, content_type="application/json", **_auth(other)
    ).json()
    assert (out["read"], out["rejected"], out["stored"]) == (1, 1, 0)
    assert not Reading.objects.exists()


def test_the_api_moves_an_excursion_through_its_steps(client, site, eq, cdc):
    start = site.now - dt.timedelta(hours=2)
    body = [{"unit": eq.code, "at": _iso(start + dt.timedelta(minutes=i)), "celsius": -1} for i in range(61)]
    body.append({"unit": eq.code, "at": _iso(start + dt.timedelta(minutes=61)), "celsius": 5})
    client.post("/api/v1/coldchain/readings", body, content_type="application/json", **_auth(cdc))
    e = Excursion.objects.get(kind="freeze")
    auth = _auth(cdc)
    base = f"/api/v1/coldchain/excursions/{e.pk}"
    r = client.post(
        base + "/assess", {"decision": "release", "reason": "x"}, content_type="application/json", **auth
    )
    assert r.status_code == 400 and r.json()["code"] == "excursion_status_step"
    assert client.post(base + "/acknowledge", {}, content_type="application/json", **auth).status_code == 200
    r = client.post(
        base + "/assess",
        {"decision": "destroy", "reason": "冻结", "witness": "王监督"},
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 200 and r.json()["status"] == "assessed"
    assert client.post(base + "/close", content_type="application/json", **auth).json()["status"] == "closed"
    assert TraceCode.objects.filter(state=CodeState.WASTED, wasted_reason="temperature").count() == 10


def _csv(text: str, tmp_path, name="logger.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_a_logger_csv_with_chinese_headers_in_any_order(tmp_path, site, eq, capsys):
    start = (site.now - dt.timedelta(hours=3)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    lines = (
        ["温度(℃),记录时间"]
        + [
            f"{-1.2 if 0 < i < 62 else 4.0},{(start + dt.timedelta(minutes=i)).strftime('%Y-%m-%d %H:%M:%S')}"
            for i in range(63)
        ]
        + ["abc,2026-12-01 08:00:00", "4.0,"]
    )
    p = _csv("\n".join(lines), tmp_path, encoding="gbk")
    call_command("coldchain", "import-readings", str(p), "--unit", eq.code, "--json")
    out = json.loads(capsys.readouterr().out)
    assert (out["read"], out["stored"], out["unchanged"], out["rejected"]) == (65, 63, 0, 2)
    assert out["read"] == out["stored"] + out["unchanged"] + out["rejected"]
    assert [e["row"] for e in out["errors"]] == [65, 66]
    assert out["excursions_opened"] == 2
    assert Excursion.objects.get(kind="freeze").start == start + dt.timedelta(minutes=1)
    call_command("coldchain", "import-readings", str(p), "--unit", eq.code, "--json")
    again = json.loads(capsys.readouterr().out)
    assert (again["stored"], again["unchanged"], again["excursions_opened"]) == (0, 63, 0)


def test_a_logger_xlsx_with_english_headers(tmp_path, site, eq):
    wb = Workbook()
    ws = wb.active
    ws.append(["Temperature (°C)", "Date/Time"])
    base = (
        (site.now - dt.timedelta(hours=1)).astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    )
    for i in range(5):
        ws.append([4.5 + i / 10, base + dt.timedelta(minutes=i)])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    table = intake.readings_table_open(buf, size=len(buf.getvalue()), filename="x.xlsx")
    result = intake.file_readings(actor=None, table=table, equipment=eq)
    assert (result.read, result.stored, result.rejected) == (5, 5, 0)


def test_a_file_without_a_temperature_column_is_refused(tmp_path, site, eq):
    from vaxops.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        intake.readings_table_open(io.BytesIO("时间,备注\n2026-12-01 08:00,x\n".encode()), filename="x.csv")
    assert refused.value.code == "file_columns_missing"


def test_an_mqtt_message_is_checked_like_any_reading(site, eq):
    good = intake.mqtt_reading(
        actor=None,
        topic=f"vaxops/coldchain/{eq.code}/temperature",
        payload=json.dumps({"at": _iso(site.now), "celsius": 5.1}).encode(),
    )
    assert (good.read, good.stored) == (1, 1)
    for topic, payload in (
        ("vaxops/coldchain/NOPE/temperature", b'{"at": "2026-01-01T00:00:00+08:00", "celsius": 1}'),
        (f"vaxops/coldchain/{eq.code}/temperature", b"not json"),
        (f"vaxops/other/{eq.code}", b"{}"),
    ):
        bad = intake.mqtt_reading(actor=None, topic=topic, payload=payload)
        assert (bad.read, bad.rejected) == (1, 1)


def _broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.django_db(transaction=True)
def test_the_listener_stores_what_the_broker_delivers(audit_log_flushable, county, village_a1, vaccinator):
    if not _broker_up():
        pytest.skip("no MQTT broker answers at 127.0.0.1:1883")
    import paho.mqtt.client as paho

    from vaxops.desk.tests.desk_setup import open_site

    site = open_site(county, village_a1, vaccinator)
    eq = equipment_for(site.place, code=f"MQ{int(time.time() * 1000) % 10**8}")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    errors: list = []
    subscribed = threading.Event()

    class Said(io.StringIO):
        def write(self, s):
            if "subscribed" in s:
                subscribed.set()
            return super().write(s)

    def listen():
        try:
            call_command(
                "coldchain",
                "listen",
                "--mqtt",
                "mqtt://127.0.0.1:1883",
                "--count",
                "3",
                "--seconds",
                "20",
                stderr=Said(),
            )
        except Exception as e:  # noqa: BLE001
            errors.append(e)
        finally:
            from django.db import connection

            connection.close()

    t = threading.Thread(target=listen)
    t.start()
    # Publish only once the broker has acknowledged the listener's subscription (messages published before it
    # reach nobody); a fixed wait was too short on a busy machine.
    assert subscribed.wait(15), errors
    pub = paho.Client(paho.CallbackAPIVersion.VERSION2)
    pub.connect("127.0.0.1", 1883)
    pub.loop_start()
    for i in range(3):
        payload = json.dumps({"at": _iso(now - dt.timedelta(minutes=3 - i)), "celsius": 4 + i})
        pub.publish(f"vaxops/coldchain/{eq.code}/temperature", payload, qos=1).wait_for_publish(5)
    t.join(25)
    pub.loop_stop()
    pub.disconnect()
    assert not errors
    assert Reading.objects.filter(sensor__equipment=eq, source="mqtt").count() == 3
