"""Run by .ci/db-roles inside ``vaxops shell`` as the application's database role: the application works (pages,
API reads, bookings with their audit events), and the audit log cannot be switched off or rewritten."""

import json

from django.db import DatabaseError, connection, transaction
from django.test import Client

from vaxops.accounts.models import User
from vaxops.accounts.services import api_token_create
from vaxops.audit.models import AuditEvent
from vaxops.booking.models import Slot
from vaxops.core import clock
from vaxops.registry.models import Resident

with connection.cursor() as c:
    c.execute("SELECT current_user")
    print("连接角色 / connected as:", c.fetchone()[0])

cdc = User.objects.get(username="cdc")
before = AuditEvent.objects.count()
browser = Client(HTTP_HOST="127.0.0.1", secure=True)
browser.force_login(cdc)
for path in ("/", "/booking/", "/sites/", "/supply/"):
    status = browser.get(path).status_code
    assert status == 200, (path, status)

_, raw = api_token_create(user=cdc, name="ci roles")
api = Client(HTTP_HOST="127.0.0.1", secure=True, HTTP_AUTHORIZATION=f"Bearer {raw}")
assert api.get("/api/v1/sites").status_code == 200
# Slots still to come (the demo plans from today: after its last slot of the day, today's have all begun).
slots = list(
    Slot.objects.filter(open_booked__lt=1, start__gt=clock.now())
    .order_by("start")
    .values_list("id", flat=True)[:20]
)
booked = 0
for person in Resident.objects.filter(birth_date__year__lt=2000).order_by("id")[:40]:
    for slot in slots[:3]:
        r = api.post(
            "/api/v1/booking/appointments",
            json.dumps({"resident_id": person.pk, "slot_id": slot}),
            content_type="application/json",
        )
        assert r.status_code < 500, r.content
        if r.status_code == 201:
            booked += 1
            break
    if booked >= 3:
        break
assert booked >= 1, "no booking went through"
assert AuditEvent.objects.count() > before, "no audit event"
print(f"预约 {booked} 个，审计事件 +{AuditEvent.objects.count() - before}")

for sql in (
    "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
    "SET session_replication_role = replica",
    "UPDATE audit_auditevent SET action = 'forged'",
    "DELETE FROM audit_auditevent",
    "TRUNCATE audit_auditevent",
    "ALTER TABLE registry_resident ADD COLUMN smuggled text",
):
    try:
        with transaction.atomic(), connection.cursor() as c:
            c.execute(sql)
    except DatabaseError as e:
        print(f"拒绝 / refused: {sql}: {str(e).splitlines()[0]}")
    else:
        raise SystemExit(f"!! the application's role may run: {sql}")
