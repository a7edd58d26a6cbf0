"""The models' own texts."""

import pytest
from django.utils import translation

from vaxops.sites.models import Desk, DeskKind, display


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_desk_is_named_as_its_kind_is_displayed(language):
    with translation.override(language):
        for kind in DeskKind.values:
            desk = Desk(kind=kind, number=3)
            assert str(desk) == f"{desk.get_kind_display()}3"
        assert display(DeskKind, "nonsense") == Desk(kind="nonsense").get_kind_display() == "nonsense"
    with translation.override("en"):
        assert str(Desk(kind="vaccination", number=1)) != str(Desk(kind="registration", number=1))
