"""The audit log is append-only: neither the ORM nor raw SQL can rewrite it."""

import pytest
from django.db import DatabaseError, connection, transaction

from vaxops.audit.models import AuditEvent
from vaxops.audit.services import audit_record, audit_record_many


@pytest.fixture
def event(db):
    return audit_record(
        actor=None, action="test.event", object_type="test", object_id=1, new={"a": 1}, purpose="测试"
    )


def unchanged(event: AuditEvent) -> bool:
    row = AuditEvent.objects.get(pk=event.pk)
    return (row.action, row.new, row.purpose) == ("test.event", {"a": 1}, "测试")


class TestOrm:
    def test_it_refuses_a_queryset_update(self, event):
        with pytest.raises(TypeError, match="只能追加"):
            AuditEvent.objects.filter(pk=event.pk).update(action="forged")
        assert unchanged(event)

    def test_it_refuses_a_queryset_delete(self, event):
        with pytest.raises(TypeError, match="只能追加"):
            AuditEvent.objects.filter(pk=event.pk).delete()
        with pytest.raises(TypeError):
            AuditEvent.objects.all().delete()
        assert AuditEvent.objects.filter(pk=event.pk).exists()

    def test_it_refuses_saving_an_existing_event(self, event):
        event.action = "forged"
        with pytest.raises(TypeError):
            event.save()
        assert unchanged(event)

    def test_it_refuses_deleting_an_event(self, event):
        with pytest.raises(TypeError):
            event.delete()
        assert AuditEvent.objects.filter(pk=event.pk).exists()

    def test_it_appends(self, event):
        audit_record(actor=None, action="test.second")
        n = audit_record_many(
            actor=None, action="test.many", object_type="t", items=[(1, None, {"x": 1}), (2, None, None)]
        )

        assert n == 2
        assert AuditEvent.objects.count() == 4
        assert unchanged(event)


class TestRawSql:
    def test_it_refuses_a_raw_update(self, event):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["forged", event.pk])
        assert unchanged(event)

    def test_it_refuses_a_raw_delete(self, event):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
        assert AuditEvent.objects.filter(pk=event.pk).exists()

    def test_it_refuses_a_raw_delete_of_everything(self, event):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent")
        assert AuditEvent.objects.count() == 1

    def test_it_still_allows_raw_inserts(self, event):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO audit_auditevent (at, actor_label, action, object_type, object_id, object_repr, "
                "purpose, request_id) VALUES (CURRENT_TIMESTAMP, 'sql', 'test.raw', '', '', '', '', '')"
            )
        assert AuditEvent.objects.filter(action="test.raw").count() == 1
