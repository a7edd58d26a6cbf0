"""The shared workflow: the nurse turns a reaction into a report and refers the person, the hospital treats,
the county stops the lot in one click and the next scan of it is refused, the panel classifies, the clocks
escalate, signals open, claims are registered."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from vaxops.audit.models import AuditEvent
from vaxops.core.errors import PermissionDenied, ValidationFailed
from vaxops.desk import services as desk_services
from vaxops.desk.tests.desk_setup import code, ready_person
from vaxops.notify.models import Notification
from vaxops.safety import selectors, services
from vaxops.safety.models import (
    AdverseEventReport,
    BackgroundRate,
    ClockAlert,
    HospitalCase,
    LotHold,
    Outcome,
    SafetySignal,
)
from vaxops.sites.models import Site, StaffMember
from vaxops.supply.models import Lot

from .conftest import give, note


def test_the_pairing_gives_the_site_its_hospital(desk1, hospitals):
    paired, severe = hospitals
    site = Site.objects.get(pk=desk1.site.pk)
    assert (site.hospital_name, site.hospital_phone) == (paired.name, paired.phone)
    assert services.hospital_for(site=site, severe=False) == paired
    assert services.hospital_for(site=site, severe=True) == severe


def test_a_reaction_note_becomes_a_report_in_one_step_and_the_person_is_referred(
    desk1, village_a1, vaccinator, nurse, hospitals
):
    paired, severe = hospitals
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    n = note(dose)
    report = services.report_from_note(actor=nurse, note=n, refer=True)

    assert (report.dose, report.lot, report.site, report.product_code) == (
        dose,
        desk1.lot,
        desk1.site,
        desk1.lot.product.code,
    )
    assert report.source == "observation" and report.serious and report.status == "reported"
    assert {"过敏性休克", "呼吸困难"} <= set(report.signs)
    case = HospitalCase.objects.get(report=report)
    assert case.hospital == severe  # a severe case goes to the designated hospital, not the paired one
    assert Notification.objects.filter(template="aefi_referral", phone=severe.reporter_phone).exists()
    n.refresh_from_db()
    assert n.transferred
    assert AuditEvent.objects.filter(action="safety.report_create", object_id=str(report.pk)).exists()
    with pytest.raises(ValidationFailed) as again:
        services.report_from_note(actor=nurse, note=n)
    assert again.value.code == "aefi_note_already_reported"


def test_a_mild_reaction_is_referred_to_the_paired_hospital(desk1, village_a1, vaccinator, nurse, hospitals):
    paired, _severe = hospitals
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    report = services.report_from_note(
        actor=nurse, note=note(dose, severity="mild", description="局部红肿"), refer=True
    )
    assert not report.serious and HospitalCase.objects.get(report=report).hospital == paired
    assert not LotHold.objects.exists()  # a mild case proposes no hold


def test_the_hospital_records_treatment_outcome_and_discharge(
    desk1, village_a1, vaccinator, nurse, doctor, hospitals
):
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    report = services.report_from_note(actor=nurse, note=note(dose), refer=True)
    inbox = list(selectors.hospital_inbox(user=doctor))
    assert [c.report for c in inbox] == [report]
    case = inbox[0]
    services.hospital_case_admit(actor=doctor, case_id=case.pk, doctor="钱医生")
    services.treatment_add(actor=doctor, case_id=case.pk, note="肾上腺素0.5mg肌注，吸氧，生命体征平稳")
    services.hospital_case_discharge(actor=doctor, case_id=case.pk, outcome="recovered")
    case.refresh_from_db()
    report.refresh_from_db()
    assert case.state == "discharged" and report.outcome == "recovered"
    assert "肾上腺素" in report.treatment
    assert list(selectors.hospital_inbox(user=doctor)) == []
    with pytest.raises(ValidationFailed) as refused:
        services.treatment_add(actor=doctor, case_id=case.pk, note="再次记录")
    assert refused.value.code == "hospital_case_state"
    with pytest.raises(PermissionDenied):
        services.hospital_case_admit(actor=nurse, case_id=case.pk)


def test_after_the_countys_click_the_next_scan_of_the_lot_is_refused(
    desk1, village_a1, vaccinator, nurse, cdc, hospitals
):
    staff = StaffMember.objects.filter(site=desk1.site).first()
    StaffMember.objects.filter(pk=staff.pk).update(phone="13900000001")
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    services.report_from_note(actor=nurse, note=note(dose))
    hold = LotHold.objects.get(lot=desk1.lot)
    assert hold.state == "proposed"
    assert Lot.objects.get(pk=desk1.lot.pk).status == "released"  # proposed only, until the county confirms

    services.lot_hold_confirm(actor=cdc, hold_id=hold.pk)

    assert Lot.objects.get(pk=desk1.lot.pk).status == "on_hold"
    assert Notification.objects.filter(template="lot_hold", phone="13900000001").exists()
    person = ready_person(desk1, village_a1, 2)
    with pytest.raises(ValidationFailed) as refused:
        desk_services.dose_administer(
            actor=vaccinator,
            resident_id=person.pk,
            code=code(2),
            client_id=uuid.uuid4().hex,
            phone_last4="5678",
        )
    assert refused.value.code == "lot_on_hold"
    with pytest.raises(ValidationFailed) as twice:
        services.lot_hold_confirm(actor=cdc, hold_id=hold.pk)
    assert twice.value.code == "lot_hold_state"


def test_a_cluster_of_serious_cases_at_one_site_is_marked_and_a_hold_proposed(
    desk1, village_a1, vaccinator, cdc, hospitals
):
    d1 = give(desk1, village_a1, vaccinator, 1, 1)
    d2 = give(desk1, village_a1, vaccinator, 2, 2)
    now = timezone.now()
    for d in (d1, d2):
        services.report_create(
            actor=cdc,
            dose=d,
            source="county",
            onset_at=now,
            signs=["高热"] if d == d1 else ["发热"],
            criteria=["hospitalisation"],
            reporter_name="县疾控",
        )
    assert AdverseEventReport.objects.filter(cluster=True).count() == 2
    hold = LotHold.objects.get(lot=desk1.lot)
    assert hold.reports.count() == 2


def test_mild_cases_are_a_cluster_only_under_the_policys_rise(desk1, village_a1, vaccinator, cdc, settings):
    settings.VAXOPS_SAFETY = {"cluster_min_any": 2, "auto_hold": True}
    d1 = give(desk1, village_a1, vaccinator, 1, 1)
    d2 = give(desk1, village_a1, vaccinator, 2, 2)
    now = timezone.now()
    for d in (d1, d2):
        services.report_create(
            actor=cdc, dose=d, source="site", onset_at=now, signs="晕厥", reporter_name="门诊"
        )
    # the county's policy holds automatically
    assert LotHold.objects.get(lot=desk1.lot).state == "held"
    assert Lot.objects.get(pk=desk1.lot.pk).status == "on_hold"


def test_release_needs_the_panels_classification(
    desk1, village_a1, vaccinator, nurse, cdc, panel, experts, hospitals
):
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    report = services.report_from_note(actor=nurse, note=note(dose))
    hold = LotHold.objects.get(lot=desk1.lot)
    services.lot_hold_confirm(actor=cdc, hold_id=hold.pk)
    with pytest.raises(ValidationFailed) as early:
        services.lot_hold_release(actor=cdc, hold_id=hold.pk, reason="评估完毕")
    assert early.value.code == "lot_release_unclassified"

    services.investigation_open(actor=cdc, report_id=report.pk)
    with pytest.raises(ValidationFailed) as few:
        services.panel_classify(
            actor=panel,
            report_id=report.pk,
            diagnosis="过敏性休克",
            classification="abnormal",
            reasoning="接种后15分钟发病，符合",
            expert_ids=[experts[0].pk],
        )
    assert few.value.code == "aefi_panel_members_missing"
    services.panel_classify(
        actor=panel,
        report_id=report.pk,
        diagnosis="过敏性休克",
        classification="abnormal",
        reasoning="接种后15分钟发病，符合疫苗过敏反应",
        expert_ids=[e.pk for e in experts],
    )
    report.refresh_from_db()
    assert (report.status, report.classification) == ("classified", "abnormal")
    services.lot_hold_release(actor=cdc, hold_id=hold.pk, reason="专家组诊断为个体异常反应，非疫苗质量问题")
    assert Lot.objects.get(pk=desk1.lot.pk).status == "released"
    actions = list(
        AuditEvent.objects.filter(object_id=str(report.pk), action__startswith="safety.report_")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["safety.report_create", "safety.report_investigating", "safety.report_classified"]
    services.report_close(actor=cdc, report_id=report.pk)
    with pytest.raises(ValidationFailed) as back:
        services.investigation_open(actor=cdc, report_id=report.pk)
    assert back.value.code == "aefi_status_move"


def test_clocks_escalate_once_as_they_run_out(
    desk1, village_a1, vaccinator, cdc, hospitals, monkeypatch, settings
):
    settings.VAXOPS_SAFETY = {"duty_phones": ["13700000000"]}
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    start = timezone.now()
    report = services.report_create(
        actor=cdc,
        dose=dose,
        source="county",
        onset_at=start,
        signs="抽搐",
        criteria=["hospitalisation"],
        reporter_name="县疾控",
    )
    assert services.clocks_escalate(now=start + dt.timedelta(hours=1)) == 0
    assert services.clocks_escalate(now=start + dt.timedelta(hours=40)) == 1  # investigation due soon
    assert services.clocks_escalate(now=start + dt.timedelta(hours=41)) == 0  # once
    assert services.clocks_escalate(now=start + dt.timedelta(hours=49)) == 1  # overdue
    levels = set(ClockAlert.objects.filter(report=report).values_list("clock", "level"))
    assert levels == {("investigation", "due_soon"), ("investigation", "overdue")}
    assert Notification.objects.filter(template="aefi_clock", phone="13700000000").count() == 2
    monkeypatch.setattr("vaxops.core.clock.now", lambda: start + dt.timedelta(hours=49))
    counts = selectors.aefi_counts(
        selectors.scope_for(cdc), timezone.localdate(start + dt.timedelta(hours=49))
    )
    assert counts["late"] == {"investigation": 1} and counts["serious"] == 1


def test_counts_and_the_days_rows_carry_no_health_details(
    desk1, village_a1, vaccinator, cdc, leader, hospitals
):
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    services.report_create(
        actor=cdc, dose=dose, source="county", onset_at=timezone.now(), signs="发热", reporter_name="县疾控"
    )
    day = timezone.localdate()
    counts = selectors.aefi_counts(selectors.scope_for(leader), day)
    assert (counts["reported_today"], counts["total"], counts["serious"]) == (1, 1, 0)
    rows = selectors.adverse_events_today(selectors.scope_for(leader), day)
    assert len(rows) == 1 and set(rows[0]) == {
        "number",
        "product_code",
        "lot__lot_number",
        "site__name",
        "serious",
        "status",
    }
    assert not selectors.may_see_health(leader) and selectors.may_see_health(cdc)


def test_the_daily_maxsprt_run_opens_a_signal_once(desk1, village_a1, vaccinator, cdc, settings):
    settings.VAXOPS_SAFETY = {"maxsprt_T": 10, "maxsprt_M": 2, "maxsprt_alpha": 0.05}
    ana = Outcome.objects.create(code="anaphylaxis", name="严重过敏反应", sign_group="anaphylaxis")
    for band in services.AGE_BANDS:
        BackgroundRate.objects.create(outcome=ana, band=band, per_100k=Decimal("1.3"))
    doses = [give(desk1, village_a1, vaccinator, i, i) for i in (1, 2, 3)]
    assert services.signals_run() == []
    for d in doses[:2]:
        services.report_create(
            actor=cdc,
            dose=d,
            source="county",
            onset_at=timezone.now(),
            signs="过敏性休克",
            reporter_name="县疾控",
        )
    opened = services.signals_run()
    assert len(opened) == 1
    s = opened[0]
    assert (s.observed, s.doses) == (2, 3) and s.expected == pytest.approx(3 * 1.3 / 100_000)
    assert s.llr >= s.cv
    assert services.signals_run() == [] and SafetySignal.objects.count() == 1


def test_claims_are_in_decimal_and_compensation_needs_an_abnormal_reaction(
    desk1, village_a1, vaccinator, cdc, panel, experts
):
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    r = services.report_create(
        actor=cdc, dose=dose, source="county", onset_at=timezone.now(), signs="皮疹", reporter_name="县疾控"
    )
    claim = services.claim_file(actor=cdc, report_id=r.pk, kind="compensation", amount="1234.50")
    assert claim.amount_claimed == Decimal("1234.50")
    with pytest.raises(ValidationFailed) as early:
        services.claim_decide(actor=cdc, claim_id=claim.pk, state="approved")
    assert early.value.code == "claim_state"
    services.panel_classify(
        actor=panel,
        report_id=r.pk,
        diagnosis="过敏性皮疹",
        classification="abnormal",
        reasoning="时间关联，符合",
        expert_ids=[e.pk for e in experts],
    )
    services.claim_decide(actor=cdc, claim_id=claim.pk, state="approved")
    paid = services.claim_decide(actor=cdc, claim_id=claim.pk, state="paid", amount_paid="1200.00")
    assert paid.amount_paid == Decimal("1200.00") and paid.classification == "abnormal"
    with pytest.raises(ValidationFailed) as bad:
        services.claim_file(actor=cdc, report_id=r.pk, kind="insurance", amount="1.234")
    assert bad.value.code == "claim_amount_invalid"


def test_onset_before_the_dose_or_no_signs_is_refused(desk1, village_a1, vaccinator, cdc):
    dose = give(desk1, village_a1, vaccinator, 1, 1)
    with pytest.raises(ValidationFailed) as early:
        services.report_create(
            actor=cdc,
            dose=dose,
            source="county",
            onset_at=timezone.now() - dt.timedelta(days=3),
            signs="发热",
            reporter_name="x",
        )
    assert early.value.code == "aefi_onset_invalid"
    with pytest.raises(ValidationFailed) as none:
        services.report_create(
            actor=cdc, dose=dose, source="county", onset_at=timezone.now(), signs="", reporter_name="x"
        )
    assert none.value.code == "aefi_signs_missing"
