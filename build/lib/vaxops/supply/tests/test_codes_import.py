import io
import json

import pytest
from django.core.management import CommandError, call_command

from vaxops.audit.models import AuditEvent
from vaxops.core.actors import SystemActor
from vaxops.registry.errors import RegistryErrorCode
from vaxops.supply import services
from vaxops.supply.models import Lot, StockBalance, StockMovement, TraceCode
from vaxops.supply.tables import codes_table_open
from vaxops.testing.refusals import refused

from .factories import code, county_store, csv_table

HEADER = "追溯码,批号,疫苗品种,有效期至\n"


@pytest.fixture
def store(county):
    return county_store(county)


def _import(text, store):
    return services.codes_import(
        table=csv_table(text), actor=SystemActor("cli:test"), place=store, filename="receipt.csv"
    )


def test_it_imports_good_rows_and_names_each_bad_one(store):
    text = (
        HEADER
        + "\n".join(
            [
                f"{code(1)},L1,BBIBP-CorV,2099-12-31",
                f"{code(2)},L1,BBIBP-CorV,2099-12-31",
                f"{code(3, prefix='8100301')},L1,BBIBP-CorV,2099-12-31",  # CoronaVac prefix on a BBIBP lot
                f"{code(4)[:-1]},L1,BBIBP-CorV,2099-12-31",  # 19 digits
                f"{code(1)},L1,BBIBP-CorV,2099-12-31",  # again in the file
                f"{code(5, prefix='8100301')},C1,CoronaVac,2099-06-30",
            ]
        )
        + "\n"
    )

    result = _import(text, store)

    assert (result.read, result.created, result.updated, result.unchanged, result.rejected) == (6, 3, 0, 0, 3)
    errors = [(e.row, e.column, e.message) for e in result.errors]
    assert errors[0][:2] == (4, "追溯码") and "前7位8100301与批号L1的品种不符" in errors[0][2]
    assert errors[1] == (5, "追溯码", f"追溯码“{code(4)[:-1]}”为19位，应为20位数字")
    assert errors[2] == (6, "追溯码", f"追溯码{code(1)}在本文件第2行已出现")
    assert set(TraceCode.objects.values_list("code", flat=True)) == {
        code(1),
        code(2),
        code(5, prefix="8100301"),
    }
    l1 = Lot.objects.get(lot_number="L1")
    assert (l1.status, l1.quantity_doses, str(l1.expiry)) == ("released", 2, "2099-12-31")
    assert StockBalance.objects.get(place=store, lot=l1).doses == 2
    assert sorted(StockMovement.objects.values_list("lot__lot_number", "kind", "doses")) == [
        ("C1", "receipt", 1),
        ("L1", "receipt", 2),
    ]
    assert AuditEvent.objects.filter(action="supply.codes_import").count() == 2


def test_it_changes_nothing_on_reimport_and_rejects_a_code_moved_to_another_lot(store):
    text = HEADER + f"{code(1)},L1,BBIBP-CorV,2099-12-31\n{code(2)},L1,BBIBP-CorV,2099-12-31\n"
    _import(text, store)
    movements = StockMovement.objects.count()

    again = _import(text, store)
    assert (again.read, again.created, again.unchanged, again.rejected) == (2, 0, 2, 0)
    assert StockMovement.objects.count() == movements
    assert StockBalance.objects.get().doses == 2

    moved = _import(HEADER + f"{code(1)},L2,BBIBP-CorV,2099-12-31\n", store)
    assert (moved.read, moved.created, moved.rejected) == (1, 0, 1)
    assert moved.errors[0].message == f"追溯码{code(1)}已登记在批号L1下，不能再登记到批号L2"
    assert not Lot.objects.filter(lot_number="L2").exists()


def test_it_accepts_english_headers_and_the_dcc_product_code(store):
    result = _import(f"code,lot,product,expiry\n {code(7)} ,L9,bbibp-corv,2099/1/31\n", store)
    assert (result.read, result.created, result.rejected) == (1, 1, 0)
    assert TraceCode.objects.get().lot.product.code == "BBIBP-CorV"


def test_it_refuses_a_file_without_the_required_columns(store):

    with refused(RegistryErrorCode.FILE_COLUMNS_MISSING):
        _import("追溯码,批号,疫苗品种\n", store)


def test_it_runs_the_command_into_the_county_store_and_prints_json(store, tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text(
        HEADER + f"{code(1)},L1,BBIBP-CorV,2099-12-31\nabc,L1,BBIBP-CorV,2099-12-31\n", encoding="utf-8"
    )
    call_command("import-codes", str(path), "--json")
    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in ("read", "created", "updated", "unchanged", "rejected")} == {
        "read": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }
    assert out["errors"][0]["row"] == 3 and out["errors"][0]["column"] == "追溯码"
    assert TraceCode.objects.get().place == store


