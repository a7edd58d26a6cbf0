"""Small builders shared by the supply tests."""

import io
from datetime import date

from vaxops.catalog.models import Product
from vaxops.supply.models import Lot, PlaceKind, StockPlace
from vaxops.supply.tables import codes_table_open


def county_store(division) -> StockPlace:
    return StockPlace.objects.create(
        code="CDC", name="县疾控冷库", kind=PlaceKind.COUNTY_STORE, division=division
    )


def lot(number: str = "202105001", product: str = "BBIBP-CorV", expiry: date = date(2099, 12, 31)) -> Lot:
    return Lot.objects.create(product=Product.objects.get(code=product), lot_number=number, expiry=expiry)


def code(serial: int, prefix: str = "8100101") -> str:
    return f"{prefix}{serial:09d}0000"


def csv_table(text: str):
    return codes_table_open(io.BytesIO(text.encode("utf-8")), filename="receipt.csv")


def network(county) -> tuple[StockPlace, StockPlace, StockPlace]:
    """The county store and the stores of townships 甲镇 (001) and 乙镇 (002), each with a refrigerator."""
    from vaxops.jurisdictions.models import Division
    from vaxops.supply.models import ColdChainUnit

    store = county_store(county)
    ColdChainUnit.objects.create(place=store, kind="cold_room", usable_volume_cm3=10_000_000)
    towns = []
    for code, name in (("001", "甲镇"), ("002", "乙镇")):
        place = StockPlace.objects.create(
            code=f"T{code}",
            name=f"{name}冷库",
            kind=PlaceKind.TOWNSHIP_STORE,
            division=Division.objects.get(code=f"330199{code}000"),
            parent=store,
        )
        ColdChainUnit.objects.create(place=place, kind="refrigerator", usable_volume_cm3=100_000)
        towns.append(place)
    return store, towns[0], towns[1]


def receive(
    place,
    *,
    lot_number: str = "202105001",
    first: int = 1,
    n: int = 10,
    expiry: str = "2099-12-31",
    product: str = "BBIBP-CorV",
    prefix: str = "8100101",
    actor=None,
    package: str = "",
):
    """Import ``n`` codes of one lot into ``place`` through the receipt-file path; returns the lot."""
    from vaxops.core.actors import SystemActor
    from vaxops.supply import services
    from vaxops.supply.models import Lot as LotModel

    header = "追溯码,批号,疫苗品种,有效期至" + (",包装码" if package else "")
    lines = [header] + [
        f"{code(first + i, prefix)},{lot_number},{product},{expiry}" + (f",{package}" if package else "")
        for i in range(n)
    ]
    result = services.codes_import(
        table=csv_table("\n".join(lines)), actor=actor or SystemActor("cli:test"), place=place
    )
    assert result.rejected == 0, result.errors
    return LotModel.objects.get(lot_number=lot_number, product__code=product)
