"""The vaccination desk against the real database: a dose is recorded only from a scanned code after every
hard stop passed and the recipient confirmed; one transaction moves the dose, the code, the stock, the
appointment and the observation; a retry never records a second dose; a void puts things back."""

import re
import uuid

import pytest

from vaxops.audit.models import AuditEvent
from vaxops.booking.models import Appointment, AppointmentStatus
from vaxops.clinic import services as clinic_services
from vaxops.clinic.models import Dose, Observation
from vaxops.core.errors import PermissionDenied, ValidationFailed
from vaxops.desk import services as desk_services
from vaxops.supply import selectors as supply_selectors
from vaxops.supply.models import CodeState, StockBalance, TraceCode

from .desk_setup import code, open_site, ready_person, ten_in_the_morning


@pytest.fixture
def desk1(county, village_a1, vaccinator, monkeypatch):
    ten_in_the_morning(monkeypatch)
    return open_site(county, village_a1, vaccinator)


def _give(vaccinator, person, serial=1, **kw):
    args = {
        "actor": vaccinator,
        "resident_id": person.pk,
        "code": code(serial),
        "client_id": uuid.uuid4().hex,
        "phone_last4": "5678",
    } | kw
    return desk_services.dose_administer(**args)


def _refusal(vaccinator, person, serial=1, **kw) -> str:
    with pytest.raises(ValidationFailed) as refused:
        _give(vaccinator, person, serial, **kw)
    return refused.value.code


def test_a_dose_takes_a_fixed_number_of_statements(
    desk1, village_a1, vaccinator, django_assert_max_num_queries, settings
):
    """Read everything once, decide in pure code, write everything once: on PostgreSQL one statement reads
    every input and one writes the dose with everything it moves, the person's stored status and the
    progress facts joined into it (``core.joined.take``). SQLite
    has no LATERAL join or data-modifying CTE and takes the plain sequence."""
    from django.db import connection

    from vaxops.catalog.selectors import catalogue_current

    person = ready_person(desk1, village_a1, 1)
    settings.VAXOPS_CATALOGUE_TOKEN_TTL = 3600  # a server reads the catalogue's token once a second
    catalogue_current()
    # Inside the test's transaction the dose's own is a savepoint: two statements more than BEGIN/COMMIT.
    # The progress facts (reports) add one: the person and their progress locked and read in one statement
    # (their writes join the dose's statement). On SQLite the code's new state for the traceability platform takes one statement
    # more (its endpoints read, then its messages; on PostgreSQL both are part of the dose's statement).
    with django_assert_max_num_queries(5 if connection.vendor == "postgresql" else 30):
        _give(vaccinator, person)


def test_a_scan_shows_the_card_to_read_aloud_when_every_check_passes(desk1, village_a1, vaccinator):
    person = ready_person(desk1, village_a1, 1)
    result = desk_services.dose_check(actor=vaccinator, resident_id=person.pk, code=code(1))
    assert result["ok"] and result["failures"] == []
    card = result["confirmation"]
    assert (
        card["name"] == "王小明"
        and card["dose_label"] == "第1剂"
        and card["lot_number"] == desk1.lot.lot_number
    )
    assert any(line.startswith("剂量：") for line in card["lines"])
    assert not Dose.objects.exists()


def test_recording_a_dose_moves_everything_in_one_go(desk1, village_a1, vaccinator):
    person = ready_person(desk1, village_a1, 1)
    dose = _give(vaccinator, person, injection_site="左上臂三角肌")

    assert (dose.dose_number, dose.lot, dose.site, dose.trace_code.code) == (
        1,
        desk1.lot,
        desk1.site,
        code(1),
    )
    assert dose.vaccinator.user == vaccinator and dose.injection_site == "左上臂三角肌"
    tc = TraceCode.objects.get(code=code(1))
    assert (tc.state, tc.administered_to) == (CodeState.ADMINISTERED, person)
    assert StockBalance.objects.get(place=desk1.place, lot=desk1.lot).doses == 9
    assert Appointment.objects.get(resident=person).status == AppointmentStatus.COMPLETED
    assert Observation.objects.get(dose=dose).released_at is None
    assert AuditEvent.objects.filter(action="dose.administer", object_id=str(dose.pk)).exists()
    assert supply_selectors.ledger_check()["balanced"]


