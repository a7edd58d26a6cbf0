"""Identity documents, sexes, dates, phones, masks and masked search (pure rules, no database)."""

import random
from datetime import date, datetime

import pytest

from vaxops.registry import domain
from vaxops.registry.domain import Document, DocumentError, IdType

TODAY = date(2021, 6, 1)


def independent_check(first17: str) -> str:
    """ISO 7064 MOD 11-2 worked out from its definition, not from the module's weight table.

    Digit i (0-based, of 17) carries weight 2^(17-i) mod 11; the check value c makes (sum + c) ≡ 1 (mod 11);
    10 is written X.
    """
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    c = (12 - total % 11) % 11
    return "X" if c == 10 else str(c)


def make_id(area: str, birth: str, seq: str) -> str:
    first17 = area + birth + seq
    return first17 + independent_check(first17)


def wrong_check(number: str) -> str:
    """The same number with a check character that is not the right one."""
    right = number[-1]
    return number[:-1] + ("0" if right != "0" else "1")


# ---------------------------------------------------------------------------------------------------------
# Check characters
# ---------------------------------------------------------------------------------------------------------


class TestCheckCharacter:
    @pytest.mark.parametrize(
        ("first17", "expected"),
        [
            ("11010519491231002", "X"),  # GB 11643-1999's own example, 11010519491231002X
            ("44052418800101001", "4"),  # GB 11643-1999's other example, 440524188001010014
            ("11010519800101001", independent_check("11010519800101001")),
        ],
    )
    def test_it_matches_the_published_examples(self, first17, expected):
        assert domain.check_character(first17) == expected

    def test_it_agrees_with_the_definition_on_many_numbers(self):
        rng = random.Random(20210601)
        for _ in range(2000):
            first17 = "".join(rng.choice("0123456789") for _ in range(17))
            assert domain.check_character(first17) == independent_check(first17), first17

    def test_every_check_value_occurs(self):
        rng = random.Random(1)
        seen = {
            domain.check_character("".join(rng.choice("0123456789") for _ in range(17))) for _ in range(500)
        }
        assert seen == set("0123456789X")

    @pytest.mark.parametrize("bad", ["1101051949123100", "110105194912310021", "1101051949123100A", ""])
    def test_it_needs_17_digits(self, bad):
        with pytest.raises(DocumentError):
            domain.check_character(bad)


class TestConvert15To18:
    @pytest.mark.parametrize(
        ("number15", "expected"),
        [
            ("110105491231002", "11010519491231002X"),
            ("440524800101001", make_id("440524", "19800101", "001")),
            ("320102650715123", make_id("320102", "19650715", "123")),
        ],
    )
    def test_it_inserts_19_and_appends_the_check(self, number15, expected):
        assert domain.convert_15_to_18(number15) == expected

    @pytest.mark.parametrize("bad", ["11010549123100", "1101054912310021", "11010549123100X"])
    def test_it_refuses_what_is_not_15_digits(self, bad):
        with pytest.raises(DocumentError, match="15位"):
            domain.convert_15_to_18(bad)


# ---------------------------------------------------------------------------------------------------------
# Resident identity cards
# ---------------------------------------------------------------------------------------------------------

MALE_ID = make_id("320102", "19800101", "123")  # sequence 123: odd, male
FEMALE_ID = "11010519491231002X"  # sequence 002: even, female


