"""The outbox against a real receiving FHIR server over HTTP: every dose event becomes a message in the
dose's transaction, the worker sends them as transaction Bundles, and a failing, slow or vanishing receiver
or a worker killed mid-send loses nothing and duplicates nothing."""

import datetime as dt

import pytest

from vaxops.clinic import services as clinic_services
from vaxops.core import clock
from vaxops.core.errors import ValidationFailed
from vaxops.exchange import resources, services
from vaxops.exchange.models import Endpoint, MessageState, OutboundMessage

from .conftest import give


def _states():
    return sorted(OutboundMessage.objects.values_list("state", flat=True))


def _later(monkeypatch, seconds):
    """Move the clock ``seconds`` on (the endpoint's back-off, a lease running out)."""
    moved = clock.now() + dt.timedelta(seconds=seconds)
    monkeypatch.setattr(clock, "now", lambda: moved)
    return moved


def test_a_dose_writes_a_message_for_each_active_endpoint(desk1, village_a1, vaccinator, endpoint):
    Endpoint.objects.create(
        code="nis", name="国家免疫规划信息系统", kind="national", url="http://127.0.0.1:9/"
    )
    Endpoint.objects.create(code="off", name="停用", kind="national", url="http://127.0.0.1:9/", active=False)
    (dose,) = give(desk1, village_a1, vaccinator, 1)
    rows = list(
        OutboundMessage.objects.values_list("endpoint__code", "dose_id", "resident_id", "kind", "state")
    )
    assert sorted(rows) == [
        ("nis", dose.pk, dose.resident_id, "create", "pending"),
        ("province", dose.pk, dose.resident_id, "create", "pending"),
    ]


def test_a_refused_dose_writes_no_message(desk1, village_a1, vaccinator, endpoint):
    give(desk1, village_a1, vaccinator, 1)
    from vaxops.desk.tests.desk_setup import ready_person

    other = ready_person(desk1, village_a1, 50, name="李四")
    from vaxops.desk import services as desk_services
    from vaxops.desk.tests.desk_setup import code

    with pytest.raises(ValidationFailed):  # the code was used a moment ago
        desk_services.dose_administer(
            actor=vaccinator, resident_id=other.pk, code=code(1), client_id="x", phone_last4="5678"
        )
    assert OutboundMessage.objects.count() == 1


def test_doses_reach_the_receiver_and_are_acknowledged(desk1, village_a1, vaccinator, endpoint, receiver):
    doses = give(desk1, village_a1, vaccinator, 3)
    result = services.outbox_drain()
    assert (result.claimed, result.acknowledged, result.failed) == (3, 3, 0)
    assert _states() == ["acknowledged"] * 3
    assert receiver.store.count("Immunization") == 3
    assert receiver.store.count("Patient") == 3
    assert receiver.store.count("Location") == 1 and receiver.store.count("Organization") == 1
    stored = receiver.store.resources["Immunization"]
    ref = next(iter(stored.values()))["patient"]["reference"]
    assert ref.startswith("Patient/") and ref.split("/")[1] in receiver.store.resources["Patient"]
    m = OutboundMessage.objects.get(dose=doses[0])
    assert m.remote_id.startswith("Immunization/") and m.acknowledged_at is not None and m.attempts == 1


def test_a_void_follows_its_dose_as_entered_in_error(desk1, village_a1, vaccinator, endpoint, receiver, cdc):
    (dose,) = give(desk1, village_a1, vaccinator, 1)
    clinic_services.dose_void(actor=cdc, dose_id=dose.pk, reason="录入错误", disposition="returned")
    # In order per person: the create goes first, the void waits for it.
    first = services.outbox_claim(endpoint=endpoint, limit=10)
    assert [OutboundMessage.objects.get(pk=i).kind for i in first] == ["create"]
    OutboundMessage.objects.filter(pk__in=first).update(state="pending", lease_until=None)
    services.outbox_drain()
    assert _states() == ["acknowledged", "acknowledged"]
    (imm,) = receiver.store.resources["Immunization"].values()
    assert imm["status"] == "entered-in-error" and imm["statusReason"] == {"text": "录入错误"}
    assert receiver.store.updates == 1


def test_a_receiver_answering_500_delays_the_endpoint_then_everything_drains(
    desk1, village_a1, vaccinator, endpoint, receiver, monkeypatch
):
    give(desk1, village_a1, vaccinator, 4)
    receiver.mode = "fail"
    result = services.outbox_drain()
    assert result.acknowledged == 0 and result.released == 4
    endpoint.refresh_from_db()
    assert endpoint.failures == 1 and endpoint.retry_at > clock.now()
    assert "HTTP 500" in endpoint.last_error and "服务异常" in endpoint.last_error
    assert _states() == ["pending"] * 4
    receiver.mode = "ok"
    assert services.outbox_drain().claimed == 0  # backing off
    _later(monkeypatch, 3)
    assert services.outbox_drain().acknowledged == 4
    assert receiver.store.count("Immunization") == 4
    endpoint.refresh_from_db()
    assert endpoint.failures == 0 and endpoint.retry_at is None


def test_the_back_off_doubles(desk1, village_a1, vaccinator, endpoint, receiver, monkeypatch):
    give(desk1, village_a1, vaccinator, 1)
    receiver.mode = "fail"
    waits = []
    for _ in range(4):
        services.outbox_drain()
        endpoint.refresh_from_db()
        waits.append((endpoint.retry_at - clock.now()).total_seconds())
        _later(monkeypatch, waits[-1] + 1)
    assert waits == [2, 4, 8, 16]
    assert OutboundMessage.objects.get().attempts == 4


