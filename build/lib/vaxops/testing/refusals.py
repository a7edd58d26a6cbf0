"""Expect a refusal by its stable code, not by its sentence (the message may be reworded or translated)."""

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from vaxops.core.errors import VaxOpsError

_CJK = re.compile(r"[\u4e00-\u9fff]")
_ANY = object()


@contextmanager
def refused(code: str, *, field: str | None | object = _ANY) -> Iterator[pytest.ExceptionInfo[VaxOpsError]]:
    """Like ``pytest.raises(VaxOpsError)``, then check the error's ``code`` (and ``field`` when given) and that
    it says something in Chinese. Yields the ``ExceptionInfo`` (``as e`` … ``e.value.message``)."""
    with pytest.raises(VaxOpsError) as caught:
        yield caught
    error = caught.value
    assert error.code == code, f"refused with {str(error.code)!r} ({error.message}), expected {str(code)!r}"
    assert _CJK.search(error.message), f"{error.code}: the message is not Chinese: {error.message!r}"
    if field is not _ANY:
        assert error.field == field, f"{error.code}: field {error.field!r}, expected {field!r}"