class TestResidentIdValid:
    @pytest.mark.parametrize(
        ("raw", "number", "birth", "sex"),
        [
            ("11010519491231002X", "11010519491231002X", date(1949, 12, 31), "F"),
            ("11010519491231002x", "11010519491231002X", date(1949, 12, 31), "F"),
            ("  110105 19491231 002X\t", "11010519491231002X", date(1949, 12, 31), "F"),
            ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X", date(1949, 12, 31), "F"),
            ("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X", date(1949, 12, 31), "F"),
            ("１１０１０５　１９４９１２３１　００２Ｘ", "11010519491231002X", date(1949, 12, 31), "F"),
            ("\ufeff11010519491231002X\u200b", "11010519491231002X", date(1949, 12, 31), "F"),
            ("'11010519491231002X", "11010519491231002X", date(1949, 12, 31), "F"),
            (MALE_ID, MALE_ID, date(1980, 1, 1), "M"),
            ("110105491231002", "11010519491231002X", date(1949, 12, 31), "F"),
            ("320102800101123", MALE_ID, date(1980, 1, 1), "M"),
            (
                make_id("460100", "20000229", "015"),
                make_id("460100", "20000229", "015"),
                date(2000, 2, 29),
                "M",
            ),
            (
                make_id("710000", "19700101", "002"),
                make_id("710000", "19700101", "002"),
                date(1970, 1, 1),
                "F",
            ),
            (
                make_id("650102", "18900101", "001"),
                make_id("650102", "18900101", "001"),
                date(1890, 1, 1),
                "M",
            ),
            (make_id("500101", "20210601", "002"), make_id("500101", "20210601", "002"), TODAY, "F"),
        ],
    )
    def test_it_normalises_and_derives(self, raw, number, birth, sex):
        doc = domain.parse_document(IdType.RESIDENT_ID, raw, today=TODAY)
        assert doc == Document(IdType.RESIDENT_ID, number, birth, sex)

    def test_it_accepts_the_type_as_text(self):
        assert domain.parse_document("resident_id", FEMALE_ID, today=TODAY).number == FEMALE_ID
        assert domain.parse_document("身份证", FEMALE_ID, today=TODAY).sex == "F"

    def test_document_knows_its_mask_and_label(self):
        doc = domain.parse_document(IdType.RESIDENT_ID, FEMALE_ID, today=TODAY)
        assert doc.masked == "110105********002X"
        assert doc.label == "居民身份证"

    def test_document_is_frozen(self):
        doc = domain.parse_document(IdType.RESIDENT_ID, FEMALE_ID, today=TODAY)
        with pytest.raises(AttributeError):
            doc.number = "x"  # type: ignore[misc]


class TestResidentIdInvalid:
    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ("110105194912310021", "身份证号码校验位错误：应为X，实际为1"),
            ("11010519491231002Y", "身份证号码前17位应为数字，最后一位为数字或X"),
            (wrong_check(MALE_ID), f"身份证号码校验位错误：应为{MALE_ID[-1]}"),
            ("1101051949123100", "身份证号码长度应为18位或15位（实际为16位）"),
            ("1101051949123100211", "身份证号码长度应为18位或15位（实际为19位）"),
            ("11010519491231", "身份证号码长度应为18位或15位（实际为14位）"),
            ("1101O519491231002X", "身份证号码前17位应为数字"),
            ("11010549123100Y", "15位身份证号码应全部为数字"),
            (make_id("990102", "19800101", "123"), "身份证号码前两位省份代码无效：99"),
            (make_id("000000", "19800101", "123"), "身份证号码前两位省份代码无效：00"),
            (make_id("200102", "19800101", "123"), "身份证号码前两位省份代码无效：20"),
            (make_id("810102", "19800101", "123"), "身份证号码前两位省份代码无效：81"),
            ("990102800101123", "身份证号码前两位省份代码无效：99"),
            (make_id("110105", "19491331", "002"), "出生日期无效：19491331"),
            (make_id("110105", "19490229", "002"), "出生日期无效：19490229"),
            (make_id("110105", "19490001", "002"), "出生日期无效：19490001"),
            ("110105491331002", "出生日期无效：19491331"),
            (make_id("110105", "20210602", "002"), "出生日期晚于今天：2021-06-02"),
            (make_id("110105", "20300101", "002"), "出生日期晚于今天：2030-01-01"),
            ("440524188001010014", "出生日期早于1890年：1880-01-01"),
            (make_id("110105", "18891231", "002"), "出生日期早于1890年：1889-12-31"),
            ("", "证件号码为空"),
            ("   ", "证件号码为空"),
            ("1.10105194912310E+17", "科学计数法"),
            ("1.1010519491231e+17", "科学计数法"),
        ],
    )
    def test_it_names_the_reason(self, raw, message):
        with pytest.raises(DocumentError) as caught:
            domain.parse_document(IdType.RESIDENT_ID, raw, today=TODAY)
        assert message in caught.value.message
        assert caught.value.message == str(caught.value)
        # The import blames the 证件类型 column only for type errors; number errors must not say it.
        assert "证件类型" not in caught.value.message

    def test_a_residence_permit_number_entered_as_an_id_card_points_at_the_type(self):
        number = make_id("810000", "19800101", "123")
        with pytest.raises(DocumentError) as caught:
            domain.parse_document(IdType.RESIDENT_ID, number, today=TODAY)
        assert caught.value.message == "该号码是港澳台居民居住证号码，请将证件类型改为“港澳台居民居住证”"

    def test_a_number_excel_turned_into_a_float_is_refused(self):
        with pytest.raises(DocumentError, match="文本格式"):
            domain.parse_document(IdType.RESIDENT_ID, 1.101051949123100e17, today=TODAY)  # type: ignore[arg-type]

    def test_document_error_is_a_value_error(self):
        with pytest.raises(ValueError, match="校验位"):
            domain.parse_document(IdType.RESIDENT_ID, "110105194912310021", today=TODAY)