def test_a_receiver_that_times_out_loses_nothing(
    desk1, village_a1, vaccinator, endpoint, receiver, monkeypatch
):
    give(desk1, village_a1, vaccinator, 2)
    receiver.mode, receiver.delay = "slow", 3  # the endpoint waits 2 s
    result = services.outbox_drain()
    assert result.released == 2 and "超时" in result.errors[0]
    receiver.mode = "ok"
    _later(monkeypatch, 3)
    assert services.outbox_drain().acknowledged == 2
    # The slow request was applied after the sender gave up; the resend matched it: no duplicate.
    assert receiver.store.count("Immunization") == 2


@pytest.mark.parametrize("mode", ["drop", "drop-before"])
def test_a_receiver_going_away_mid_batch_duplicates_nothing(
    desk1, village_a1, vaccinator, endpoint, receiver, monkeypatch, mode
):
    give(desk1, village_a1, vaccinator, 5)
    receiver.mode = mode
    result = services.outbox_drain()
    assert result.acknowledged == 0 and result.released == 5
    assert _states() == ["pending"] * 5
    receiver.mode = "ok"
    _later(monkeypatch, 3)
    assert services.outbox_drain().acknowledged == 5
    assert receiver.store.count("Immunization") == 5
    assert receiver.store.count("Patient") == 5


def test_a_worker_killed_between_send_and_acknowledgement_loses_and_duplicates_nothing(
    desk1, village_a1, vaccinator, endpoint, receiver, monkeypatch
):
    give(desk1, village_a1, vaccinator, 6)

    def killed():
        raise SystemExit("killed")

    monkeypatch.setattr(services, "_after_send", killed)
    with pytest.raises(SystemExit):
        services.outbox_drain()
    assert receiver.store.count("Immunization") == 6  # the receiver applied the batch
    assert _states() == ["sent"] * 6  # nobody recorded it
    monkeypatch.setattr(services, "_after_send", lambda: None)
    assert services.outbox_drain().claimed == 0  # the dead worker's lease still runs
    _later(monkeypatch, endpoint.timeout_seconds + services.LEASE_MARGIN_SECONDS + 1)
    result = services.outbox_drain()
    assert result.acknowledged == 6
    assert _states() == ["acknowledged"] * 6
    assert receiver.store.count("Immunization") == 6
    assert receiver.store.matched >= 6  # the resend was recognised, not applied again
    assert set(OutboundMessage.objects.values_list("attempts", flat=True)) == {2}


def test_a_refusal_fails_the_message_with_the_answer_in_chinese(
    desk1, village_a1, vaccinator, endpoint, receiver
):
    give(desk1, village_a1, vaccinator, 2)
    receiver.mode = "reject"
    result = services.outbox_drain()
    assert result.failed == 2  # the batch was refused, then each message alone
    m = OutboundMessage.objects.first()
    assert m.state == MessageState.FAILED
    assert (
        "HTTP 422" in m.error and "违反业务规则（business-rule）：接种单位未在省级平台备案（测试）" in m.error
    )
    receiver.mode = "ok"
    from vaxops.core.actors import SystemActor

    assert services.messages_retry(actor=SystemActor("test"), ids=[m.pk]) == 1
    assert services.outbox_drain().acknowledged == 1


def test_a_resource_that_fails_validation_is_not_sent(
    desk1, village_a1, vaccinator, endpoint, receiver, monkeypatch
):
    give(desk1, village_a1, vaccinator, 1)
    built = resources.immunization
    monkeypatch.setattr(
        resources, "immunization", lambda *a, **k: built(*a, **k) | {"occurrenceDateTime": "昨天"}
    )
    result = services.outbox_drain()
    assert result.failed == 1 and receiver.store.requests == 0
    assert OutboundMessage.objects.get().error.startswith("本地校验未通过（FHIR R4）")


def test_the_traceability_platform_gets_the_code_without_the_person(desk1, village_a1, vaccinator, receiver):
    Endpoint.objects.create(code="trace", name="追溯平台", kind="traceability", url=receiver.url)
    (dose,) = give(desk1, village_a1, vaccinator, 1)
    (m,) = OutboundMessage.objects.all()
    assert (m.kind, m.code_state, m.trace_code_id, m.dose_id) == (
        "code",
        "administered",
        dose.trace_code_id,
        dose.pk,
    )
    assert services.outbox_drain().acknowledged == 1
    assert receiver.store.count("Patient") == 0 and receiver.store.count("Immunization") == 0
    (med,) = receiver.store.resources["Medication"].values()
    assert med["identifier"] == [{"system": resources.SYSTEM_TRACE_CODE, "value": dose.trace_code.code}]
    assert med["status"] == "inactive" and med["batch"]["lotNumber"] == desk1.lot.lot_number
    ext = {e["url"]: e for e in med["extension"]}
    assert ext[resources.EXT_CODE_STATE]["valueCoding"]["code"] == "administered"
    assert ext[resources.EXT_CODE_DOSE]["valueIdentifier"]["value"] == str(dose.pk)
    assert "王" not in str(med)


def test_a_backlog_drains_in_batches(desk1, village_a1, vaccinator, endpoint, receiver):
    Endpoint.objects.filter(pk=endpoint.pk).update(batch_size=4)
    give(desk1, village_a1, vaccinator, 10)
    result = services.outbox_drain()
    assert result.acknowledged == 10
    assert receiver.store.requests == 3
