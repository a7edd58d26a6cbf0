"""Traceability codes: parsing scanner input, product prefixes and package hierarchies (pure, no database)."""

import pytest

from vaxops.catalog.defaults import CATALOGUE
from vaxops.supply import domain
from vaxops.supply.domain import TraceCode, TraceCodeError

BBIBP = CATALOGUE.product("BBIBP-CorV")
CODE = "81001010000000010001"


class TestParseTraceCode:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (CODE, CODE),
            ("8100101 000000001 0001", CODE),  # printed in groups
            ("81001010000000010001\n", CODE),  # scanner's trailing newline
            ("\t81001010000000010001\r\n", CODE),
            ("".join(chr(ord(c) + 0xFEE0) for c in CODE), CODE),  # full-width digits from an IME
            ("8100101\u3000000000001\u30000001", CODE),  # ideographic spaces
            ("\ufeff81001010000000010001", CODE),  # BOM from a copied cell
            ("'81001010000000010001", CODE),  # Excel's text marker
            (81001010000000010001, CODE),  # an int keeps every digit
        ],
    )
    def test_it_accepts_scanner_and_file_input(self, raw, expected):
        assert domain.parse_trace_code(raw).code == expected

    def test_it_splits_prefix_serial_and_check(self):
        assert domain.parse_trace_code("81003019876543211234") == TraceCode(
            code="81003019876543211234", product_prefix="8100301", serial="987654321", check="1234"
        )

    @pytest.mark.parametrize("check", ["0000", "9999", "4821"])
    def test_it_treats_the_check_digits_as_opaque(self, check):
        assert domain.parse_trace_code("8100101000000001" + check).check == check

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ("", "追溯码为空"),
            (None, "追溯码为空"),
            ("  \n", "追溯码为空"),
            ("8100101000000001000", "追溯码“8100101000000001000”为19位，应为20位数字"),
            ("810010100000000100012", "追溯码“810010100000000100012”为21位，应为20位数字"),
            ("8100101A000000010001", "追溯码“8100101A000000010001”含非数字字符“A”，应为20位数字"),
            ("8100101-000000001-0001", "追溯码“8100101-000000001-0001”含非数字字符“-”，应为20位数字"),
            ("٨١٠٠١٠١٠٠٠٠٠٠٠٠١٠٠٠١", "追溯码“٨١٠٠١٠١٠٠٠٠٠٠٠٠١٠٠٠١”含非数字字符“٨”，应为20位数字"),
            (
                "8.1001E+19",
                "追溯码“8.1001E+19”是Excel的科学计数法，原码已丢失；请把该列设为文本格式后重新导入",
            ),
            (8.100101e19, "追溯码被Excel存成了数字，末几位已丢失；请把该列设为文本格式后重新导入"),
        ],
    )
    def test_it_rejects_what_cannot_be_a_code(self, raw, message):
        with pytest.raises(TraceCodeError) as caught:
            domain.parse_trace_code(raw)
        assert caught.value.message == message
        assert str(caught.value) == message
        assert isinstance(caught.value, ValueError)


class TestCheckPrefix:
    @pytest.mark.parametrize(
        ("code", "prefixes"),
        [
            (CODE, BBIBP.trace_prefixes),
            (CODE, ("8100999", "8100101")),
            (domain.parse_trace_code(CODE), ("8100101",)),
            ("8100101 000000001 0001\n", ("8100101",)),
        ],
    )
    def test_it_accepts_a_code_of_the_lots_product(self, code, prefixes):
        assert domain.check_prefix(code, lot_product_prefixes=prefixes) is None

    @pytest.mark.parametrize(
        ("code", "prefixes", "lot", "message"),
        [
            (
                "81002010000000010001",
                BBIBP.trace_prefixes,
                "202104001",
                "追溯码前7位8100201与批号202104001的品种不符（该品种的追溯码前缀：8100101）：81002010000000010001",
            ),
            (
                "81002010000000010001",
                ("8100101", "8100102"),
                None,
                "追溯码前7位8100201与该批号的品种不符（该品种的追溯码前缀：8100101、8100102）：81002010000000010001",
            ),
            (
                CODE,
                (),
                "X1",
                "追溯码前7位8100101与批号X1的品种不符（该品种的追溯码前缀：未登记）：81001010000000010001",
            ),
        ],
    )
    def test_it_rejects_a_code_of_another_product(self, code, prefixes, lot, message):
        with pytest.raises(TraceCodeError) as caught:
            domain.check_prefix(code, lot_product_prefixes=prefixes, lot_number=lot)
        assert caught.value.message == message

    def test_it_rejects_a_malformed_code_before_looking_at_the_prefix(self):
        with pytest.raises(TraceCodeError, match="为7位"):
            domain.check_prefix("8100101", lot_product_prefixes=("8100101",))


def unit(n: int) -> str:
    return f"8100101{n:09d}0000"


BOX = "81001019000000010000"
PACK_A = "81001018000000010000"
PACK_B = "81001018000000020000"


class TestExpandPackage:
    @pytest.mark.parametrize(
        ("code", "children", "expected"),
        [
            (unit(1), {}, (unit(1),)),  # a unit expands to itself
            (unit(1), {BOX: [unit(2)]}, (unit(1),)),
            (PACK_A, {PACK_A: [unit(1), unit(2)]}, (unit(1), unit(2))),
            (
                BOX,
                {BOX: [PACK_A, PACK_B], PACK_A: [unit(1), unit(2)], PACK_B: (unit(3), unit(4))},
                (unit(1), unit(2), unit(3), unit(4)),
            ),
            (BOX, {BOX: [PACK_B, unit(9)], PACK_B: [unit(4), unit(3)]}, (unit(4), unit(3), unit(9))),
        ],
    )
    def test_it_lists_the_units_depth_first_in_file_order(self, code, children, expected):
        assert domain.expand_package(code, children) == expected

    @pytest.mark.parametrize(
        ("code", "children", "message"),
        [
            ("A", {"A": ["A"]}, "包装层级存在循环：A → A"),
            ("A", {"A": ["B"], "B": ["A"]}, "包装层级存在循环：A → B → A"),
            ("A", {"A": ["B", "u1"], "B": ["C"], "C": ["B"]}, "包装层级存在循环：B → C → B"),
            ("A", {"A": ["B", "C"], "B": ["u1"], "C": ["u1"]}, "追溯码u1在包装A的层级中出现了不止一次"),
            ("A", {"A": ["u1", "u1"]}, "追溯码u1在包装A的层级中出现了不止一次"),
            ("A", {"A": ["B"], "B": []}, "包装码B没有下级码"),
        ],
    )
    def test_it_rejects_cycles_duplicates_and_empty_packages(self, code, children, message):
        with pytest.raises(TraceCodeError) as caught:
            domain.expand_package(code, children)
        assert caught.value.message == message

    def test_a_deep_hierarchy_does_not_hit_the_recursion_limit(self):
        children = {f"p{i}": [f"p{i + 1}"] for i in range(5000)}
        assert domain.expand_package("p0", children) == ("p5000",)

    def test_a_full_shipment_expands_to_every_unit_once(self):
        # 2 boxes × 10 packs × 20 units, as a receipt file would give them.
        children: dict[str, list[str]] = {}
        n = 0
        for b in range(2):
            box = f"box{b}"
            children[box] = []
            for p in range(10):
                pack = f"pack{b}-{p}"
                children[box].append(pack)
                children[pack] = [unit(n + i) for i in range(20)]
                n += 20
        units = [u for b in range(2) for u in domain.expand_package(f"box{b}", children)]
        assert len(units) == 400
        assert units == [unit(i) for i in range(400)]
