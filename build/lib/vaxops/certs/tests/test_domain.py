"""The pure rules: ICAO names, UVCI and its check character, dose numbers, the payload and the schema."""

import datetime as dt

import pytest

from vaxops.certs import domain


@pytest.mark.parametrize(
    "name, fnt, gnt, whole",
    [
        ("张三丰", "ZHANG", "SANFENG", "ZHANG<SANFENG"),
        ("王小明", "WANG", "XIAOMING", "WANG<XIAOMING"),
        ("张 三丰", "ZHANG", "SANFENG", "ZHANG<SANFENG"),
        # compound surnames
        ("欧阳修", "OUYANG", "XIU", "OUYANG<XIU"),
        ("诸葛亮", "ZHUGE", "LIANG", "ZHUGE<LIANG"),
        ("司马光", "SIMA", "GUANG", "SIMA<GUANG"),
        ("长孙无忌", "ZHANGSUN", "WUJI", "ZHANGSUN<WUJI"),
        ("万俟卨", "MOQI", "XIE", "MOQI<XIE"),
        # surnames read otherwise than the character's common reading
        ("单雄信", "SHAN", "XIONGXIN", "SHAN<XIONGXIN"),
        ("曾国藩", "ZENG", "GUOFAN", "ZENG<GUOFAN"),
        ("区永华", "OU", "YONGHUA", "OU<YONGHUA"),
        ("解缙", "XIE", "JIN", "XIE<JIN"),
        ("仇英", "QIU", "YING", "QIU<YING"),
        # ü is written YU, as on Chinese passports (吕 LYU, 女 NYU); ICAO leaves national scripts to the State
        ("吕小军", "LYU", "XIAOJUN", "LYU<XIAOJUN"),
        ("女娲", "NYU", "WA", "NYU<WA"),
        ("李绿", "LI", "LYU", "LI<LYU"),
        # no surname can be told apart: the whole name is the primary identifier
        ("买买提·艾力", "MAIMAITI<AILI", "", "MAIMAITI<AILI"),
        # Latin script: the ICAO table for national characters
        ("Müller, Hans-Jürgen", "MUELLER", "HANS<JUERGEN", "MUELLER<HANS<JUERGEN"),
        ("d'Červenková Panklová", "DCERVENKOVA<PANKLOVA", "", "DCERVENKOVA<PANKLOVA"),
        ("SMITH<<JOHN PAUL", "SMITH", "JOHN<PAUL", "SMITH<JOHN<PAUL"),
        ("Øster, Åse", "OESTER", "AASE", "OESTER<AASE"),
    ],
)
def test_names_are_standardised_as_icao_9303(name, fnt, gnt, whole):
    n = domain.transliterate_name(name)
    assert (n.fnt, n.gnt, n.standardised) == (fnt, gnt, whole)
    assert all(c == "<" or "A" <= c <= "Z" for c in n.fnt + n.gnt)


def test_chinese_name_keeps_the_characters_in_fn_and_gn():
    n = domain.transliterate_name("欧阳修")
    assert (n.fn, n.gn) == ("欧阳", "修")
    assert n.as_dcc() == {"fn": "欧阳", "fnt": "OUYANG", "gn": "修", "gnt": "XIU"}
    assert domain.transliterate_name("买买提·艾力").as_dcc() == {"fn": "买买提·艾力", "fnt": "MAIMAITI<AILI"}


def test_standardised_names_are_at_most_80_characters():
    n = domain.transliterate_name("Wolfeschlegelsteinhausenbergerdorff " * 5 + ", Hubert")
    assert len(n.fnt) <= 80 and not n.fnt.endswith("<")


def test_an_empty_name_is_refused():
    with pytest.raises(ValueError, match="姓名为空"):
        domain.transliterate_name("  ")


# ---------------------------------------------------------------------------------------------- UVCI


def test_the_check_character_matches_published_uvcis():
    # Real certificates of the EU DCC test data (Sweden, Austria).
    for uvci in ("URN:UVCI:01:SE:EHM/V12907267LAJW#E", "URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B"):
        assert domain.uvci_check(uvci) == [], uvci


def test_luhn_mod_n_validates_to_zero_over_the_38_character_set():
    """Validation property of Luhn mod N: starting with factor 1 over the string *with* its check
    character, the sum is a multiple of N = 38."""
    body = "URN:UVCI:01:NL:187/37512422923"
    check = domain.luhn_mod_n(body)
    n, factor, total = len(domain.UVCI_CHARSET), 1, 0
    for ch in reversed(body + check):
        addend = factor * domain.UVCI_CHARSET.index(ch)
        factor = 3 - factor
        total += addend // n + addend % n
    assert total % n == 0


def test_our_uvci_has_the_format_and_a_valid_check_character():
    uvci = domain.uvci_make(issuer="QXCDC", unique=domain.uvci_unique())
    assert uvci.startswith("URN:UVCI:01:CN:QXCDC/") and len(uvci) <= 50
    assert uvci[-2] == "#" and domain.uvci_check(uvci) == []
    wrong = uvci[:-1] + ("A" if uvci[-1] != "A" else "B")
    assert "UVCI 校验字符错误 / wrong UVCI check character" in domain.uvci_check(wrong)
    assert domain.uvci_check("URN:UVCI:01:cn:x") == ["UVCI 格式不正确 / malformed UVCI"]
    with pytest.raises(ValueError):
        domain.uvci_make(issuer="qx", unique="ABC")