# ---------------------------------------------------------------------------------------------------------
# Other documents
# ---------------------------------------------------------------------------------------------------------

HK_RESIDENCE = make_id("810000", "19851120", "135")
MO_RESIDENCE = make_id("820000", "19900315", "024")
TW_RESIDENCE = make_id("830000", "19720707", "011")
FOREIGN_NEW = make_id("911840", "19850615", "001")  # 9 + Beijing (11) + nationality 840 + birth + sequence


class TestOtherDocumentsValid:
    @pytest.mark.parametrize(
        ("id_type", "raw", "number", "birth", "sex"),
        [
            (IdType.HMT_RESIDENCE, HK_RESIDENCE, HK_RESIDENCE, date(1985, 11, 20), "M"),
            (IdType.HMT_RESIDENCE, MO_RESIDENCE, MO_RESIDENCE, date(1990, 3, 15), "F"),
            (IdType.HMT_RESIDENCE, TW_RESIDENCE.lower(), TW_RESIDENCE, date(1972, 7, 7), "M"),
            (IdType.FOREIGN_PERMANENT, FOREIGN_NEW, FOREIGN_NEW, date(1985, 6, 15), "M"),
            (IdType.FOREIGN_PERMANENT, "USA110085061501", "USA110085061501", None, None),
            (IdType.FOREIGN_PERMANENT, "usa 1100 8506 1501", "USA110085061501", None, None),
            (IdType.HK_MO_PERMIT, "H12345678", "H12345678", None, None),
            (IdType.HK_MO_PERMIT, "m1234567801", "M1234567801", None, None),
            (IdType.HK_MO_PERMIT, "Ｈ１２３４５６７８", "H12345678", None, None),
            (IdType.TW_PERMIT, "12345678", "12345678", None, None),
            (IdType.TW_PERMIT, "1234567890", "1234567890", None, None),
            (IdType.PASSPORT, "e12345678", "E12345678", None, None),
            (IdType.PASSPORT, "G 1234 5678", "G12345678", None, None),
            (IdType.PASSPORT, "AB123", "AB123", None, None),
            (IdType.PASSPORT, "X" * 17, "X" * 17, None, None),
        ],
    )
    def test_it_normalises_and_derives_where_it_can(self, id_type, raw, number, birth, sex):
        assert domain.parse_document(id_type, raw, today=TODAY) == Document(id_type, number, birth, sex)


