"""``core.pages``: the one status rule and rendering of a refusal on a page, and ``core.forms``' id fields."""

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import QueryDict
from django.test import RequestFactory

from vaxops.core.bounds import BIGINT_MAX
from vaxops.core.errors import NotFound, PermissionDenied, RateLimited, ValidationFailed, VaxOpsError
from vaxops.core.forms import IdField, IdListField, form_values
from vaxops.core.pages import error_page, error_status, form_error, message_error


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (NotFound("居民不存在"), 404),
        (PermissionDenied("无权"), 403),
        (ValidationFailed("请填写"), 400),
        (RateLimited("太频繁", retry_after=30), 429),
        (VaxOpsError("凭证不存在", code="not_found"), 404),
        (VaxOpsError("无权", code="forbidden"), 403),
        (VaxOpsError("其他"), 400),
        ("视图自己的提示", 400),
    ],
)
def test_error_status_follows_the_kind_of_refusal(exc, status):
    assert error_status(exc) == status


@pytest.fixture
def request_():
    request = RequestFactory().get("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


@pytest.mark.django_db
def test_error_page_shows_the_message_with_its_status(request_):
    response = error_page(request_, NotFound("调拨单不存在或不在您的管辖范围内"))
    assert response.status_code == 404
    assert "调拨单不存在或不在您的管辖范围内" in response.content.decode()


@pytest.mark.django_db
def test_error_page_status_can_be_given_and_a_plain_message_shown(request_):
    response = error_page(request_, "此页面供单位联络员使用", status=403)
    assert response.status_code == 403
    assert "此页面供单位联络员使用" in response.content.decode()


def test_message_error_puts_the_message_on_the_next_page(request_):
    message_error(request_, ValidationFailed("请选择场次"))
    message_error(request_, "请填写预留名额")
    assert [str(m) for m in get_messages(request_)] == ["请选择场次", "请填写预留名额"]


class _Form(forms.Form):
    note = forms.CharField(required=False)


def test_form_error_goes_on_the_named_field_or_the_form():
    form = _Form({"note": ""})
    form.is_valid()
    form_error(form, ValidationFailed("备注太长", field="note"))
    form_error(form, ValidationFailed("库存不足", field="doses"))
    assert form.errors["note"] == ["备注太长"]
    assert form.non_field_errors() == ["库存不足"]


class _Pick(forms.Form):
    slot = IdField()
    resident = IdListField(limit=3)


@pytest.mark.parametrize(
    ("slot", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("", None),
        ("abc", None),
        ("0", None),
        ("-3", None),
        (str(BIGINT_MAX + 1), None),
    ],
)
def test_an_id_that_is_missing_or_out_of_bounds_is_none(slot, expected):
    assert form_values(_Pick(QueryDict(f"slot={slot}")))["slot"] == expected


def test_ticked_ids_keep_the_whole_numbers_up_to_the_limit():
    data = QueryDict("resident=1&resident=x&resident=2&resident=-1&resident=3&resident=4")
    assert form_values(_Pick(data))["resident"] == [1, 2, 3]
    assert form_values(_Pick(QueryDict("")))["resident"] == []
