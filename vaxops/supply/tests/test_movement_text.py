"""A ledger row's text."""

from vaxops.supply.models import MOVEMENT_KIND_CHOICES, StockMovement


def test_a_ledger_row_is_named_as_its_kind_is_displayed():
    for kind, _ in MOVEMENT_KIND_CHOICES:
        row = StockMovement(kind=kind, doses=-1)
        assert str(row) == f"{row.get_kind_display()} -1"
    assert str(StockMovement(kind="nonsense", doses=2)) == "nonsense +2"