class TestOtherDocumentsInvalid:
    @pytest.mark.parametrize(
        ("id_type", "raw", "message"),
        [
            (
                IdType.HMT_RESIDENCE,
                make_id("110105", "19851120", "135"),
                "港澳台居民居住证号码应以810000（香港）、820000（澳门）或830000（台湾）开头",
            ),
            (IdType.HMT_RESIDENCE, make_id("810001", "19851120", "135"), "应以810000"),
            (
                IdType.HMT_RESIDENCE,
                wrong_check(HK_RESIDENCE),
                f"居住证号码校验位错误：应为{HK_RESIDENCE[-1]}",
            ),
            (IdType.HMT_RESIDENCE, make_id("810000", "19851320", "135"), "出生日期无效：19851320"),
            (IdType.HMT_RESIDENCE, make_id("810000", "20250101", "135"), "出生日期晚于今天"),
            (IdType.HMT_RESIDENCE, "81000019851120135", "港澳台居民居住证号码应为18位"),
            (
                IdType.FOREIGN_PERMANENT,
                wrong_check(FOREIGN_NEW),
                f"永久居留身份证号码校验位错误：应为{FOREIGN_NEW[-1]}",
            ),
            (IdType.FOREIGN_PERMANENT, make_id("999840", "19850615", "001"), "受理地代码无效：99"),
            (IdType.FOREIGN_PERMANENT, make_id("911840", "19850632", "001"), "出生日期无效：19850632"),
            (IdType.FOREIGN_PERMANENT, "US1100850615011", "永久居留身份证号码格式错误"),
            (IdType.FOREIGN_PERMANENT, "USA11008506150", "永久居留身份证号码格式错误"),
            (IdType.FOREIGN_PERMANENT, make_id("811840", "19850615", "001"), "永久居留身份证号码格式错误"),
            (IdType.HK_MO_PERMIT, "H1234567", "港澳居民来往内地通行证号码格式错误"),
            (IdType.HK_MO_PERMIT, "H123456789", "港澳居民来往内地通行证号码格式错误"),
            (IdType.HK_MO_PERMIT, "A12345678", "港澳居民来往内地通行证号码格式错误"),
            (IdType.HK_MO_PERMIT, "12345678", "港澳居民来往内地通行证号码格式错误"),
            (IdType.TW_PERMIT, "1234567", "台湾居民来往大陆通行证号码格式错误"),
            (IdType.TW_PERMIT, "123456789", "台湾居民来往大陆通行证号码格式错误"),
            (IdType.TW_PERMIT, "T1234567", "台湾居民来往大陆通行证号码格式错误"),
            (IdType.PASSPORT, "E123", "护照号码格式错误：应为5–17位字母或数字"),
            (IdType.PASSPORT, "E1234-5678", "护照号码格式错误"),
            (IdType.PASSPORT, "X" * 18, "护照号码格式错误"),
            (IdType.PASSPORT, "护照E1234567", "护照号码格式错误"),
        ],
    )
    def test_it_names_the_reason(self, id_type, raw, message):
        with pytest.raises(DocumentError) as caught:
            domain.parse_document(id_type, raw, today=TODAY)
        assert message in caught.value.message
        assert "证件类型" not in caught.value.message


# ---------------------------------------------------------------------------------------------------------
# Document types
# ---------------------------------------------------------------------------------------------------------


