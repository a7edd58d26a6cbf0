"""A reproducible synthetic population of fictional people for the demo county (stdlib only).

``generate_people`` streams census-import rows (the Chinese headers of the census template) one at a time in
constant memory: the same seed always gives the same rows, ages follow the 2020 census, every ID number is a
valid 18-digit resident ID of the county and unique within the run. Nobody in it is real; the names are
common ones, so any match with a living person is chance.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator, Mapping
from datetime import date

from vaxops.registry.domain import PROVINCE_CODES

__all__ = [
    "AGE_STRUCTURE_2020",
    "DEMO_EMPLOYERS",
    "HEADERS",
    "generate_people",
    "township_names",
    "village_names",
]

# fmt: off
HEADERS = (
    "姓名", "证件类型", "证件号码", "性别", "出生日期", "手机号码", "现住址", "村(社区)代码",
    "工作单位", "人群分类", "职业", "慢性病", "接种意愿", "意愿原因",
)
# fmt: on

# ---------------------------------------------------------------------------------------------------------
# Age structure
# ---------------------------------------------------------------------------------------------------------

# Population by five-year age group, 31 provinces, 2020-11-01: 国家统计局《中国人口普查年鉴-2020》
# table 1-5 (各地区分年龄、性别的人口, 全国 row; https://www.stats.gov.cn/sj/pcsj/rkpc/7rp/indexch.htm).
# The table's total is 1,409,778,724: the census's 1,411,778,724 less the 2,000,000 serving military, who are
# not tabulated by age. Groups 10-14 … 100+ are the table's counts. The table's 0-4 and 5-9 together are the
# total less every other group, 168,127,944; their sum with 10-14 (253,383,938) is exactly the 0-14 count of
# 第七次全国人口普查公报（第五号）. The split between 0-4 and 5-9 was taken from a secondary transcription and
# has not been checked against the scanned table (it moves no share by more than a few thousandths of a
# percentage point of the 0-14 total, which is exact).
_CENSUS_2020: tuple[tuple[int, int, int], ...] = (  # (first age, last age, people)
    (0, 4, 77_881_949),
    (5, 9, 90_245_995),
    (10, 14, 85_255_994),
    (15, 19, 72_684_140),
    (20, 24, 74_941_675),
    (25, 29, 91_847_332),
    (30, 34, 124_145_190),
    (35, 39, 99_012_932),
    (40, 44, 92_955_330),
    (45, 49, 114_224_887),
    (50, 54, 121_164_296),
    (55, 59, 101_400_786),
    (60, 64, 73_382_938),
    (65, 69, 74_005_560),
    (70, 74, 49_590_036),
    (75, 79, 31_238_849),
    (80, 84, 20_382_878),
    (85, 89, 10_826_530),
    (90, 94, 3_652_749),
    (95, 99, 819_812),
    (100, 103, 118_866),  # 100 and over; spread over 100-103 here
)
_CENSUS_TOTAL = sum(people for _, _, people in _CENSUS_2020)

# Shares of the population in each five-year group, 0-4 … 85+ (85+ merges the four oldest groups above).
AGE_STRUCTURE_2020: dict[str, float] = {
    f"{lo}-{hi}": people / _CENSUS_TOTAL for lo, hi, people in _CENSUS_2020 if lo < 85
}
AGE_STRUCTURE_2020["85+"] = sum(people for lo, _, people in _CENSUS_2020 if lo >= 85) / _CENSUS_TOTAL

_MAX_AGE = _CENSUS_2020[-1][1]


def _single_year_cumulative() -> list[float]:
    weights = [0.0] * (_MAX_AGE + 1)
    for lo, hi, people in _CENSUS_2020:
        for age in range(lo, hi + 1):
            weights[age] = people / (hi - lo + 1)
    total = sum(weights)
    cumulative, running = [], 0.0
    for w in weights:
        running += w / total
        cumulative.append(running)
    cumulative[-1] = 1.0
    return cumulative


_AGE_CUMULATIVE = _single_year_cumulative()


def _share_male(age: int) -> float:
    # Sex ratios by age in the 2020 census: boys outnumber girls, older women outnumber older men.
    if age < 15:
        return 0.535
    if age < 60:
        return 0.515
    if age < 70:
        return 0.495
    if age < 80:
        return 0.475
    if age < 90:
        return 0.43
    return 0.36


# ---------------------------------------------------------------------------------------------------------
# Employers and priority groups
# ---------------------------------------------------------------------------------------------------------

DEMO_EMPLOYERS: list[tuple[str, str, str]] = [
    ("DEMO-E01", "恒丰进口冷链仓储有限公司", "cold_chain"),
    ("DEMO-E02", "鲜港冷链物流有限公司", "cold_chain"),
    ("DEMO-E03", "陆港口岸联合查验中心", "port_customs"),
    ("DEMO-E04", "县人民医院", "medical"),
    ("DEMO-E05", "县中医院", "medical"),
    ("DEMO-E06", "县公共交通有限公司", "transport"),
    ("DEMO-E07", "县公安局", "police"),
    ("DEMO-E08", "城关街道社区工作站", "community_worker"),
    ("DEMO-E09", "县第一中学", "education"),
    ("DEMO-E10", "县实验小学", "education"),
    ("DEMO-E11", "县人民政府办公室", "government"),
    ("DEMO-E12", "县市场监督管理局", "government"),
    ("DEMO-E13", "宏达纺织有限公司", "general"),
    ("DEMO-E14", "绿源食品加工有限公司", "general"),
]

# How many staff an employer of each group has, relative to the others (hospitals and factories are big,
# cold stores small).
# fmt: off
_EMPLOYER_SIZE = {
    "cold_chain": 1.0, "port_customs": 1.0, "medical": 3.0, "transport": 1.5, "police": 1.5,
    "community_worker": 1.5, "education": 2.5, "government": 2.0, "general": 6.0,
}
# fmt: on
_OCCUPATIONS_BY_GROUP = {
    "cold_chain": ("冷链搬运工", "冷库管理员", "冷链物流司机", "进口冻品销售员"),
    "port_customs": ("海关关员", "口岸查验员", "边检民警", "港口装卸工"),
    "medical": ("医生", "护士", "护士", "药剂师", "检验技师", "医院后勤人员"),
    "transport": ("公交驾驶员", "出租车司机", "客运站工作人员", "乘务员"),
    "police": ("民警", "辅警", "消防员"),
    "community_worker": ("社区工作者", "网格员", "村干部"),
    "education": ("教师", "教师", "保育员", "学校后勤人员"),
    "government": ("公务员", "事业单位职员"),
    "general": ("职员", "工人", "工人", "技术员", "销售员", "会计"),
}
# fmt: off
_OCCUPATIONS_ADULT = (
    ("农民",) * 7 + ("务工人员",) * 5 + ("个体工商户",) * 3 + ("自由职业",) * 2 + ("家务",) * 2 + ("无业",) * 2
)
_OCCUPATIONS_ADULT_URBAN = (
    ("务工人员",) * 4 + ("个体工商户",) * 3 + ("职员",) * 3 + ("自由职业",) * 2 + ("家务",) * 2 + ("无业",) * 2
)
_OCCUPATIONS_ELDERLY = ("离退休人员",) * 5 + ("农民",) * 4 + ("无业",)
_OCCUPATIONS_ELDERLY_URBAN = ("离退休人员",) * 8 + ("无业",) * 2
_CHRONIC = ("高血压",) * 9 + ("糖尿病",) * 5 + ("冠心病",) * 2 + ("慢性阻塞性肺疾病", "慢性肾病", "哮喘")
_HESITANT_REASONS = (
    "担心不良反应", "想再观望一段时间", "近期身体不适", "工作忙暂时没空", "担心有基础病不能打", "在外地务工暂未返乡",
)
_REFUSED_REASONS = ("认为本地没有疫情不需要", "担心疫苗安全性", "家人不同意", "曾有严重过敏史", "年龄大行动不便")
# fmt: on

# ---------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------

# The 60 commonest surnames with their approximate shares (%) of registered residents, after the Ministry of
# Public Security's 2020 surname report (《二〇二〇年全国姓名报告》); rounded, only the order and rough sizes matter.
# fmt: off
_SURNAMES = (
    ("王", 7.25), ("李", 7.19), ("张", 6.83), ("刘", 5.38), ("陈", 4.53), ("杨", 3.08), ("黄", 2.23),
    ("赵", 1.94), ("吴", 1.86), ("周", 1.77), ("徐", 1.51), ("孙", 1.44), ("马", 1.29), ("朱", 1.28),
    ("胡", 1.16), ("郭", 1.15), ("何", 1.06), ("林", 1.01), ("高", 1.00), ("罗", 0.86), ("郑", 0.78),
    ("梁", 0.74), ("谢", 0.68), ("宋", 0.63), ("唐", 0.62), ("许", 0.60), ("韩", 0.57), ("冯", 0.55),
    ("邓", 0.55), ("曹", 0.53), ("彭", 0.52), ("曾", 0.50), ("肖", 0.48), ("田", 0.47), ("董", 0.46),
    ("袁", 0.45), ("潘", 0.44), ("于", 0.44), ("蒋", 0.43), ("蔡", 0.42), ("余", 0.41), ("杜", 0.40),
    ("叶", 0.39), ("程", 0.39), ("苏", 0.37), ("魏", 0.36), ("吕", 0.35), ("丁", 0.34), ("任", 0.33),
    ("沈", 0.32), ("姚", 0.32), ("卢", 0.31), ("姜", 0.30), ("崔", 0.30), ("钟", 0.29), ("谭", 0.29),
    ("陆", 0.28), ("汪", 0.27), ("范", 0.27), ("金", 0.26),
)
# fmt: on

# Given names in fashion for each generation (born before 1970, 1970–1999, from 2000), and characters that
# are combined into further names.
# fmt: off
_GIVEN_NAMES = {
    ("M", 0): (
        "建国", "建华", "国强", "志强", "建军", "国华", "德明", "永明", "玉林", "振华", "文华", "德华", "福生",
        "长青", "卫东", "红军", "志明", "家明", "保国", "金山", "桂林", "海山", "春生", "学军", "振国", "庆华",
        "明德", "光明", "国庆", "建平",
    ),
    ("M", 1): (
        "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "辉", "鹏", "飞", "波", "亮", "峰",
        "志伟", "海涛", "建伟", "晓东", "晓明", "文杰", "鹏飞", "俊杰", "志勇", "海波", "明辉", "永强", "国栋",
        "晓峰", "建波",
    ),
    ("M", 2): (
        "子轩", "浩宇", "宇轩", "梓豪", "俊熙", "浩然", "一鸣", "子墨", "梓睿", "宇航", "博文", "天佑", "俊宇",
        "铭泽", "睿", "皓轩", "思远", "嘉豪", "子豪", "奕辰", "宸", "沐阳", "明轩", "锦程", "昊然", "泽宇",
    ),
    ("F", 0): (
        "秀英", "桂英", "秀兰", "玉兰", "桂兰", "秀珍", "凤英", "玉珍", "玉英", "兰英", "淑珍", "淑英", "翠兰",
        "秀云", "桂芳", "素珍", "春梅", "冬梅", "金凤", "凤兰", "美华", "丽华", "爱华", "淑华", "秀芝", "玉梅",
    ),
    ("F", 1): (
        "丽", "芳", "娜", "敏", "静", "艳", "娟", "霞", "燕", "玲", "萍", "红", "琳", "婷", "雪", "慧", "颖",
        "丽娟", "晓燕", "海燕", "丽萍", "春燕", "艳红", "晓红", "雪梅", "秀丽", "婷婷", "晓丽", "玉洁", "丹",
    ),
    ("F", 2): (
        "梓涵", "欣怡", "子涵", "诗涵", "雨涵", "一诺", "可欣", "思涵", "梦瑶", "语桐", "紫涵", "雨桐", "佳怡",
        "欣妍", "依诺", "若汐", "梓萱", "诗琪", "语嫣", "雨欣", "静怡", "嘉怡", "心怡", "可馨", "芷若", "安琪",
    ),
}
# fmt: on
_NAME_CHARACTERS = {
    "M": "伟强磊军勇杰涛斌超明刚平辉鹏华飞宇浩凯健俊帆旭宁龙林阳建国志文博晨睿泽昊嘉宏立成新永海峰东思天",
    "F": "芳娜敏静丽艳娟霞秀玲英兰萍红燕琳婷雪慧颖倩洁梅莉欣怡悦晶佳妍雨梦诗涵琪瑶萱可心月雅彤婉清晓春美丹",
}

# ---------------------------------------------------------------------------------------------------------
# Places
# ---------------------------------------------------------------------------------------------------------

_PLACE_FIRST = "东西南北上下大小新老石桥河山林柳杨梅白黄青红金银龙凤安平和兴丰福永长清宁高马"
_PLACE_SECOND = "家庄湾坪岗坝塘坡沟岭口桥港堡园湖溪田铺营集寨洼店头泉峪川水台"
_TOWN_FIRST = "东西南北新老石青金龙凤安平和兴丰福永长清宁高太仁义礼文德华阳云"
_TOWN_SECOND = "关集桥河山岭溪源坪口湖阳城丰安宁兴和平乐华林川泉埠"
# fmt: off
_ROADS = ("人民路", "建设路", "解放路", "和平路", "新华路", "文化路", "胜利路", "幸福路", "光明路", "朝阳路",
          "健康路", "团结路")
# fmt: on


def _unique_stems(rng: random.Random, count: int, first: str, second: str) -> list[str]:
    """``count`` distinct two-character stems (three characters once the two-character ones run out)."""
    pairs = [a + b for a in first for b in second if a != b]
    if count <= len(pairs):
        return rng.sample(pairs, count)
    stems = rng.sample(pairs, len(pairs))
    seen = set(stems)
    while len(stems) < count:
        stem = rng.choice(first) + rng.choice(second) + rng.choice(second)
        if stem not in seen:
            seen.add(stem)
            stems.append(stem)
    return stems


def village_names(seed: int, count: int) -> list[str]:
    """``count`` distinct fictional village/community names ("石湾村", "柳园社区"), the same for the same seed."""
    rng = random.Random(f"vaxops-demo-villages:{seed}")
    stems = _unique_stems(rng, count, _PLACE_FIRST, _PLACE_SECOND)
    return [stem + ("社区" if rng.random() < 0.25 else "村") for stem in stems]


def township_names(seed: int, count: int) -> list[str]:
    """``count`` distinct fictional township names ("青溪镇"), the same for the same seed."""
    rng = random.Random(f"vaxops-demo-townships:{seed}")
    return [stem + "镇" for stem in _unique_stems(rng, count, _TOWN_FIRST, _TOWN_SECOND)]


# ---------------------------------------------------------------------------------------------------------
# Phones
# ---------------------------------------------------------------------------------------------------------

# fmt: off
_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180", "181", "182", "183", "184",
    "185", "186", "187", "188", "189", "191", "198", "199",
)
# fmt: on

# ---------------------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SEQ_TEXT = tuple(f"{s:03d}" for s in range(1000))
_SEQ_SUM = tuple(int(t[0]) * 8 + int(t[1]) * 4 + int(t[2]) * 2 for t in _SEQ_TEXT)
# Within one birth date the k-th man gets sequence 2j+1 and the k-th woman 2j+2, j = (k*STRIDE + offset) mod
# the slots of that sex: distinct for every k below the slot count, and not simply 001, 003, 005, … .
_MALE_SLOTS, _FEMALE_SLOTS, _STRIDE = 500, 499, 137


def _cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    out, running = [], 0.0
    for w in weights:
        running += w / total
        out.append(running)
    out[-1] = 1.0
    return out


def _latest_birth(today: date, age: int) -> date:
    """The last birth date at which someone is ``age`` on ``today`` (29 February falls back to the 28th)."""
    try:
        return today.replace(year=today.year - age)
    except ValueError:
        return date(today.year - age, 2, 28)


def generate_people(
    *,
    n: int,
    seed: int,
    county_code: str,
    village_codes: list[str],
    employers: list[tuple[str, str, str]],
    today: date,
    place_names: Mapping[str, str] | None = None,
) -> Iterator[dict[str, str]]:
    """Yield ``n`` census rows (keys: :data:`HEADERS`) of fictional residents of ``county_code``.

    Villages are weighted at random (some are bigger than others). Village i is called
    ``village_names(seed, len(village_codes))[i]`` and township j (the j-th distinct first nine digits of the
    village codes, in order of appearance) ``township_names(seed, …)[j]`` in addresses, unless ``place_names``
    maps the 12-digit village code or the 9-digit township code to a name. Raises ValueError for codes
    that are not the county's, and when more people share a birth date and sex than there are sequence
    numbers (about a thousand times more people than a county has).
    """
    if n < 0:
        raise ValueError("n must not be negative")
    if len(county_code) != 6 or not county_code.isdigit() or county_code[:2] not in PROVINCE_CODES:
        raise ValueError(f"county_code must be a 6-digit area code, not {county_code!r}")
    if not village_codes:
        raise ValueError("village_codes must not be empty")
    for code in village_codes:
        if len(code) != 12 or not code.isdigit() or not code.startswith(county_code):
            raise ValueError(f"village code {code!r} is not a 12-digit code in county {county_code}")
    return _generate(
        n, seed, county_code, list(village_codes), list(employers), today, dict(place_names or {})
    )


def _generate(
    n: int,
    seed: int,
    county_code: str,
    village_codes: list[str],
    employers: list[tuple[str, str, str]],
    today: date,
    names: dict[str, str],
) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    r = rng.random

    # Places: the address prefix of each village, and whether it is an urban community.
    township_codes = list(dict.fromkeys(code[:9] for code in village_codes))
    default_towns = dict(zip(township_codes, township_names(seed, len(township_codes)), strict=True))
    default_villages = village_names(seed, len(village_codes))
    prefixes, community, roads = [], [], []
    for i, code in enumerate(village_codes):
        village = names.get(code) or default_villages[i]
        town = names.get(code[:9]) or default_towns[code[:9]]
        prefixes.append(town + village)
        community.append(village.endswith("社区"))
        roads.append((_ROADS[i % len(_ROADS)], _ROADS[(i * 5 + 3) % len(_ROADS)]))
    village_cumulative = _cumulative([0.4 + r() * 1.6 for _ in village_codes])
    # Where each day's numbering starts depends on the seed too, so runs with other seeds share few numbers.
    seq_offset = int(r() * _MALE_SLOTS * _FEMALE_SLOTS)
    village_count = len(village_codes)

    employer_cumulative = (
        _cumulative([_EMPLOYER_SIZE.get(g, 1.0) for _, _, g in employers]) if employers else []
    )
    surnames = [s for s, _ in _SURNAMES]
    surname_cumulative = _cumulative([w for _, w in _SURNAMES])

    # Ages → the range of birth-date ordinals that give that age today, and each sex's chance.
    latest = [_latest_birth(today, age).toordinal() for age in range(_MAX_AGE + 2)]
    birth_low = [latest[age + 1] + 1 for age in range(_MAX_AGE + 1)]
    birth_span = [latest[age] - birth_low[age] + 1 for age in range(_MAX_AGE + 1)]
    share_male = [_share_male(age) for age in range(_MAX_AGE + 1)]

    area_sum = sum(int(c) * w for c, w in zip(county_code, _WEIGHTS, strict=False))
    date_cache: dict[int, tuple[str, str, int]] = {}  # ordinal → (YYYY-MM-DD, YYYYMMDD, weighted digit sum)
    used: dict[int, list[int]] = {}  # ordinal → [men, women] numbered so far
    guardian_phone: list[str] = [""] * village_count

    given = _GIVEN_NAMES
    chars = _NAME_CHARACTERS
    seq_text, seq_sum, check_chars = _SEQ_TEXT, _SEQ_SUM, _CHECK_CHARS
    prefixes_mobile, n_prefixes = _MOBILE_PREFIXES, len(_MOBILE_PREFIXES)
    age_cumulative = _AGE_CUMULATIVE
    date_weights = _WEIGHTS[6:14]
    today_year = today.year

    for _ in range(n):
        age = bisect(age_cumulative, r())
        if age > _MAX_AGE:
            age = _MAX_AGE
        male = r() < share_male[age]

        # Birth date and a sequence number nobody else born that day of that sex has.
        ordinal = birth_low[age] + int(r() * birth_span[age])
        sex_index, slots = (0, _MALE_SLOTS) if male else (1, _FEMALE_SLOTS)
        tries = 0
        while True:
            counts = used.get(ordinal)
            if counts is None:
                counts = used[ordinal] = [0, 0]
            k = counts[sex_index]
            if k < slots:
                break
            # That day's numbers are spent: the next day that still gives the same age.
            tries += 1
            if tries >= birth_span[age]:
                raise ValueError(f"more people aged {age} of one sex than the ID sequence numbers allow")
            ordinal = birth_low[age] + (ordinal - birth_low[age] + 1) % birth_span[age]
        counts[sex_index] = k + 1
        if male:
            seq = 2 * ((k * _STRIDE + ordinal + seq_offset) % _MALE_SLOTS) + 1
        else:
            seq = 2 * ((k * _STRIDE + ordinal + seq_offset) % _FEMALE_SLOTS) + 2
        cached = date_cache.get(ordinal)
        if cached is None:
            iso = date.fromordinal(ordinal).isoformat()
            compact = iso.replace("-", "")
            digits_sum = sum(int(c) * w for c, w in zip(compact, date_weights, strict=True))
            cached = date_cache[ordinal] = (iso, compact, digits_sum)
        iso, compact, date_sum = cached
        id_number = (
            county_code + compact + seq_text[seq] + check_chars[(area_sum + date_sum + seq_sum[seq]) % 11]
        )

        # Name.
        sex_key = "M" if male else "F"
        birth_year = today_year - age
        x = r()
        if x < 0.6:
            era = 0 if birth_year < 1970 else (1 if birth_year < 2000 else 2)
            pool = given[(sex_key, era)]
            given_name = pool[int(x / 0.6 * len(pool))]
        else:
            pool = chars[sex_key]
            first = pool[int(r() * len(pool))]
            if x < 0.68:
                given_name = first
            else:
                second = pool[int(r() * len(pool))]
                given_name = first + (
                    second if second != first else pool[(pool.index(first) + 7) % len(pool)]
                )
        name = surnames[bisect(surname_cumulative, r())] + given_name

        # Where they live.
        v = bisect(village_cumulative, r())
        if v >= village_count:
            v = village_count - 1
        y = int(r() * 1_000_000_000)
        if community[v]:
            road = roads[v][y & 1]
            address = (
                f"{prefixes[v]}{road}{y % 300 + 1}号{(y // 300) % 30 + 1}栋"
                f"{(y // 9000) % 18 + 1}{(y // 162000) % 4 + 1:02d}室"
            )
        else:
            address = f"{prefixes[v]}{y % 12 + 1}组{(y // 12) % 150 + 1}号"

        # Work, health and priority group.
        employer_name = chronic = ""
        if age < 18:
            group = "general"
            occupation = "散居儿童" if age < 3 else ("幼托儿童" if age < 6 else "学生")
            if r() < 0.005:
                chronic = "哮喘"
        elif age < 60:
            z = r()
            if z < 0.15:
                chronic = _CHRONIC[int(z / 0.15 * len(_CHRONIC))]
            if employers and r() < 0.25:
                e = bisect(employer_cumulative, r())
                _, employer_name, group = employers[min(e, len(employers) - 1)]
                jobs = _OCCUPATIONS_BY_GROUP.get(group, _OCCUPATIONS_BY_GROUP["general"])
                occupation = jobs[int(r() * len(jobs))]
            else:
                group = "chronic" if chronic else "general"
                if age <= 22 and r() < 0.55:
                    occupation = "学生"
                else:
                    jobs = _OCCUPATIONS_ADULT_URBAN if community[v] else _OCCUPATIONS_ADULT
                    occupation = jobs[int(r() * len(jobs))]
        else:
            group = "elderly_60"
            jobs = _OCCUPATIONS_ELDERLY_URBAN if community[v] else _OCCUPATIONS_ELDERLY
            occupation = jobs[int(r() * len(jobs))]
            z = r()
            if z < 0.42:
                chronic = _CHRONIC[int(z / 0.42 * len(_CHRONIC))]
                if z < 0.08 and chronic != "糖尿病":
                    chronic += "、糖尿病"

        # Phone: adults have their own; children a guardian's from the same village, or none.
        if age >= 16 and (age >= 18 or r() < 0.7):
            phone = prefixes_mobile[int(r() * n_prefixes)] + f"{int(r() * 100_000_000):08d}"
            if age >= 18:
                guardian_phone[v] = phone
        else:
            phone = guardian_phone[v] if r() < 0.85 else ""

        w = r()
        if w < 0.80:
            willingness, reason = "愿意", ""
        elif w < 0.95:
            willingness = "犹豫"
            reason = _HESITANT_REASONS[int((w - 0.80) / 0.15 * len(_HESITANT_REASONS))]
        else:
            willingness = "拒绝"
            reason = _REFUSED_REASONS[
                min(int((w - 0.95) / 0.05 * len(_REFUSED_REASONS)), len(_REFUSED_REASONS) - 1)
            ]

        yield {
            "姓名": name,
            "证件类型": "居民身份证",
            "证件号码": id_number,
            "性别": "男" if male else "女",
            "出生日期": iso,
            "手机号码": phone,
            "现住址": address,
            "村(社区)代码": village_codes[v],
            "工作单位": employer_name,
            "人群分类": group,
            "职业": occupation,
            "慢性病": chronic,
            "接种意愿": willingness,
            "意愿原因": reason,
        }
