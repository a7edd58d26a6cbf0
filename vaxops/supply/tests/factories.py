"""Small builders shared by the supply tests."""

import io
from datetime import date

from vaxops.catalog.models import Product
from vaxops.supply.models import Lot, PlaceKind, StockPlace
from vaxops.supply.tables import codes_table_open


def county_store(division) -> StockPlace:
    return StockPlace.objects.create(code="CDC", name="县疾控冷库", kind=PlaceKind.COUNTY_STORE, division=division)


def lot(number: str = "202105001", product: str = "BBIBP-CorV", expiry: date = date(2099, 12, 31)) -> Lot:
    return Lot.objects.create(product=Product.objects.get(code=product), lot_number=number, expiry=expiry)


def code(serial: int, prefix: str = "8100101") -> str:
    return f"{prefix}{serial:09d}0000"


def csv_table(text: str):
    return codes_table_open(io.BytesIO(text.encode("utf-8")), filename="receipt.csv")