class TestParseIdType:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (None, IdType.RESIDENT_ID),
            ("", IdType.RESIDENT_ID),
            ("   ", IdType.RESIDENT_ID),
            ("居民身份证", IdType.RESIDENT_ID),
            ("身份证", IdType.RESIDENT_ID),
            (" 身份证 ", IdType.RESIDENT_ID),
            ("resident_id", IdType.RESIDENT_ID),
            ("RESIDENT_ID", IdType.RESIDENT_ID),
            ("Resident identity card", IdType.RESIDENT_ID),
            ("港澳居民来往内地通行证", IdType.HK_MO_PERMIT),
            ("港澳通行证", IdType.HK_MO_PERMIT),
            ("回乡证", IdType.HK_MO_PERMIT),
            ("hk_mo_permit", IdType.HK_MO_PERMIT),
            ("台湾居民来往大陆通行证", IdType.TW_PERMIT),
            ("台胞证", IdType.TW_PERMIT),
            ("Tw_Permit", IdType.TW_PERMIT),
            ("港澳台居民居住证", IdType.HMT_RESIDENCE),
            ("居住证", IdType.HMT_RESIDENCE),
            ("HMT_RESIDENCE", IdType.HMT_RESIDENCE),
            ("外国人永久居留身份证", IdType.FOREIGN_PERMANENT),
            ("外国人永久居留证", IdType.FOREIGN_PERMANENT),
            ("永居证", IdType.FOREIGN_PERMANENT),
            ("foreign_permanent", IdType.FOREIGN_PERMANENT),
            ("护照", IdType.PASSPORT),
            ("PASSPORT", IdType.PASSPORT),
            ("passport", IdType.PASSPORT),
            (IdType.PASSPORT, IdType.PASSPORT),
        ],
    )
    def test_it_accepts_labels_short_forms_and_codes(self, text, expected):
        assert domain.parse_id_type(text) is expected

    @pytest.mark.parametrize("text", ["驾驶证", "军官证", "id", "resident"])
    def test_it_lists_the_accepted_types(self, text):
        with pytest.raises(DocumentError) as caught:
            domain.parse_id_type(text)
        assert caught.value.message == (
            f"证件类型“{text}”无法识别，应为：居民身份证、港澳居民来往内地通行证、台湾居民来往大陆通行证、"
            "港澳台居民居住证、外国人永久居留身份证、护照"
        )

    def test_labels_cover_every_type(self):
        assert set(domain.ID_TYPE_LABELS) == set(IdType)
        assert set(domain.ID_TYPE_LABELS_EN) == set(IdType)
        assert domain.ID_TYPE_LABELS[IdType.HK_MO_PERMIT] == "港澳居民来往内地通行证"
        assert domain.ID_TYPE_CHOICES[0] == ("resident_id", "居民身份证")
        assert [v for v, _ in domain.ID_TYPE_CHOICES] == [
            "resident_id",
            "hk_mo_permit",
            "tw_permit",
            "hmt_residence",
            "foreign_permanent",
            "passport",
        ]


# ---------------------------------------------------------------------------------------------------------
# Declared birth date and sex against the document
# ---------------------------------------------------------------------------------------------------------


class TestCheckDeclared:
    female = Document(IdType.RESIDENT_ID, FEMALE_ID, date(1949, 12, 31), "F")
    passport = Document(IdType.PASSPORT, "E12345678", None, None)

    @pytest.mark.parametrize(
        ("doc_name", "birth", "sex", "expected"),
        [
            ("female", date(1949, 12, 31), "F", []),
            ("female", None, None, []),
            ("female", datetime(1949, 12, 31, 0, 0), "女", []),
            (
                "female",
                date(1950, 1, 1),
                "F",
                ["填写的出生日期1950-01-01与证件号码中的出生日期1949-12-31不一致"],
            ),
            ("female", None, "M", ["填写的性别“男”与证件号码显示的性别“女”不一致"]),
            (
                "female",
                date(1949, 1, 31),
                "男",
                [
                    "填写的出生日期1949-01-31与证件号码中的出生日期1949-12-31不一致",
                    "填写的性别“男”与证件号码显示的性别“女”不一致",
                ],
            ),
            ("passport", date(1990, 1, 1), "M", []),
        ],
    )
    def test_it_reports_each_contradiction(self, doc_name, birth, sex, expected):
        assert domain.check_declared(getattr(self, doc_name), birth_date=birth, sex=sex) == expected

    def test_birth_messages_say_birth_and_sex_messages_do_not(self):
        # The import files each message under 出生日期 when it contains “出生”, else under 性别.
        birth_msg, sex_msg = domain.check_declared(self.female, birth_date=date(1950, 1, 1), sex="M")
        assert "出生" in birth_msg
        assert "出生" not in sex_msg


# ---------------------------------------------------------------------------------------------------------
# Sex, dates, phones
# ---------------------------------------------------------------------------------------------------------


