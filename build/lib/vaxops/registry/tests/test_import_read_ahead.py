"""The large-file path: rows are read and checked in a forked process beside the writer."""

import io
from datetime import date

import pytest

from vaxops.conftest import make_id
from vaxops.registry import services
from vaxops.registry.errors import RegistryErrorCode
from vaxops.registry.models import Resident
from vaxops.registry.tables import open_table
from vaxops.testing.refusals import refused


@pytest.fixture
def forked(monkeypatch):
    monkeypatch.setattr(services, "PROCESS_READ_AHEAD_BYTES", 0)


def _csv(n: int, village: str, bad_every: int = 0) -> bytes:
    lines = ["姓名,证件号码,村(社区)代码"]
    for i in range(n):
        number = make_id(date(1950 + i % 50, 1 + i % 12, 1 + i % 28), seq=i // 600 + 1 + (i % 7) * 60)
        if bad_every and i % bad_every == 0:
            number = number[:-1] + ("0" if number[-1] != "0" else "1")  # wrong check character
        lines.append(f"居民{i},{number},{village}")
    return ("\n".join(lines) + "\n").encode()


class TestForkedReadAhead:
    def test_it_imports_every_row_and_counts_add_up(self, forked, village_a1, cdc):
        data = _csv(3000, village_a1.code, bad_every=100)
        progress = []
        result = services.residents_import(
            table=open_table(io.BytesIO(data), size=len(data)),
            actor=cdc,
            on_batch=lambda r: progress.append(r.read),
        )
        assert result.read == 3000
        assert result.rejected == 30
        assert result.created + result.updated + result.unchanged == 2970
        assert Resident.objects.count() == result.created
        assert {e.row for e in result.errors} == {2 + i for i in range(0, 3000, 100)}
        assert progress and progress[-1] == 3000

    def test_it_raises_the_childs_error_in_the_parent(self, forked, village_a1, cdc):
        good = _csv(3000, village_a1.code)  # past the 64 KB encoding sample and the first read
        data = good + "坏行,".encode() + b"\xff\xfe\xfa\n"
        with refused(RegistryErrorCode.FILE_ENCODING_INVALID):
            services.residents_import(table=open_table(io.BytesIO(data), size=len(data)), actor=cdc)
