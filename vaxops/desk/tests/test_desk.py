"""The vaccination desk: hard stops at the scan, the confirmation card, the recipient's confirmation,
observation, voids and injection sites (pure rules, no database). Forecasts come from the real
schedule engine and the default catalogue."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxops.catalog.defaults import CATALOGUE
from vaxops.catalog.domain import ALL, Contraindication, Deferral, GivenDose, Outcome, evaluate
from vaxops.desk import domain as desk
from vaxops.desk.domain import (
    INJECTION_SITES,
    CheckCode,
    CodeFacts,
    CodeState,
    ConsentFacts,
    DueDose,
    LotFacts,
    ObservationStatus,
    ProductFacts,
    Recipient,
    ScanInputs,
    ScreeningFacts,
    VaccinatorFacts,
    VoidDisposition,
    confirmation_card,
    due_dose_of,
    injection_site_text,
    injection_site_valid,
    may_release,
    observation_ends,
    observation_left,
    observation_status,
    one_time_code_required,
    recipient_confirms,
    scan_checks,
    void_reason_valid,
)
from vaxops.sites.domain import Certificate, CertificateKind
from vaxops.supply.domain import LotStatus

FAST = settings(max_examples=150, deadline=None)
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC

BORN = dt.date(1980, 6, 15)
DOSE1_ON = dt.date(2021, 6, 1)
TODAY = dt.date(2021, 6, 22)  # dose 1 + 21 days: the first day dose 2 may be given
NOW = dt.datetime(2021, 6, 22, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai
CODE = "81001010000000010001"
SITE = "SITE-330199001"
BBIBP = ProductFacts.from_product(CATALOGUE.product("BBIBP-CorV"))
CONVIDECIA = ProductFacts.from_product(CATALOGUE.product("Convidecia"))


def local(day: dt.date, hh: int, mm: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=SHANGHAI)


DOSE1 = (GivenDose("BBIBP-CorV", DOSE1_ON),)


def forecast_due(
    *,
    doses=DOSE1,
    on: dt.date = TODAY,
    born: dt.date = BORN,
    contraindications=(),
    deferrals=(),
) -> tuple[DueDose | None, str]:
    forecast = evaluate(
        birth_date=born,
        doses=doses,
        contraindications=contraindications,
        deferrals=deferrals,
        on=on,
        catalogue=CATALOGUE,
    )
    return due_dose_of(forecast)


def training(valid_to: dt.date | None = dt.date(2021, 12, 31), number: str = "PX2021-007") -> Certificate:
    valid_from = dt.date(2021, 1, 1) if valid_to is None else min(dt.date(2021, 1, 1), valid_to)
    return Certificate(CertificateKind.TRAINING, number, valid_from, valid_to)


def scan(**changes) -> ScanInputs:
    """A scan that passes every check: dose 2 of an inactivated course, today, at the right desk."""
    next_dose, reason = forecast_due()
    base = ScanInputs(
        recipient=Recipient("王芳", BORN, "330199********0028"),
        screening=ScreeningFacts(Outcome.PROCEED, local(TODAY, 9, 0)),
        consent=ConsentFacts(local(TODAY, 9, 5), product_code="BBIBP-CorV"),
        scanned_code=CODE,
        code=CodeFacts(CodeState.IN_STOCK, SITE),
        site_place_code=SITE,
        lot=LotFacts("202106A01", LotStatus.RELEASED, dt.date(2022, 6, 1), "BBIBP-CorV"),
        product=BBIBP,
        next_dose=next_dose,
        no_dose_reason=reason,
        vaccinator=VaccinatorFacts("李静", (training(),), assigned_to_desk=True),
        now=NOW,
        product_names={p.code: p.short_zh for p in CATALOGUE.products},
    )
    return replace(base, **changes)


def codes(inputs: ScanInputs) -> tuple[str, ...]:
    return tuple(f.code for f in scan_checks(inputs))


def only(inputs: ScanInputs, code: CheckCode) -> str:
    """The message of the single failure, which must have ``code``."""
    failures = scan_checks(inputs)
    assert [f.code for f in failures] == [code], failures
    return failures[0].message_zh


# ------------------------------------------------------------------------------------------------
# The all-pass case and the codes
# ------------------------------------------------------------------------------------------------


def test_a_scan_that_meets_every_rule_passes():
    assert scan_checks(scan()) == ()


def test_the_codes_are_stable_english_identifiers_with_chinese_labels():
    assert [c.value for c in CheckCode] == [
        "screening",
        "consent",
        "code_malformed",
        "code_unknown",
        "code_used",
        "code_wasted",
        "code_recalled",
        "code_quarantined",
        "code_in_transit",
        "code_elsewhere",
        "lot_recalled",
        "lot_on_hold",
        "lot_expired",
        "no_dose_due",
        "product_not_allowed",
        "not_due",
        "age",
        "vaccinator_unqualified",
        "vaccinator_not_assigned",
    ]
    assert all(c.label_zh for c in CheckCode)
    failure = scan_checks(scan(screening=None))[0]
    assert failure.code == "screening" and failure.label_zh == "预检未通过"


@pytest.mark.parametrize(
    ("member", "label"),
    [
        (CodeState.IN_STOCK, "在库"),
        (CodeState.IN_TRANSIT, "在途"),
        (CodeState.ADMINISTERED, "已接种"),
        (CodeState.WASTED, "已损耗"),
        (CodeState.RECALLED, "已召回"),
        (ObservationStatus.OBSERVING, "留观中"),
        (ObservationStatus.DUE, "留观期满，可离开"),
        (ObservationStatus.RELEASED, "已离开"),
        (VoidDisposition.RETURNED, "疫苗未开启，退回库存"),
        (VoidDisposition.WASTED, "疫苗已开启或已使用，按损耗处理"),
    ],
)
def test_every_enum_has_a_chinese_label(member, label):
    assert member.label_zh == label


# ------------------------------------------------------------------------------------------------
# 1. Screening today
# ------------------------------------------------------------------------------------------------


class TestScreening:
    def test_no_screening_stops(self):
        assert only(scan(screening=None), CheckCode.SCREENING) == "今日尚未预检，请先到预检台预检"

    def test_yesterdays_screening_does_not_count(self):
        yesterday = ScreeningFacts(Outcome.PROCEED, local(TODAY - dt.timedelta(days=1), 16, 0))
        assert only(scan(screening=yesterday), CheckCode.SCREENING) == (
            "今日尚未预检（最近一次预检于2021-06-21 16:00，不是今天），请先到预检台预检"
        )

    def test_a_dated_deferral_today_stops_and_says_until_when(self):
        deferred = ScreeningFacts(
            Outcome.DEFER,
            local(TODAY, 9, 0),
            defer_until=dt.date(2021, 6, 29),
            reasons=("体温37.6℃，≥37.3℃，暂缓至2021-06-29",),
        )
        assert only(scan(screening=deferred), CheckCode.SCREENING) == (
            "今日预检未通过（暂缓接种至2021-06-29）：体温37.6℃，≥37.3℃，暂缓至2021-06-29"
        )

    def test_an_open_deferral_today_stops_and_names_the_condition(self):
        deferred = ScreeningFacts("defer", local(TODAY, 9, 0), defer_condition="妊娠结束后")
        assert only(scan(screening=deferred), CheckCode.SCREENING) == "今日预检未通过（暂缓接种：妊娠结束后）"

    def test_a_contraindication_for_every_product_stops(self):
        contra = ScreeningFacts("contraindicated", local(TODAY, 9, 0), reasons=("对疫苗成分严重过敏",))
        assert (
            only(scan(screening=contra), CheckCode.SCREENING)
            == "今日预检未通过（禁止接种）：对疫苗成分严重过敏"
        )

    def test_a_contraindication_for_the_scanned_product_stops(self):
        contra = ScreeningFacts(
            "contraindicated", local(TODAY, 9, 0), contraindicated_products=["BBIBP-CorV", "CoronaVac"]
        )
        assert codes(scan(screening=contra)) == ("screening",)

    def test_a_contraindication_for_other_products_only_does_not_stop_the_screening_check(self):
        contra = ScreeningFacts("contraindicated", local(TODAY, 9, 0), contraindicated_products=("ZF2001",))
        assert scan_checks(scan(screening=contra)) == ()

    def test_a_deferral_found_with_a_partial_contraindication_still_stops(self):
        contra = ScreeningFacts(
            "contraindicated",
            local(TODAY, 9, 0),
            contraindicated_products=("ZF2001",),
            defer_until=TODAY + dt.timedelta(days=7),
        )
        assert codes(scan(screening=contra)) == ("screening",)

    def test_the_database_spelling_all_means_every_product(self):
        contra = ScreeningFacts("contraindicated", local(TODAY, 9, 0), contraindicated_products="all")
        assert contra.contraindicated_products is ALL
        assert codes(scan(screening=contra)) == ("screening",)

    @pytest.mark.parametrize(
        ("screened_at", "counts"),
        [
            (dt.datetime(2021, 6, 21, 15, 59, tzinfo=UTC), False),  # 23:59 yesterday, Asia/Shanghai
            (dt.datetime(2021, 6, 21, 16, 1, tzinfo=UTC), True),  # 00:01 today, though still the 21st in UTC
            (local(TODAY, 0, 1), True),
            (local(TODAY - dt.timedelta(days=1), 23, 59), False),
        ],
    )
    def test_the_day_is_the_local_day_of_now_given_in_utc(self, screened_at, counts):
        now = dt.datetime(2021, 6, 21, 16, 30, tzinfo=UTC)  # 00:30 on 22 June in Asia/Shanghai
        inputs = scan(
            now=now,
            screening=ScreeningFacts(Outcome.PROCEED, screened_at),
            consent=ConsentFacts(dt.datetime(2021, 6, 21, 16, 20, tzinfo=UTC), product_code="BBIBP-CorV"),
        )
        assert ("screening" not in codes(inputs)) is counts
        assert codes(inputs) == (() if counts else ("screening",))


# ------------------------------------------------------------------------------------------------
# 2. Informed consent
# ------------------------------------------------------------------------------------------------


class TestConsent:
    def test_no_consent_stops(self):
        assert only(scan(consent=None), CheckCode.CONSENT) == "未签署知情同意书"

    def test_a_refusal_stops_with_its_reason(self):
        refused = ConsentFacts(local(TODAY, 9, 5), refused=True, refusal_reason="担心不良反应")
        assert only(scan(consent=refused), CheckCode.CONSENT) == (
            "受种者已拒绝签署知情同意书（2021-06-22 09:05）：担心不良反应"
        )

    def test_a_consent_signed_on_an_earlier_visit_does_not_count(self):
        earlier = ConsentFacts(local(DOSE1_ON, 10, 0), product_code="BBIBP-CorV")
        assert only(scan(consent=earlier), CheckCode.CONSENT) == (
            "今日未签署知情同意书（最近一次签署于2021-06-01 10:00），请重新签署"
        )

    def test_a_consent_for_another_product_stops(self):
        other = ConsentFacts(local(TODAY, 9, 5), product_code="CoronaVac")
        assert only(scan(consent=other), CheckCode.CONSENT) == (
            "知情同意书签署的是科兴，与所扫疫苗国药北京不符，请为所扫疫苗重新签署知情同意书"
        )

    def test_a_consent_not_tied_to_a_product_covers_the_scan(self):
        assert scan_checks(scan(consent=ConsentFacts(local(TODAY, 9, 5)))) == ()


# ------------------------------------------------------------------------------------------------
# 3. The traceability code
# ------------------------------------------------------------------------------------------------


class TestCode:
    def test_a_malformed_scan_stops(self):
        inputs = scan(scanned_code="8100101000000001000", code=None, lot=None, product=None)
        assert only(inputs, CheckCode.CODE_MALFORMED) == (
            "追溯码“8100101000000001000”为19位，应为20位数字，请重新扫码"
        )

    def test_an_unknown_code_stops_and_the_lot_and_schedule_checks_are_skipped(self):
        inputs = scan(code=None, lot=None, product=None, next_dose=None, no_dose_reason="不会被用到")
        assert only(inputs, CheckCode.CODE_UNKNOWN) == (
            f"追溯码{CODE}不存在（未入库登记），请核对疫苗后重新扫码"
        )

    def test_scanner_noise_is_normalised_in_the_message(self):
        inputs = scan(scanned_code=f"\ufeff{CODE}\r\n", code=None, lot=None, product=None)
        assert CODE in only(inputs, CheckCode.CODE_UNKNOWN)

    def test_a_used_code_stops_and_says_when_in_local_time(self):
        used = CodeFacts(
            CodeState.ADMINISTERED, SITE, administered_at=dt.datetime(2021, 6, 20, 2, 15, tzinfo=UTC)
        )
        assert only(scan(code=used), CheckCode.CODE_USED) == (
            f"追溯码{CODE}已使用（于2021-06-20 10:15），一人一苗一扫码，不得重复使用"
        )

    def test_a_wasted_code_stops(self):
        assert (
            only(scan(code=CodeFacts("wasted", SITE)), CheckCode.CODE_WASTED)
            == f"追溯码{CODE}已报损，不得使用"
        )

    def test_a_recalled_code_stops(self):
        assert only(scan(code=CodeFacts("recalled", SITE)), CheckCode.CODE_RECALLED) == (
            f"追溯码{CODE}已召回，不得使用"
        )

    def test_a_quarantined_code_stops(self):
        assert only(scan(code=CodeFacts("quarantined", SITE)), CheckCode.CODE_QUARANTINED) == (
            f"追溯码{CODE}所在冷链设备温度异常，已隔离待县疾控评估，不得使用"
        )

    def test_a_code_in_transit_stops(self):
        assert only(scan(code=CodeFacts("in_transit", None)), CheckCode.CODE_IN_TRANSIT) == (
            f"追溯码{CODE}在途（尚未签收入库），请先签收"
        )

    def test_a_code_in_stock_elsewhere_stops(self):
        assert only(scan(code=CodeFacts("in_stock", "SITE-OTHER")), CheckCode.CODE_ELSEWHERE) == (
            f"追溯码{CODE}不在本接种单位（库存地点：SITE-OTHER）"
        )


# ------------------------------------------------------------------------------------------------
# 4. The lot
# ------------------------------------------------------------------------------------------------


class TestLot:
    def lot(self, **changes) -> LotFacts:
        return replace(
            LotFacts("202106A01", LotStatus.RELEASED, dt.date(2022, 6, 1), "BBIBP-CorV"), **changes
        )

    def test_a_recalled_lot_stops(self):
        assert only(scan(lot=self.lot(status="recalled")), CheckCode.LOT_RECALLED) == (
            "批号202106A01已召回，不得使用"
        )

    def test_a_lot_on_hold_stops(self):
        assert only(scan(lot=self.lot(status="on_hold")), CheckCode.LOT_ON_HOLD) == (
            "批号202106A01暂停使用（待评估），不得使用"
        )

    def test_a_lot_marked_expired_stops(self):
        assert only(scan(lot=self.lot(status="expired")), CheckCode.LOT_EXPIRED) == (
            "批号202106A01已标记为过期（有效期至2022-06-01），不得使用"
        )

    def test_a_lot_past_its_expiry_stops(self):
        assert only(scan(lot=self.lot(expiry=TODAY - dt.timedelta(days=1))), CheckCode.LOT_EXPIRED) == (
            "批号202106A01已过有效期（有效期至2021-06-21），不得使用"
        )

    def test_the_expiry_day_itself_is_usable(self):
        assert scan_checks(scan(lot=self.lot(expiry=TODAY))) == ()

    def test_expiry_is_judged_on_the_local_day(self):
        # 17:00 UTC on 21 June is 01:00 on 22 June in Asia/Shanghai: a lot that expired on the 21st is out.
        now = dt.datetime(2021, 6, 21, 17, 0, tzinfo=UTC)
        inputs = scan(
            now=now,
            lot=self.lot(expiry=dt.date(2021, 6, 21)),
            screening=ScreeningFacts(Outcome.PROCEED, now),
            consent=ConsentFacts(now, product_code="BBIBP-CorV"),
        )
        assert codes(inputs) == ("lot_expired",)

    def test_a_recall_is_named_before_the_expiry(self):
        lot = self.lot(status="recalled", expiry=TODAY - dt.timedelta(days=3))
        assert codes(scan(lot=lot)) == ("lot_recalled",)


# ------------------------------------------------------------------------------------------------
# 5. The schedule (the engine's forecast)
# ------------------------------------------------------------------------------------------------


class TestSchedule:
    def test_a_completed_course_stops_with_the_engines_reason(self):
        nd, reason = forecast_due(doses=(GivenDose("Convidecia", dt.date(2021, 5, 1)),))
        inputs = scan(next_dose=nd, no_dose_reason=reason)
        assert only(inputs, CheckCode.NO_DOSE_DUE) == "该受种者不能接种该疫苗：已完成全程接种，目前无需再接种"

    def test_a_standing_contraindication_stops(self):
        nd, reason = forecast_due(contraindications=(Contraindication(ALL, "预检禁忌：严重过敏史"),))
        assert only(scan(next_dose=nd, no_dose_reason=reason), CheckCode.NO_DOSE_DUE) == (
            "该受种者不能接种该疫苗：存在接种禁忌（预检禁忌：严重过敏史）"
        )

    def test_a_standing_open_deferral_stops(self):
        nd, reason = forecast_due(deferrals=(Deferral(None, "妊娠结束后", "预检暂缓：妊娠"),))
        assert only(scan(next_dose=nd, no_dose_reason=reason), CheckCode.NO_DOSE_DUE) == (
            "该受种者不能接种该疫苗：暂缓接种（妊娠结束后），条件解除前不能接种"
        )

    def test_a_product_the_forecast_does_not_allow_stops(self):
        inputs = scan(
            product=CONVIDECIA,
            lot=LotFacts("202105C02", "released", dt.date(2022, 5, 1), "Convidecia"),
            consent=ConsentFacts(local(TODAY, 9, 5), product_code="Convidecia"),
        )
        assert only(inputs, CheckCode.PRODUCT_NOT_ALLOWED) == (
            "该受种者不能接种该疫苗：康希诺（重组新型冠状病毒疫苗（5型腺病毒载体）（康希诺生物股份公司））"
            "不能用于本剂次（应接种第2剂，可用品种：国药北京、国药武汉、科兴）"
        )

    def test_another_inactivated_product_may_complete_the_course(self):
        coronavac = ProductFacts.from_product(CATALOGUE.product("CoronaVac"))
        inputs = scan(
            product=coronavac,
            lot=LotFacts("202106K01", "released", dt.date(2022, 6, 1), "CoronaVac"),
            consent=ConsentFacts(local(TODAY, 9, 5), product_code="CoronaVac"),
        )
        assert scan_checks(inputs) == ()

    def test_a_dose_before_its_earliest_day_stops(self):
        day_before = TODAY - dt.timedelta(days=1)
        nd, _ = forecast_due(on=day_before)
        now = local(day_before, 10, 0)
        inputs = scan(
            now=now,
            next_dose=nd,
            screening=ScreeningFacts("proceed", local(day_before, 9, 0)),
            consent=ConsentFacts(local(day_before, 9, 5), product_code="BBIBP-CorV"),
        )
        assert only(inputs, CheckCode.NOT_DUE) == "未到接种时间：第2剂最早可于2021-06-22接种"

    def test_a_booster_before_its_day_names_the_booster(self):
        doses = (GivenDose("BBIBP-CorV", DOSE1_ON), GivenDose("BBIBP-CorV", TODAY))
        on = dt.date(2021, 9, 1)
        nd, _ = forecast_due(doses=doses, on=on)
        inputs = scan(
            now=local(on, 10, 0),
            next_dose=nd,
            screening=ScreeningFacts("proceed", local(on, 9, 0)),
            consent=ConsentFacts(local(on, 9, 5), product_code="BBIBP-CorV"),
        )
        assert only(inputs, CheckCode.NOT_DUE) == "未到接种时间：加强针最早可于2021-12-19接种"

    def test_a_dated_deferral_moves_the_earliest_day(self):
        nd, _ = forecast_due(deferrals=(Deferral(dt.date(2021, 6, 29), None, "预检暂缓：体温37.6℃"),))
        assert only(scan(next_dose=nd), CheckCode.NOT_DUE) == "未到接种时间：第2剂最早可于2021-06-29接种"

    def test_someone_too_young_for_the_product_stops(self):
        born = dt.date(2003, 7, 1)  # 17 today
        nd, _ = forecast_due(doses=(), born=born)
        inputs = scan(recipient=Recipient("赵小明", born), next_dose=nd)
        failures = scan_checks(inputs)
        assert [f.code for f in failures] == ["not_due", "age"]
        assert failures[-1].message_zh == "受种者17周岁，未满国药北京的最低接种年龄18周岁"

    def test_someone_above_the_products_upper_age_stops(self):
        older = replace(BBIBP, max_age_years=40)  # a county restriction for this product
        assert only(scan(product=older), CheckCode.AGE) == "受种者41周岁，超过国药北京的接种年龄上限40周岁"

    def test_the_upper_age_is_inclusive(self):
        assert scan_checks(scan(product=replace(BBIBP, max_age_years=41))) == ()


# ------------------------------------------------------------------------------------------------
# 6. The vaccinator
# ------------------------------------------------------------------------------------------------


class TestVaccinator:
    def test_an_expired_training_certificate_stops(self):
        v = VaccinatorFacts("李静", (training(TODAY - dt.timedelta(days=1)),), True)
        assert only(scan(vaccinator=v), CheckCode.VACCINATOR_UNQUALIFIED) == (
            "接种人员李静不能上岗（持证上岗）：培训合格证（编号PX2021-007）已于2021-06-21到期"
        )

    def test_a_certificate_valid_to_today_is_enough(self):
        v = VaccinatorFacts("李静", (training(TODAY),), True)
        assert scan_checks(scan(vaccinator=v)) == ()

    def test_no_certificate_stops(self):
        v = VaccinatorFacts("李静", (), True)
        assert only(scan(vaccinator=v), CheckCode.VACCINATOR_UNQUALIFIED) == (
            "接种人员李静不能上岗（持证上岗）：未登记培训合格证"
        )

    def test_a_vaccinator_not_assigned_to_the_desk_stops(self):
        v = VaccinatorFacts("李静", (training(),), assigned_to_desk=False)
        assert only(scan(vaccinator=v), CheckCode.VACCINATOR_NOT_ASSIGNED) == (
            "接种人员李静未排班在本接种台（今日开诊场次），请先排班"
        )


# ------------------------------------------------------------------------------------------------
# Several at once, and the inputs themselves
# ------------------------------------------------------------------------------------------------


def test_every_failure_is_reported_in_the_fixed_order():
    nd, _ = forecast_due(on=TODAY - dt.timedelta(days=1))
    inputs = scan(
        vaccinator=VaccinatorFacts("李静", (training(dt.date(2021, 3, 1)),), assigned_to_desk=False),
        next_dose=replace(nd, earliest=TODAY + dt.timedelta(days=2)),
        product=replace(BBIBP, max_age_years=30),
        lot=LotFacts("202106A01", "on_hold", dt.date(2022, 6, 1), "BBIBP-CorV"),
        code=CodeFacts("in_stock", "SITE-OTHER"),
        consent=None,
        screening=None,
    )
    assert codes(inputs) == (
        "screening",
        "consent",
        "code_elsewhere",
        "lot_on_hold",
        "not_due",
        "age",
        "vaccinator_unqualified",
        "vaccinator_not_assigned",
    )
    order = list(CheckCode)
    found = [f.code for f in scan_checks(inputs)]
    assert found == sorted(found, key=order.index)


class TestScanInputs:
    def test_now_must_be_aware(self):
        with pytest.raises(ValueError, match="当前时间须带时区"):
            scan(now=dt.datetime(2021, 6, 22, 9, 30))

    def test_screening_time_must_be_aware(self):
        with pytest.raises(ValueError, match="预检时间须带时区"):
            ScreeningFacts(Outcome.PROCEED, dt.datetime(2021, 6, 22, 9, 0))

    def test_a_code_comes_with_its_lot_and_product(self):
        with pytest.raises(ValueError, match="须同时给出"):
            scan(lot=None)

    def test_the_lot_belongs_to_the_product(self):
        with pytest.raises(ValueError, match="批号202106A01属于BBIBP-CorV，不是Convidecia"):
            scan(product=CONVIDECIA)

    def test_strings_from_the_database_become_enums(self):
        inputs = scan(code=CodeFacts("in_stock", SITE), lot=LotFacts("L1", "released", TODAY, "BBIBP-CorV"))
        assert inputs.code is not None and inputs.code.state is CodeState.IN_STOCK
        assert inputs.lot is not None and inputs.lot.status is LotStatus.RELEASED
        assert inputs.today == TODAY


def test_due_dose_of_reads_the_forecast():
    assert forecast_due() == (DueDose(2, False, ("BBIBP-CorV", "WIBP-CorV", "CoronaVac"), TODAY), "")
    doses = (
        GivenDose("BBIBP-CorV", DOSE1_ON),
        GivenDose("BBIBP-CorV", TODAY),
        GivenDose("ZF2001", dt.date(2022, 3, 1)),
    )
    assert forecast_due(doses=doses, on=dt.date(2022, 4, 1)) == (
        None,
        "已完成全程接种和加强免疫，目前无需再接种",
    )


# ------------------------------------------------------------------------------------------------
# The confirmation card (七对一验证)
# ------------------------------------------------------------------------------------------------


class TestConfirmation:
    def test_the_card_reads_the_seven_matches(self):
        card = confirmation_card(scan())
        assert card.lines_zh() == (
            "姓名：王芳",
            "年龄：41周岁",
            "疫苗：国药北京 · 新型冠状病毒灭活疫苗（Vero细胞）",
            "规格：西林瓶，0.5 mL/瓶，每瓶1剂",
            "剂次：第2剂",
            "剂量：0.5 mL",
            "接种途径：肌内注射",
            "接种部位：上臂三角肌",
            "批号：202106A01",
            "有效期至：2022-06-01",
        )
        assert card.id_masked == "330199********0028"
        assert card.product_code == "BBIBP-CorV"
        assert (card.dose_number, card.is_booster, card.dose_label) == (2, False, "第2剂")

    def test_a_booster_is_read_as_such_and_the_chosen_site_wins(self):
        doses = (GivenDose("BBIBP-CorV", DOSE1_ON), GivenDose("BBIBP-CorV", TODAY))
        on = dt.date(2022, 3, 1)
        nd, _ = forecast_due(doses=doses, on=on)
        card = confirmation_card(scan(next_dose=nd, now=local(on, 10, 0)), injection_site="左上臂三角肌")
        assert card.dose_label == "加强针"
        assert "剂次：加强针" in card.lines_zh()
        assert card.injection_site == "左上臂三角肌"

    def test_the_age_is_counted_on_the_local_day(self):
        born = dt.date(1980, 6, 22)
        inputs = scan(recipient=Recipient("王芳", born), now=dt.datetime(2021, 6, 21, 17, 0, tzinfo=UTC))
        assert confirmation_card(inputs).age_years == 41  # already the 22nd in Asia/Shanghai

    @pytest.mark.parametrize(("volume", "shown"), [(0.5, "0.5 mL"), (1.0, "1 mL"), (0.25, "0.25 mL")])
    def test_the_dose_volume_is_shown_without_trailing_zeros(self, volume, shown):
        assert confirmation_card(scan(product=replace(BBIBP, dose_volume_ml=volume))).dose_volume == shown

    def test_there_is_no_card_for_an_unknown_code_or_without_a_dose(self):
        with pytest.raises(ValueError, match="追溯码不存在"):
            confirmation_card(scan(code=None, lot=None, product=None))
        with pytest.raises(ValueError, match="没有应种剂次"):
            confirmation_card(scan(next_dose=None))


class TestRecipientConfirms:
    def test_the_last_four_digits_confirm(self):
        assert recipient_confirms(phone_last4_given="5678", phone="13812345678") == (True, "")

    def test_full_width_digits_and_spaces_are_accepted(self):
        assert recipient_confirms(phone_last4_given=" ５６７８ ", phone="13812345678") == (True, "")

    def test_other_digits_do_not_confirm(self):
        assert recipient_confirms(phone_last4_given="5679", phone="13812345678") == (
            False,
            "手机号码后4位与档案不符，请再次核对受种者身份",
        )

    @pytest.mark.parametrize("given", ["", "567", "56789", "56a8"])
    def test_the_answer_must_be_four_digits(self, given):
        assert recipient_confirms(phone_last4_given=given, phone="13812345678") == (
            False,
            "请输入登记手机号码的后4位数字",
        )

    @pytest.mark.parametrize("phone", [None, "", "  "])
    def test_without_a_phone_a_one_time_code_is_needed(self, phone):
        assert one_time_code_required(phone)
        ok, why = recipient_confirms(phone_last4_given="5678", phone=phone)
        assert not ok and "一次性验证码" in why

    def test_with_a_phone_no_one_time_code_is_needed(self):
        assert not one_time_code_required("13812345678")


# ------------------------------------------------------------------------------------------------
# Observation (留观)
# ------------------------------------------------------------------------------------------------


class TestObservation:
    START = local(TODAY, 9, 40)

    def test_it_ends_thirty_minutes_after_the_start(self):
        assert observation_ends(self.START) == local(TODAY, 10, 10)
        assert observation_ends(self.START, minutes=45) == local(TODAY, 10, 25)

    def test_the_time_left_is_never_negative(self):
        assert observation_left(self.START, local(TODAY, 9, 50)) == dt.timedelta(minutes=20)
        assert observation_left(self.START, local(TODAY, 10, 10)) == dt.timedelta(0)
        assert observation_left(self.START, local(TODAY, 12, 0)) == dt.timedelta(0)

    def test_the_status_turns_due_at_exactly_thirty_minutes(self):
        just_before = local(TODAY, 10, 10) - dt.timedelta(seconds=1)
        assert observation_status(self.START, None, just_before) == "observing"
        assert observation_status(self.START, None, local(TODAY, 10, 10)) == "due"
        assert observation_status(self.START, local(TODAY, 10, 11), local(TODAY, 10, 30)) == "released"
        assert observation_status(self.START, None, local(TODAY, 10, 10)) is ObservationStatus.DUE

    def test_release_is_allowed_at_exactly_thirty_minutes(self):
        at_utc = dt.datetime(2021, 6, 22, 2, 10, tzinfo=UTC)  # 10:10 local
        assert may_release(self.START, at_utc) == (True, "")

    def test_release_is_refused_before_thirty_minutes_without_a_reason(self):
        assert may_release(self.START, local(TODAY, 9, 55) + dt.timedelta(seconds=30)) == (
            False,
            "留观未满30分钟，还需15分钟（10:10后可离开）；如需提前结束（如转诊定点救治医院），须注明原因",
        )

    def test_an_early_release_needs_a_stated_reason(self):
        assert may_release(self.START, local(TODAY, 9, 52), reason="  出现过敏反应，转诊定点救治医院 ") == (
            True,
            "提前结束留观（已留观12分钟）：出现过敏反应，转诊定点救治医院",
        )
        assert may_release(self.START, local(TODAY, 9, 52), reason="   ")[0] is False

    def test_moments_must_be_aware(self):
        with pytest.raises(ValueError, match="须带时区"):
            observation_left(self.START, dt.datetime(2021, 6, 22, 10, 0))
        with pytest.raises(ValueError, match="须带时区"):
            observation_ends(dt.datetime(2021, 6, 22, 10, 0))
        with pytest.raises(ValueError, match="留观时长"):
            observation_ends(self.START, minutes=0)


# ------------------------------------------------------------------------------------------------
# Voids and injection sites
# ------------------------------------------------------------------------------------------------


class TestVoid:
    def test_dispositions(self):
        assert [d.value for d in VoidDisposition] == ["returned", "wasted"]

    @pytest.mark.parametrize("reason", ["录错受种者", "扫错追溯码了", "  重复 登记  "])
    def test_a_reason_of_four_characters_or_more_is_accepted(self, reason):
        assert void_reason_valid(reason) == (True, "")

    @pytest.mark.parametrize(
        ("reason", "message"),
        [
            (None, "作废接种记录须填写原因"),
            ("  ", "作废接种记录须填写原因"),
            ("错误", "作废原因过于简单（2个字），请至少写4个字说明原因"),
            ("录 错 了", "作废原因过于简单（3个字），请至少写4个字说明原因"),
        ],
    )
    def test_a_missing_or_too_short_reason_is_refused(self, reason, message):
        assert void_reason_valid(reason) == (False, message)


class TestInjectionSite:
    def test_the_sites(self):
        assert INJECTION_SITES == ("左上臂三角肌", "右上臂三角肌", "其他（注明）")

    @pytest.mark.parametrize("site", ["左上臂三角肌", "右上臂三角肌", " 右上臂三角肌 "])
    def test_the_arms_are_valid(self, site):
        assert injection_site_valid(site) == (True, "")
        assert injection_site_text(site) == site.strip()

    def test_other_needs_a_note(self):
        assert injection_site_valid("其他（注明）") == (False, "选择“其他”时须注明接种部位")
        assert injection_site_valid("其他（注明）", note="大腿前外侧") == (True, "")
        assert injection_site_text("其他（注明）", note=" 大腿前外侧 ") == "其他：大腿前外侧"
        assert injection_site_valid("其他（注明）", note="很" * 31)[0] is False

    @pytest.mark.parametrize("site", ["", None, "臀部", "上臂三角肌"])
    def test_anything_else_is_refused(self, site):
        ok, why = injection_site_valid(site)
        assert not ok and why
        with pytest.raises(ValueError):
            injection_site_text(site or "")


# ------------------------------------------------------------------------------------------------
# Property: one invalid input is always stopped
# ------------------------------------------------------------------------------------------------

ZONES = (UTC, SHANGHAI, ZoneInfo("Europe/Berlin"), ZoneInfo("America/Los_Angeles"))


@st.composite
def valid_scans(draw) -> ScanInputs:
    """A passing scan on a random day of the dose-2 window, at a random local time, with ``now`` in a
    random zone; screening and consent earlier the same local day."""
    today = TODAY + dt.timedelta(days=draw(st.integers(0, 30)))
    minute_now = draw(st.integers(2, 24 * 60 - 1))
    minute_screen = draw(st.integers(0, minute_now - 1))
    minute_consent = draw(st.integers(minute_screen, minute_now))

    def at(minutes: int) -> dt.datetime:
        return local(today, minutes // 60, minutes % 60)

    now = at(minute_now).astimezone(draw(st.sampled_from(ZONES)))
    nd, reason = forecast_due(on=today)
    return scan(
        now=now,
        screening=ScreeningFacts(Outcome.PROCEED, at(minute_screen).astimezone(UTC)),
        consent=ConsentFacts(at(minute_consent), product_code=draw(st.sampled_from(["BBIBP-CorV", None]))),
        lot=LotFacts("L1", "released", today + dt.timedelta(days=draw(st.integers(0, 400))), "BBIBP-CorV"),
        next_dose=nd,
        no_dose_reason=reason,
        vaccinator=VaccinatorFacts(
            "李静",
            (training(draw(st.sampled_from([None, today, today + dt.timedelta(days=90)]))),),
            True,
        ),
    )


def _invalidations(draw, s: ScanInputs) -> list[tuple[ScanInputs, CheckCode]]:
    today = s.today
    days = draw(st.integers(1, 400))
    assert s.screening is not None and s.next_dose is not None
    other_product = CONVIDECIA
    return [
        (replace(s, screening=None), CheckCode.SCREENING),
        (
            replace(s, screening=replace(s.screening, at=s.screening.at - dt.timedelta(days=days))),
            CheckCode.SCREENING,
        ),
        (
            replace(
                s,
                screening=ScreeningFacts(
                    "defer", s.screening.at, defer_until=today + dt.timedelta(days=days)
                ),
            ),
            CheckCode.SCREENING,
        ),
        (replace(s, screening=ScreeningFacts("contraindicated", s.screening.at)), CheckCode.SCREENING),
        (replace(s, consent=None), CheckCode.CONSENT),
        (replace(s, consent=ConsentFacts(s.now, refused=True)), CheckCode.CONSENT),
        (replace(s, consent=ConsentFacts(s.now - dt.timedelta(days=days))), CheckCode.CONSENT),
        (replace(s, scanned_code=CODE[:-1], code=None, lot=None, product=None), CheckCode.CODE_MALFORMED),
        (replace(s, code=None, lot=None, product=None), CheckCode.CODE_UNKNOWN),
        (replace(s, code=CodeFacts("administered", SITE, s.now)), CheckCode.CODE_USED),
        (replace(s, code=CodeFacts("wasted", SITE)), CheckCode.CODE_WASTED),
        (replace(s, code=CodeFacts("recalled", SITE)), CheckCode.CODE_RECALLED),
        (replace(s, code=CodeFacts("quarantined", SITE)), CheckCode.CODE_QUARANTINED),
        (replace(s, code=CodeFacts("in_transit", None)), CheckCode.CODE_IN_TRANSIT),
        (replace(s, code=CodeFacts("in_stock", "TOWNSHIP-STORE")), CheckCode.CODE_ELSEWHERE),
        (replace(s, code=CodeFacts("in_stock", None)), CheckCode.CODE_ELSEWHERE),
        (replace(s, lot=replace(s.lot, status="recalled")), CheckCode.LOT_RECALLED),
        (replace(s, lot=replace(s.lot, status="on_hold")), CheckCode.LOT_ON_HOLD),
        (replace(s, lot=replace(s.lot, status="expired")), CheckCode.LOT_EXPIRED),
        (replace(s, lot=replace(s.lot, expiry=today - dt.timedelta(days=days))), CheckCode.LOT_EXPIRED),
        (replace(s, next_dose=None, no_dose_reason="已完成全程接种，目前无需再接种"), CheckCode.NO_DOSE_DUE),
        (
            replace(
                s,
                product=other_product,
                lot=replace(s.lot, product_code=other_product.code),
                consent=replace(s.consent, product_code=None),
            ),
            CheckCode.PRODUCT_NOT_ALLOWED,
        ),
        (
            replace(s, next_dose=replace(s.next_dose, earliest=today + dt.timedelta(days=days))),
            CheckCode.NOT_DUE,
        ),
        (replace(s, product=replace(BBIBP, max_age_years=draw(st.integers(18, 40)))), CheckCode.AGE),
        (replace(s, product=replace(BBIBP, min_age_years=draw(st.integers(42, 60)))), CheckCode.AGE),
        (
            replace(
                s, vaccinator=VaccinatorFacts("李静", (training(today - dt.timedelta(days=days)),), True)
            ),
            CheckCode.VACCINATOR_UNQUALIFIED,
        ),
        (
            replace(s, vaccinator=VaccinatorFacts("李静", (training(None),), assigned_to_desk=False)),
            CheckCode.VACCINATOR_NOT_ASSIGNED,
        ),
    ]


@FAST
@given(valid_scans())
def test_valid_scans_pass(inputs):
    assert scan_checks(inputs) == ()


@FAST
@given(st.data())
def test_any_single_invalid_input_is_stopped_by_exactly_its_check(data):
    valid = data.draw(valid_scans())
    cases = _invalidations(data.draw, valid)
    broken, expected = data.draw(st.sampled_from(cases))
    failures = scan_checks(broken)
    assert failures != ()
    assert [f.code for f in failures] == [expected]
    assert all(f.message_zh for f in failures)


def test_every_check_code_is_reachable_by_the_property():
    reached = {code for _, code in _invalidations(lambda _strategy: 30, scan())}
    assert reached == set(CheckCode)


def test_the_module_exports_what_it_promises():
    assert set(desk.__all__) <= set(dir(desk))