class TestParseSex:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("男", "M"),
            ("女", "F"),
            ("男性", "M"),
            ("女性", "F"),
            ("M", "M"),
            ("f", "F"),
            ("Male", "M"),
            ("FEMALE", "F"),
            ("1", "M"),
            ("2", "F"),
            (1, "M"),
            (2, "F"),
            (" 男 ", "M"),
            ("Ｍ", "M"),
            (None, None),
            ("", None),
            ("  ", None),
        ],
    )
    def test_it_understands(self, text, expected):
        assert domain.parse_sex(text) == expected

    @pytest.mark.parametrize("text", ["未知", "X", "0", "3", "man"])
    def test_it_refuses(self, text):
        with pytest.raises(DocumentError) as caught:
            domain.parse_sex(text)
        assert caught.value.message == f"性别“{text}”无法识别，应为“男”或“女”"


class TestParseDate:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (date(2021, 1, 1), date(2021, 1, 1)),
            (datetime(2021, 1, 1, 15, 30), date(2021, 1, 1)),
            ("2021-01-01", date(2021, 1, 1)),
            ("2021-1-1", date(2021, 1, 1)),
            ("2021/1/1", date(2021, 1, 1)),
            ("2021/01/31", date(2021, 1, 31)),
            ("2021.1.1", date(2021, 1, 1)),
            ("20210101", date(2021, 1, 1)),
            (20210101, date(2021, 1, 1)),
            (20210101.0, date(2021, 1, 1)),
            ("2021年1月1日", date(2021, 1, 1)),
            ("2021年12月31日", date(2021, 12, 31)),
            ("2021年1月1", date(2021, 1, 1)),
            ("2021-01-01 00:00:00", date(2021, 1, 1)),
            ("2021-1-1 10:00", date(2021, 1, 1)),
            ("2021-01-01T08:30:00", date(2021, 1, 1)),
            ("  2021-01-01  ", date(2021, 1, 1)),
            ("２０２１－０１－０１", date(2021, 1, 1)),
            ("２０２１年１月１日", date(2021, 1, 1)),
            ("2000-02-29", date(2000, 2, 29)),
            (None, None),
            ("", None),
            ("   ", None),
        ],
    )
    def test_it_reads_the_usual_ways(self, value, expected):
        assert domain.parse_date(value) == expected

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("2021-02-30", "日期格式无法识别：2021-02-30（该日期不存在）"),
            ("2021-13-01", "日期格式无法识别：2021-13-01（该日期不存在）"),
            ("1900-02-29", "日期格式无法识别：1900-02-29（该日期不存在）"),
            ("20211301", "日期格式无法识别：20211301（该日期不存在）"),
            ("2021-01/01", "日期格式无法识别：2021-01/01（应为如2021-01-01）"),
            ("01/02/2021", "日期格式无法识别：01/02/2021（应为如2021-01-01）"),
            ("明天", "日期格式无法识别：明天（应为如2021-01-01）"),
            ("2021", "日期格式无法识别：2021（应为如2021-01-01）"),
            (44197, "日期格式无法识别：44197（应为如2021-01-01）"),
        ],
    )
    def test_it_refuses_what_it_cannot_read(self, value, message):
        with pytest.raises(DocumentError) as caught:
            domain.parse_date(value)
        assert caught.value.message == message


class TestNormalisePhone:
    @pytest.mark.parametrize(
        "raw",
        [
            "13812345678",
            " 13812345678 ",
            "138 1234 5678",
            "138-1234-5678",
            "(138)1234-5678",
            "（138）12345678",
            "+86 138 1234 5678",
            "+86-138-1234-5678",
            "+8613812345678",
            "8613812345678",
            "008613812345678",
            "0086 138 1234 5678",
            "１３８１２３４５６７８",
            13812345678,
            13812345678.0,
        ],
    )
    def test_it_normalises(self, raw):
        assert domain.normalise_phone(raw) == "13812345678"

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("19912345678", "19912345678"),
            ("16612345678", "16612345678"),
            (None, None),
            ("", None),
            ("  ", None),
        ],
    )
    def test_other_prefixes_and_blanks(self, raw, expected):
        assert domain.normalise_phone(raw) == expected

    @pytest.mark.parametrize(
        "raw",
        [
            "12812345678",
            "10012345678",
            "1381234567",
            "138123456789",
            "010-12345678",
            "+8612812345678",
            "+85291234567",
            "86138123456",
            "abc",
            "138l2345678",
        ],
    )
    def test_it_refuses(self, raw):
        with pytest.raises(DocumentError) as caught:
            domain.normalise_phone(raw)
        assert caught.value.message == f"手机号码格式错误：{raw}（应为11位手机号码）"