def test_it_says_so_when_there_is_no_county_store(db, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(HEADER, encoding="utf-8")
    with pytest.raises(CommandError, match="尚未登记县疾控中心冷库"):
        call_command("import-codes", str(path))


# ---- the large-file path and batches ------------------------------------------------------------


def _receipt(n: int, *, bad_every: int = 0, lot_number: str = "L1", first: int = 1) -> str:
    lines = []
    for i in range(n):
        text = code(first + i)
        if bad_every and i % bad_every == 0:
            text = text[:-1]  # 19 digits
        lines.append(f"{text},{lot_number},BBIBP-CorV,2099-12-31")
    return HEADER + "\n".join(lines) + "\n"


@pytest.fixture
def forked(monkeypatch):
    monkeypatch.setattr(services, "CODES_PROCESS_READ_AHEAD_BYTES", 0)


def test_a_large_file_is_read_in_a_forked_process_and_the_counts_add_up(forked, store):
    text = _receipt(3000, bad_every=100) + f"{code(2)},L1,BBIBP-CorV,2099-12-31\n"  # and a duplicate, last
    table = csv_table(text)
    progress = []
    result = services.codes_import(
        table=table,
        actor=SystemActor("cli:test"),
        place=store,
        on_batch=lambda r: progress.append((r.read, table.done())),
    )

    assert (result.read, result.created, result.updated, result.unchanged, result.rejected) == (
        3001,
        2970,
        0,
        0,
        31,
    )
    assert [e.row for e in result.errors] == [2 + i for i in range(0, 3000, 100)] + [3002]
    assert result.errors[0].message == f"追溯码“{code(1)[:-1]}”为19位，应为20位数字"
    assert result.errors[-1].message == f"追溯码{code(2)}在本文件第3行已出现"
    assert TraceCode.objects.count() == 2970  # on SQLite: 5 INSERTs of 500 rows and one of 470
    assert StockBalance.objects.get(place=store).doses == 2970
    assert progress and progress[-1][0] == 3001 and progress[-1][1] > 0


def test_an_error_in_the_forked_reader_is_raised_in_the_importer(forked, store):

    data = _receipt(3000).encode() + b"\xff\xfe\xfa,L1,BBIBP-CorV,2099-12-31\n"  # past the encoding sample
    with refused(RegistryErrorCode.FILE_ENCODING_INVALID):
        services.codes_import(
            table=codes_table_open(io.BytesIO(data), size=len(data)),
            actor=SystemActor("cli:test"),
            place=store,
        )


def test_each_batch_is_one_receipt_per_lot_and_a_run_with_known_codes_is_looked_up(store):
    result = services.codes_import(
        table=csv_table(_receipt(250)), actor=SystemActor("cli:test"), place=store, batch_size=100
    )
    assert (result.created, result.rejected) == (250, 0)
    assert list(StockMovement.objects.order_by("id").values_list("kind", "doses")) == [
        ("receipt", 100)
    ] * 2 + [("receipt", 50)]
    assert AuditEvent.objects.filter(action="supply.codes_import").count() == 3

    # Codes 241–260 of the same lot: 10 registered (unchanged), 10 new; code 100 sent again for another lot.
    text = _receipt(20, first=241) + f"{code(100)},L2,BBIBP-CorV,2099-12-31\n"
    again = _import(text, store)
    assert (again.read, again.created, again.unchanged, again.rejected) == (21, 10, 10, 1)
    assert again.errors[0].message == f"追溯码{code(100)}已登记在批号L1下，不能再登记到批号L2"
    assert TraceCode.objects.count() == 260
    assert set(TraceCode.objects.values_list("origin", "place", "package").distinct()) == {
        (store.pk, store.pk, "")
    }
    assert StockBalance.objects.get(place=store).doses == 260


def test_a_lot_registered_with_another_expiry_rejects_the_rows_that_disagree(store):
    _import(HEADER + f"{code(1)},L1,BBIBP-CorV,2099-12-31\n", store)
    result = _import(
        HEADER
        + f"{code(2)},L1,BBIBP-CorV,2099-11-30\n{code(3)},C1,CoronaVac,2099-11-30\n".replace(
            code(3), code(3, prefix="8100301")
        ),
        store,
    )
    assert (result.created, result.rejected) == (1, 1)
    assert (result.errors[0].row, result.errors[0].column) == (2, "有效期至")
    assert result.errors[0].message == "批号L1已登记的有效期为2099-12-31，与文件中的2099-11-30不符"
    assert Lot.objects.get(lot_number="C1").expiry.isoformat() == "2099-11-30"


def test_a_batch_that_meets_codes_inserted_meanwhile_is_read_again_and_applied_once(store, monkeypatch):
    _import(HEADER + f"{code(2)},L1,BBIBP-CorV,2099-12-31\n", store)
    real = services._codes_registered
    calls = []

    def stale(codes):  # the first look misses code 2, as if another import had just committed it
        calls.append(len(codes))
        return {} if len(calls) == 1 else real(codes)

    monkeypatch.setattr(services, "_codes_registered", stale)
    result = _import(_receipt(3), store)  # the unique index refuses the insert; the retry sees code 2

    assert len(calls) == 2
    assert (result.read, result.created, result.unchanged, result.rejected) == (3, 2, 1, 0)
    assert TraceCode.objects.count() == 3
    assert StockBalance.objects.get(place=store).doses == 3
    assert list(StockMovement.objects.order_by("id").values_list("doses", flat=True)) == [1, 2]
