"""The default catalogue, schedules, campaign phases and pre-screening questions, as plain data.

Sources: 《新冠病毒疫苗接种技术指南（第一版）》 (2021-03-29) for schedules; the NHC decision of
2022-02-19 for the 3-month booster interval and heterologous (序贯) boosters; the seed work reports
(篇八、篇九) for contraindications and the 140/90 blood-pressure limit. DCC codes come from
``/work/shared/data/dcc-valuesets``. Traceability prefixes are the demo's fictional ones.
The database is seeded from these values; the county edits the copies, never this file.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from .domain import (
    AnswerType,
    BoosterRule,
    Catalogue,
    Interval,
    Phase,
    Platform,
    Product,
    Question,
    QuestionSet,
    Rule,
    RuleAction,
    RuleScope,
    SchedulePolicy,
)

INACTIVATED_CODES: Final = ("BBIBP-CorV", "WIBP-CorV", "CoronaVac")
HETEROLOGOUS_BOOSTER_CODES: Final = ("Convidecia", "ZF2001")

# DCC vaccine/prophylaxis codes (vaccine-prophylaxis.json, 2022-01-31 additions).
_VP_INACTIVATED: Final = "1157024006"  # Inactivated whole SARS-CoV-2 antigen vaccine
_VP_VECTOR: Final = "29061000087103"  # COVID-19 non-replicating viral vector vaccine
_VP_PROTEIN: Final = "1162643001"  # SARS-CoV-2 recombinant spike protein antigen vaccine


def _product(
    *,
    code: str,
    name_zh: str,
    name_en: str,
    manufacturer_zh: str,
    manufacturer_en: str,
    platform: Platform,
    dcc_mp: str | None,
    dcc_ma: str | None,
    dcc_vp: str,
    trace_prefix: str,
    short_name_zh: str = "",
) -> Product:
    # The demo catalogue models every product as a single-dose 0.5 mL vial for adults at 2–8 °C;
    # the county corrects presentation details from the package inserts.
    return Product(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        manufacturer_zh=manufacturer_zh,
        manufacturer_en=manufacturer_en,
        mah=manufacturer_zh,
        platform=platform,
        dcc_mp=dcc_mp,
        dcc_ma=dcc_ma,
        dcc_vp=dcc_vp,
        presentation="西林瓶，0.5 mL/瓶，每瓶1剂",
        doses_per_vial=1,
        open_vial_discard_hours=None,
        dose_volume_ml=0.5,
        route="肌内注射",
        site="上臂三角肌",
        storage_min_c=2.0,
        storage_max_c=8.0,
        trace_prefixes=(trace_prefix,),
        min_age_years=18,
        max_age_years=None,
        short_name_zh=short_name_zh,
    )


PRODUCTS: Final[tuple[Product, ...]] = (
    _product(
        code="BBIBP-CorV",
        name_zh="新型冠状病毒灭活疫苗（Vero细胞）",
        name_en="COVID-19 Vaccine (Vero Cell), Inactivated",
        manufacturer_zh="国药集团中国生物北京生物制品研究所有限责任公司",
        manufacturer_en="Beijing Institute of Biological Products Co., Ltd. (Sinopharm CNBG)",
        platform=Platform.INACTIVATED,
        dcc_mp="BBIBP-CorV",
        dcc_ma="ORG-100020693",
        dcc_vp=_VP_INACTIVATED,
        trace_prefix="8100101",
        short_name_zh="国药北京",
    ),
    _product(
        code="WIBP-CorV",
        name_zh="新型冠状病毒灭活疫苗（Vero细胞）",
        name_en="COVID-19 Vaccine (Vero Cell), Inactivated",
        manufacturer_zh="国药集团中国生物武汉生物制品研究所有限责任公司",
        manufacturer_en="Wuhan Institute of Biological Products Co., Ltd. (Sinopharm CNBG)",
        platform=Platform.INACTIVATED,
        dcc_mp="WIBP-CorV",
        dcc_ma="Sinopharm-WIBP",
        dcc_vp=_VP_INACTIVATED,
        trace_prefix="8100201",
        short_name_zh="国药武汉",
    ),
    _product(
        code="CoronaVac",
        name_zh="新型冠状病毒灭活疫苗（Vero细胞）",
        name_en="CoronaVac, COVID-19 Vaccine (Vero Cell), Inactivated",
        manufacturer_zh="北京科兴中维生物技术有限公司",
        manufacturer_en="Sinovac Life Sciences Co., Ltd.",
        platform=Platform.INACTIVATED,
        dcc_mp="CoronaVac",
        dcc_ma="Sinovac-Biotech",
        dcc_vp=_VP_INACTIVATED,
        trace_prefix="8100301",
        short_name_zh="科兴",
    ),
    _product(
        code="Convidecia",
        name_zh="重组新型冠状病毒疫苗（5型腺病毒载体）",
        name_en="Convidecia, Recombinant COVID-19 Vaccine (Adenovirus Type 5 Vector)",
        manufacturer_zh="康希诺生物股份公司",
        manufacturer_en="CanSino Biologics Inc.",
        platform=Platform.ADENOVIRUS,
        dcc_mp="Convidecia",
        dcc_ma="ORG-100013793",
        dcc_vp=_VP_VECTOR,
        trace_prefix="8100401",
        short_name_zh="康希诺",
    ),
    _product(
        code="ZF2001",
        name_zh="重组新型冠状病毒蛋白疫苗（CHO细胞）",
        name_en="ZF2001, Recombinant COVID-19 Vaccine (CHO Cell)",
        manufacturer_zh="安徽智飞龙科马生物制药有限公司",
        manufacturer_en="Anhui Zhifei Longcom Biopharmaceutical Co., Ltd.",
        platform=Platform.PROTEIN,
        # No DCC medicinal-product entry names ZF2001 ("Covid-19-recombinant" does not say whose it is).
        dcc_mp=None,
        dcc_ma=None,
        dcc_vp=_VP_PROTEIN,
        trace_prefix="8100501",
        short_name_zh="智飞",
    ),
)

POLICY_2021_FROM: Final = dt.date(2021, 1, 1)
POLICY_2022_FROM: Final = dt.date(2022, 2, 19)
POLICY_2021_TO: Final = POLICY_2022_FROM - dt.timedelta(days=1)

# Two doses ≥21 days apart, the second within 8 weeks of the first.
_INACTIVATED_INTERVALS: Final = (Interval(min_days=21, recommended_days=21, latest_from_dose1_days=56),)
# Three doses ≥28 days apart; dose 2 within 8 weeks and dose 3 within 6 months of dose 1.
_ZF2001_INTERVALS: Final = (
    Interval(min_days=28, recommended_days=28, latest_from_dose1_days=56),
    Interval(min_days=28, recommended_days=28, latest_from_dose1_days=183),
)


def _inactivated_policies(code: str) -> tuple[SchedulePolicy, SchedulePolicy]:
    # 2021: homologous booster (any inactivated product) 6 months after the primary course.
    # From 2022-02-19: 3 months, and heterologous boosters with Ad5 or ZF2001 are allowed.
    homologous = (code, *(c for c in INACTIVATED_CODES if c != code))
    return (
        SchedulePolicy(
            product_code=code,
            effective_from=POLICY_2021_FROM,
            effective_to=POLICY_2021_TO,
            primary_doses=2,
            intervals=_INACTIVATED_INTERVALS,
            completion_products=INACTIVATED_CODES,
            booster=BoosterRule(min_days_after_primary=180, allowed_products=homologous),
        ),
        SchedulePolicy(
            product_code=code,
            effective_from=POLICY_2022_FROM,
            effective_to=None,
            primary_doses=2,
            intervals=_INACTIVATED_INTERVALS,
            completion_products=INACTIVATED_CODES,
            booster=BoosterRule(
                min_days_after_primary=90, allowed_products=homologous + HETEROLOGOUS_BOOSTER_CODES
            ),
        ),
    )


POLICIES: Final[tuple[SchedulePolicy, ...]] = (
    *(pol for code in INACTIVATED_CODES for pol in _inactivated_policies(code)),
    SchedulePolicy(
        product_code="Convidecia",
        effective_from=POLICY_2021_FROM,
        effective_to=None,
        primary_doses=1,
        intervals=(),
        completion_products=("Convidecia",),
        booster=None,
    ),
    SchedulePolicy(
        product_code="ZF2001",
        effective_from=POLICY_2021_FROM,
        effective_to=None,
        primary_doses=3,
        intervals=_ZF2001_INTERVALS,
        completion_products=("ZF2001",),
        booster=None,
    ),
)

CATALOGUE: Final = Catalogue(products=PRODUCTS, policies=POLICIES)


# --------------------------------------------------------------------------------------------------
# Campaign phases (篇四、篇六、篇十: 两步走 / 三阶段). Group codes match registry.defaults.PRIORITY_GROUPS.
# --------------------------------------------------------------------------------------------------

STEP1_GROUPS: Final = (
    "cold_chain",
    "port_customs",
    "medical",
    "transport",
    "police",
    "community_worker",
    "market",
    "utilities",
    "overseas",
    "education",
    "government",
)

PHASES: Final[tuple[Phase, ...]] = (
    Phase(
        code="step1_phase1",
        name_zh="第一步第一阶段：感染风险较高的重点人群",
        name_en="Step 1, phase 1: key groups at high risk of infection",
        priority_groups=STEP1_GROUPS,
        min_age=18,
        max_age=59,
        starts_on=dt.date(2021, 1, 1),
        ends_on=dt.date(2021, 3, 31),
    ),
    Phase(
        code="step1_phase2",
        name_zh="第一步第二阶段：18—59岁目标人群",
        name_en="Step 1, phase 2: everyone aged 18–59",
        priority_groups=(),
        min_age=18,
        max_age=59,
        starts_on=dt.date(2021, 4, 1),
        ends_on=dt.date(2021, 6, 30),
    ),
    Phase(
        code="step2",
        name_zh="第二步：老年人、慢性病患者等高危人群",
        name_en="Step 2: older people and people with chronic diseases",
        priority_groups=(),
        min_age=18,
        max_age=None,
        starts_on=dt.date(2021, 7, 1),
        ends_on=None,
    ),
)


# --------------------------------------------------------------------------------------------------
# Pre-screening questions (预检). 2021-03 uses the seed's 140/90 limit; 2021-06 relaxes it to 160/100.
# --------------------------------------------------------------------------------------------------

_SEVERE_REACTION_CHOICES: Final = ("no", "yes", *(p.code for p in PRODUCTS))


def _questions() -> tuple[Question, ...]:
    return (
        Question(
            code="allergy_vaccine_severe",
            text_zh="既往接种任何疫苗后是否发生过严重过敏反应（如急性过敏反应、荨麻疹、皮肤湿疹、呼吸困难、血管神经性水肿或腹痛）？",
            text_en="Ever had a severe allergic reaction (anaphylaxis, urticaria, eczema, dyspnoea, "
            "angioedema or abdominal pain) after any vaccine?",
            answer_type=AnswerType.BOOL,
            rule=Rule(RuleAction.CONTRAINDICATE, "既往接种疫苗发生严重过敏反应，禁止接种"),
        ),
        Question(
            code="allergy_component",
            text_zh="是否已知对新冠病毒疫苗所含任何成分（包括辅料，如氢氧化铝）过敏？",
            text_en="Known allergy to any component of the COVID-19 vaccine, including excipients "
            "such as aluminium hydroxide?",
            answer_type=AnswerType.BOOL,
            rule=Rule(RuleAction.CONTRAINDICATE, "对疫苗成分过敏，禁止接种"),
        ),
        Question(
            code="covid_dose_severe_reaction",
            text_zh="既往接种新冠病毒疫苗后是否发生严重不良反应或任何神经系统反应？如有，请选择所接种的疫苗品种。",
            text_en="Severe adverse reaction or any neurological reaction after a previous COVID-19 "
            "vaccine dose? If so, which product?",
            answer_type=AnswerType.CHOICE,
            choices=_SEVERE_REACTION_CHOICES,
            rule=Rule(
                RuleAction.CONTRAINDICATE,
                "既往接种新冠病毒疫苗后发生严重不良反应或神经系统反应，禁止再次接种同类疫苗",
                scope=RuleScope.ANSWERED_PLATFORM,
            ),
        ),
        Question(
            code="neurological",
            text_zh="是否患有未控制的癫痫或其他严重神经系统疾病（如脑炎、横贯性脊髓炎、格林巴利综合征、脱髓鞘疾病等）？",
            text_en="Uncontrolled epilepsy or another serious neurological disease (encephalitis, "
            "transverse myelitis, Guillain-Barré syndrome, demyelinating disease)?",
            answer_type=AnswerType.BOOL,
            rule=Rule(RuleAction.CONTRAINDICATE, "患未控制的癫痫或严重神经系统疾病，禁止接种"),
        ),
        Question(
            code="acute_illness",
            text_zh="目前是否发热、患急性疾病，或处于慢性疾病的急性发作期？",
            text_en="Fever, an acute illness, or an acute flare of a chronic disease at present?",
            answer_type=AnswerType.BOOL,
            rule=Rule(
                RuleAction.DEFER,
                "发热、急性疾病或慢性病急性发作期，暂缓接种",
                defer_days=7,
                defer_condition="痊愈后",
            ),
        ),
        Question(
            code="chronic_uncontrolled",
            text_zh="是否患有未控制的严重慢性病（如药物不可控制的高血压、糖尿病并发症、严重肝肾疾病、恶性肿瘤、严重心血管或呼吸系统疾病）？",
            text_en="An uncontrolled serious chronic disease (hypertension not controlled by drugs, "
            "diabetic complications, severe liver or kidney disease, cancer, severe heart or lung disease)?",
            answer_type=AnswerType.BOOL,
            rule=Rule(RuleAction.DEFER, "严重慢性病未控制，暂缓接种", defer_condition="病情控制稳定后"),
        ),
        Question(
            code="pregnancy",
            text_zh="目前是否怀孕？",
            text_en="Currently pregnant?",
            answer_type=AnswerType.BOOL,
            rule=Rule(RuleAction.DEFER, "妊娠期暂缓接种", defer_condition="妊娠结束后"),
        ),
        Question(
            code="lactation",
            text_zh="目前是否处于哺乳期？",
            text_en="Currently breastfeeding?",
            answer_type=AnswerType.BOOL,
            # The technical guide (first edition) recommends vaccinating lactating women at high risk and
            # continuing to breastfeed afterwards, so this is recorded, not a block.
            rule=Rule(RuleAction.NOTE, "哺乳期：可以接种，接种后建议继续母乳喂养"),
        ),
        Question(
            code="other_vaccine_date",
            text_zh="近14天内是否接种过其他疫苗？如有，请填写接种日期。",
            text_en="Any other vaccine in the last 14 days? If so, on what date?",
            answer_type=AnswerType.DATE,
            rule=Rule(
                RuleAction.DEFER,
                "距接种其他疫苗不足14天，暂缓接种",
                defer_days_after_answer=14,
            ),
        ),
        Question(
            code="remarks",
            text_zh="其他需要说明的健康情况",
            text_en="Anything else about the person's health",
            answer_type=AnswerType.TEXT,
            required=False,
            rule=Rule(RuleAction.NOTE, "受种者另有健康情况说明，请预检医生复核"),
        ),
    )


QUESTION_SETS: Final[tuple[QuestionSet, ...]] = (
    QuestionSet(
        version="2021-03",
        effective_from=dt.date(2021, 3, 1),
        questions=_questions(),
        temp_max_c=37.3,
        bp_systolic_max=140,
        bp_diastolic_max=90,
    ),
    QuestionSet(
        version="2021-06",
        effective_from=dt.date(2021, 6, 1),
        questions=_questions(),
        temp_max_c=37.3,
        bp_systolic_max=160,
        bp_diastolic_max=100,
    ),
)


# --------------------------------------------------------------------------------------------------
# The seed's own contraindication list (篇九: "…不予接种"), as a version a county may choose instead of the
# technical guide's: loaded not in use; the county ticks 在用 (and sets its date) in the admin. Where the
# seed says 不予接种 for a passing state (哺乳期, 备孕期, 大手术后恢复期…) the person is deferred until it
# ends; for a lasting one (精神类疾病, 家族遗传性疾病, 心脏手术史…) vaccination is contraindicated.
# --------------------------------------------------------------------------------------------------

SEED_VERSION: Final = "2021-03-篇九"


def _seed_questions() -> tuple[Question, ...]:
    guide = {q.code: q for q in _questions()}

    def yes_no(code: str, text: str, en: str, rule: Rule) -> Question:
        return Question(code=code, text_zh=text, text_en=en, answer_type=AnswerType.BOOL, rule=rule)

    def defer(reason: str, until: str) -> Rule:
        return Rule(RuleAction.DEFER, reason, defer_condition=until)

    def never(reason: str) -> Rule:
        return Rule(RuleAction.CONTRAINDICATE, reason)

    return (
        guide["allergy_vaccine_severe"],
        guide["allergy_component"],
        guide["covid_dose_severe_reaction"],
        guide["neurological"],
        guide["acute_illness"],
        yes_no(
            "chronic_poorly_controlled",
            "是否有高血压、糖尿病等基础疾病且药物控制不好？",
            "Hypertension, diabetes or another underlying disease poorly controlled by drugs?",
            defer("基础疾病药物控制不好，不予接种", "病情控制稳定后"),
        ),
        yes_no(
            "mental_illness",
            "是否患有精神类疾病（包括抑郁症）？",
            "A mental illness, including depression?",
            never("精神类疾病（包括抑郁症）者不予接种"),
        ),
        yes_no(
            "hereditary_disease",
            "是否有家族遗传性疾病（如白化病）？",
            "A hereditary family disease (e.g. albinism)?",
            never("有家族遗传性疾病者不予接种"),
        ),
        yes_no(
            "cardio_unstable",
            "是否处于心脑血管疾病不稳定期？",
            "Cardiovascular or cerebrovascular disease in an unstable phase?",
            defer("心脑血管疾病不稳定期不予接种", "病情稳定后"),
        ),
        yes_no(
            "heart_surgery",
            "是否有心脏手术史（如心脏搭桥、瓣膜置换、支架）？",
            "Past heart surgery (bypass, valve replacement, stent)?",
            never("有心脏手术史者不予接种"),
        ),
        yes_no(
            "major_surgery_recovery",
            "是否处于大手术后恢复期？",
            "Recovering from major surgery?",
            defer("大手术后恢复期不予接种", "术后恢复后"),
        ),
        Question(
            code="blood_products_date",
            text_zh="近三个月内是否使用过血液制品或免疫抑制剂？如有，请填写最后使用日期。",
            text_en="Blood products or immunosuppressants in the last three months? If so, the last date.",
            answer_type=AnswerType.DATE,
            rule=Rule(
                RuleAction.DEFER, "近三个月内使用过血液制品或免疫抑制剂，不予接种", defer_days_after_answer=90
            ),
        ),
        yes_no(
            "levothyroxine",
            "是否正在服用优甲乐（左甲状腺素钠）？",
            "Currently taking levothyroxine (Euthyrox)?",
            defer("服用优甲乐者不予接种", "停药并经医生评估后"),
        ),
        yes_no(
            "preparing_pregnancy",
            "是否处于备孕期（计划3—6个月内怀孕）？",
            "Planning a pregnancy within 3–6 months?",
            defer("备孕期妇女不予接种", "备孕期结束后"),
        ),
        guide["pregnancy"],
        yes_no(
            "lactation",
            "目前是否处于哺乳期？",
            "Currently breastfeeding?",
            defer("哺乳期者不予接种", "哺乳期结束后"),
        ),
        yes_no(
            "immunosuppressant_long_term",
            "是否长期服用免疫抑制剂？",
            "Taking immunosuppressants long-term?",
            never("长期服用免疫抑制剂者不予接种"),
        ),
        yes_no(
            "anaemia",
            "是否有中、重度贫血？",
            "Moderate or severe anaemia?",
            defer("中、重度贫血者不予接种", "贫血纠正后"),
        ),
        yes_no(
            "antiviral_treatment",
            "是否正在进行乙肝或幽门螺杆菌的抗病毒（抗菌）治疗？",
            "Under antiviral treatment for hepatitis B or eradication treatment for H. pylori?",
            defer("乙肝、幽门螺杆菌治疗期间不予接种", "治疗结束后"),
        ),
        yes_no(
            "influenza_vaccine_contraindicated",
            "是否有流感疫苗接种禁忌？",
            "Any contraindication to influenza vaccine?",
            never("有流感疫苗禁忌者本疫苗亦禁忌接种"),
        ),
        guide["other_vaccine_date"],
        guide["remarks"],
    )


SEED_QUESTION_SET: Final = QuestionSet(
    version=SEED_VERSION,
    effective_from=dt.date(2021, 3, 1),
    questions=_seed_questions(),
    temp_max_c=37.3,
    # "高血压控制稳定(140/90)以下才接种"
    bp_systolic_max=140,
    bp_diastolic_max=90,
    in_use=False,
)

# Versions loaded beside the technical guide's, not in use until the county chooses one.
LOCAL_QUESTION_SETS: Final[tuple[QuestionSet, ...]] = (SEED_QUESTION_SET,)

QUESTION_SET_NOTES: Final[dict[str, str]] = {
    SEED_VERSION: "本地版：工作报告篇九所列禁忌（哺乳期、备孕期等不予接种），县可选用以替代技术指南版",
}