# ---------------------------------------------------------------------------------------------------------
# Masks, ages, masked search
# ---------------------------------------------------------------------------------------------------------


class TestMasks:
    @pytest.mark.parametrize(
        ("number", "masked"),
        [
            ("11010519491231002X", "110105********002X"),
            ("110105491231002", "110105*****1002"),
            ("USA110085061501", "USA110*****1501"),
            ("H1234567890", "H1*******90"),
            ("H12345678", "H1*****78"),
            ("12345678", "12****78"),
            ("E12345678", "E1*****78"),
            ("AB123", "AB*23"),
            ("1234", "****"),
            ("", ""),
        ],
    )
    def test_mask_id(self, number, masked):
        assert domain.mask_id(number) == masked
        assert len(masked) == len(number)

    @pytest.mark.parametrize(
        ("phone", "masked"),
        [("13812345678", "138****5678"), ("19900001111", "199****1111"), ("1234567", "*******"), ("", "")],
    )
    def test_mask_phone(self, phone, masked):
        assert domain.mask_phone(phone) == masked

    @pytest.mark.parametrize(
        ("name", "masked"),
        [
            ("张三丰", "张*丰"),
            ("张三", "张*"),
            ("张", "张"),
            ("欧阳娜娜", "欧**娜"),
            ("买买提·艾力", "买****力"),
            (" 李四 ", "李*"),
            ("", ""),
        ],
    )
    def test_mask_name(self, name, masked):
        assert domain.mask_name(name) == masked


class TestAgeOn:
    @pytest.mark.parametrize(
        ("birth", "on", "age"),
        [
            (date(1961, 6, 1), date(2021, 6, 1), 60),
            (date(1961, 6, 2), date(2021, 6, 1), 59),
            (date(1961, 5, 31), date(2021, 6, 1), 60),
            (date(2021, 6, 1), date(2021, 6, 1), 0),
            (date(2000, 2, 29), date(2021, 2, 28), 20),
            (date(2000, 2, 29), date(2021, 3, 1), 21),
            (date(2000, 2, 29), date(2024, 2, 29), 24),
            (date(1949, 12, 31), date(2021, 1, 1), 71),
        ],
    )
    def test_completed_years(self, birth, on, age):
        assert domain.age_on(birth, on) == age

    def test_it_refuses_a_day_before_birth(self):
        with pytest.raises(ValueError, match="before"):
            domain.age_on(date(2021, 6, 2), date(2021, 6, 1))


class TestParseMaskedQuery:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("110105********002X", ("110105", "002X")),
            ("110105*002X", ("110105", "002X")),
            ("110105***002x", ("110105", "002X")),
            (" 110105 ******** 002X ", ("110105", "002X")),
            ("１１０１０５＊＊００２Ｘ", ("110105", "002X")),
            ("E1*****78", ("E1", "78")),
            ("USA110*****1501", ("USA110", "1501")),
            # A masked phone number has the same shape; what is searched is the caller's choice.
            ("138****5678", ("138", "5678")),
        ],
    )
    def test_it_splits_a_masked_number(self, text, expected):
        assert domain.parse_masked_query(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            None,
            "",
            "11010519491231002X",
            "110105*",
            "*002X",
            "1*2X",
            "11*2",
            "110105*00*2X",
            "张*丰",
            "110105-****-002X",
            "****",
        ],
    )
    def test_it_returns_none_for_anything_else(self, text):
        assert domain.parse_masked_query(text) is None