def test_uvci_unique_parts_differ():
    assert len({domain.uvci_unique() for _ in range(1000)}) == 1000


def test_revocation_hash_is_the_first_128_bits_of_sha256_in_base64():
    import base64
    import hashlib

    uvci = "URN:UVCI:01:SE:EHM/V12907267LAJW#E"
    assert domain.uvci_hash(uvci) == base64.b64encode(hashlib.sha256(uvci.encode()).digest()[:16]).decode()
    assert len(domain.uvci_hash(uvci)) == 24


# ---------------------------------------------------------------------------------------- doses, payload


@pytest.mark.parametrize(
    "number, booster, primary, expected",
    [
        (1, False, 2, (1, 2)),
        (2, False, 2, (2, 2)),
        (1, False, 1, (1, 1)),
        (2, False, 3, (2, 3)),
        (3, True, 2, (3, 3)),  # booster after a 2-dose course: 3/3
        (2, True, 1, (2, 1)),  # booster after a 1-dose course (Ad5): 2/1
        (4, True, 3, (4, 4)),  # booster after ZF2001's 3 doses
    ],
)
def test_dose_numbers_follow_the_eu_encoding(number, booster, primary, expected):
    assert domain.dose_numbers(number=number, is_booster=booster, primary_doses=primary) == expected


def _payload(**kw):
    vaccination = domain.Vaccination(
        mp="BBIBP-CorV", ma="ORG-100020693", vp="1157024006", dn=2, sd=2, date=dt.date(2021, 6, 1)
    )
    args = {
        "name": domain.transliterate_name("张三丰"),
        "birth_date": dt.date(1980, 5, 1),
        "vaccination": vaccination,
        "issuer": "清溪县疾病预防控制中心 / Qingxi County CDC",
        "uvci": domain.uvci_make(issuer="QXCDC", unique="ABCDEFGHJKLMNPQR"),
    } | kw
    return domain.payload_build(**args)


def test_the_payload_validates_against_the_combined_schema_and_value_sets():
    p = _payload()
    assert domain.schema_check(p) == []
    assert p["ver"] == "1.3.0" and p["dob"] == "1980-05-01"
    assert p["nam"] == {"fn": "张", "fnt": "ZHANG", "gn": "三丰", "gnt": "SANFENG"}
    assert p["v"][0] | {"ci": "x"} == {
        "tg": "840539006",
        "vp": "1157024006",
        "mp": "BBIBP-CorV",
        "ma": "ORG-100020693",
        "dn": 2,
        "sd": 2,
        "dt": "2021-06-01",
        "co": "CN",
        "is": "清溪县疾病预防控制中心 / Qingxi County CDC",
        "ci": "x",
    }


def test_schema_check_names_what_is_wrong():
    p = _payload()
    p["nam"]["fnt"] = "zhang"
    p["v"][0]["dt"] = "2021-13-45"
    reasons = domain.schema_check(p)
    assert any("nam/fnt" in r for r in reasons) and any("v/0/dt" in r for r in reasons)
    p = _payload()
    p["v"][0]["mp"] = "Sputnik-XYZ"
    assert domain.schema_check(p) == [
        "v/0/mp 的代码“Sputnik-XYZ”不在值集 vaccine-medicinal-product 中 / "
        "code 'Sputnik-XYZ' of v/0/mp is not in value set vaccine-medicinal-product"
    ]
    del p["v"]
    assert domain.schema_check(p)  # none of v, t, r


def test_unknown_birth_date_is_an_empty_dob():
    assert domain.schema_check(_payload(birth_date=None)) == []


def test_product_codes_come_from_the_value_sets_with_a_documented_fallback():
    assert domain.dcc_codes(
        product_code="CoronaVac", mp="CoronaVac", ma="Sinovac-Biotech", vp="1157024006"
    ) == ("CoronaVac", "Sinovac-Biotech", "1157024006")
    # ZF2001 has no entry of its own: the closest Chinese recombinant protein (CHO cell) vaccine
    assert domain.dcc_codes(product_code="ZF2001", mp=None, ma=None, vp="1162643001") == (
        "NVSI-06-08",
        "NVSI",
        "1162643001",
    )
    with pytest.raises(ValueError, match="不在值集中"):
        domain.dcc_codes(product_code="X", mp="X", ma="NVSI", vp="1162643001")
    with pytest.raises(ValueError, match="未登记 DCC"):
        domain.dcc_codes(product_code="X", mp=None, ma=None, vp="1162643001")


def test_every_demo_product_has_codes_from_the_value_sets():
    from vaxops.catalog.defaults import PRODUCTS

    for p in PRODUCTS:
        mp, ma, vp = domain.dcc_codes(product_code=p.code, mp=p.dcc_mp, ma=p.dcc_ma, vp=p.dcc_vp)
        assert mp in domain.value_set("vaccine-medicinal-product") and ma in domain.value_set(
            "vaccine-mah-manf"
        )