def test_a_retry_with_the_same_client_id_returns_the_first_dose(desk1, village_a1, vaccinator):
    person = ready_person(desk1, village_a1, 1)
    client_id = uuid.uuid4().hex
    first = _give(vaccinator, person, client_id=client_id)
    again = _give(vaccinator, person, client_id=client_id)
    assert again.pk == first.pk and Dose.objects.count() == 1
    with pytest.raises(ValidationFailed) as refused:
        _give(vaccinator, person, serial=2, client_id=client_id)
    assert refused.value.code == "client_id_reused"


def test_each_hard_stop_refuses_and_writes_nothing(desk1, village_a1, vaccinator):
    from vaxops.supply import services as supply

    unscreened = ready_person(desk1, village_a1, 1, screened=False)
    unsigned = ready_person(desk1, village_a1, 2, consent=False)
    person = ready_person(desk1, village_a1, 3)
    assert _refusal(vaccinator, unscreened) == "screening"
    assert _refusal(vaccinator, unsigned) == "consent"
    assert _refusal(vaccinator, person, phone_last4="0000") == "recipient_not_confirmed"
    assert _refusal(vaccinator, person, injection_site="脚") == "injection_site_invalid"
    assert _refusal(vaccinator, person, serial=999) == "code_unknown"
    supply.lot_status_change(actor=vaccinator, lot=desk1.lot, status="on_hold", reason="冷链异常待评估")
    assert _refusal(vaccinator, person) == "lot_on_hold"
    assert not Dose.objects.exists()
    assert TraceCode.objects.filter(state=CodeState.ADMINISTERED).count() == 0


def test_a_used_code_and_an_unassigned_vaccinator_are_stopped(desk1, village_a1, vaccinator, worker_a):
    _give(vaccinator, ready_person(desk1, village_a1, 1))
    other = ready_person(desk1, village_a1, 2, name="李大")
    assert _refusal(vaccinator, other) == "code_used"
    with pytest.raises(PermissionDenied) as refused:
        _give(worker_a, other, serial=2)
    assert refused.value.code == "desk_not_staff"
    assert Dose.objects.count() == 1


def test_a_person_who_did_not_check_in_cannot_be_vaccinated(desk1, village_a1, vaccinator):
    from vaxops.registry.models import Resident

    stranger = Resident.objects.create(
        id_type="passport",
        id_number="E12345678",
        name="访客",
        village=village_a1,
        village_code=village_a1.code,
    )
    with pytest.raises(ValidationFailed) as refused:
        desk_services.dose_check(actor=vaccinator, resident_id=stranger.pk, code=code(1))
    assert refused.value.code == "not_checked_in"


def test_observation_lasts_thirty_minutes_unless_a_reason_is_given(desk1, village_a1, vaccinator):
    dose = _give(vaccinator, ready_person(desk1, village_a1, 1))
    obs = Observation.objects.get(dose=dose)
    with pytest.raises(ValidationFailed, match="还需"):
        desk_services.observation_release(actor=vaccinator, observation_id=obs.pk)
    desk_services.reaction_note_add(
        actor=vaccinator,
        observation_id=obs.pk,
        severity="moderate",
        description="胸闷，送定点医院",
        transferred=True,
    )
    released = desk_services.observation_release(
        actor=vaccinator, observation_id=obs.pk, reason="异常反应转诊"
    )
    assert released.released_at is not None and "转诊" in released.release_note


@pytest.mark.parametrize(
    "disposition, state, balance", [("returned", CodeState.IN_STOCK, 10), ("wasted", CodeState.WASTED, 9)]
)
def test_a_void_puts_the_code_and_stock_back_or_writes_it_off(
    desk1, village_a1, vaccinator, cdc, disposition, state, balance
):
    dose = _give(vaccinator, ready_person(desk1, village_a1, 1))
    with pytest.raises(ValidationFailed, match="疫苗去向"):
        clinic_services.dose_void(actor=cdc, dose_id=dose.pk, reason="登记错人")
    clinic_services.dose_void(actor=cdc, dose_id=dose.pk, reason="登记错人", disposition=disposition)
    assert TraceCode.objects.get(code=code(1)).state == state
    assert StockBalance.objects.get(place=desk1.place, lot=desk1.lot).doses == balance
    assert supply_selectors.ledger_check()["balanced"]
    assert Appointment.objects.get(resident=dose.resident).status == AppointmentStatus.CANCELLED


def test_the_registration_desk_checks_in_by_id_card_or_appointment_qr(desk1, village_a1, vaccinator):
    import datetime as dt

    from vaxops.booking import services as booking
    from vaxops.booking.selfservice import appointment_qr_text
    from vaxops.conftest import make_id
    from vaxops.core.actors import SystemActor
    from vaxops.registry.models import Resident

    people = [
        Resident.objects.create(
            id_type="resident_id",
            id_number=make_id(dt.date(1975, 1, 1), i),
            name=f"居民{i}",
            village=village_a1,
            village_code=village_a1.code,
            birth_date=dt.date(1975, 1, 1),
        )
        for i in (1, 2, 3)
    ]
    slot = desk1.session.slots.order_by("-start").first()
    a = booking.appointment_book(actor=SystemActor("t"), resident=people[0], slot=slot, channel="community")
    b = booking.appointment_book(actor=SystemActor("t"), resident=people[1], slot=slot, channel="self")

    desk = SystemActor("registration-desk")
    with pytest.raises(PermissionDenied):
        desk_services.desk_check_in(actor=vaccinator, session=desk1.session, scan=people[0].id_number)
    by_card = desk_services.desk_check_in(actor=desk, session=desk1.session, scan=people[0].id_number + "\n")
    assert by_card["appointment"].pk == a.pk and by_card["appointment"].status == AppointmentStatus.CHECKED_IN
    by_qr = desk_services.desk_check_in(actor=desk, session=desk1.session, scan=appointment_qr_text(b))
    assert by_qr["appointment"].pk == b.pk and by_qr["message"] == "已签到"
    walk_in = desk_services.desk_check_in(actor=desk, session=desk1.session, scan=people[2].id_number)
    assert walk_in["appointment"] is None and "现场号" in walk_in["message"]
    with pytest.raises(ValidationFailed, match="二维码无效"):
        desk_services.desk_check_in(
            actor=SystemActor("desk"), session=desk1.session, scan=appointment_qr_text(b)[:-2] + "xx"
        )
    assert AuditEvent.objects.filter(action="resident.search_by_document", purpose="现场登记").count() == 2


def test_the_record_link_opens_the_persons_record_and_a_forged_one_does_not(desk1, village_a1, vaccinator):
    person = ready_person(desk1, village_a1, 1)
    dose = _give(vaccinator, person)
    link = clinic_services.record_link_send(
        actor=vaccinator, resident=person, base_url="https://vaxops.example", dose=dose
    )
    token = clinic_services.record_link_token(link)
    assert clinic_services.record_link_from_token(token).resident == person
    assert clinic_services.record_link_from_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    from vaxops.notify.models import Notification

    text = Notification.objects.get(template="record_link").text
    sent = re.search(r"https://vaxops\.example/r/([^/\s]+)/", text)
    assert sent is not None and sent.group(1) == token
    assert person.id_number not in text and "第1剂" in text
