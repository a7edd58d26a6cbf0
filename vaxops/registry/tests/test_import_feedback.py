"""What a census import tells the person who ran it (issue 17, item 11): priority groups by their Chinese
names, each row error beside the row's name and masked ID, the same ID twice in one file as a duplicate (in
any batch), and the village chosen from a list of the user's villages."""

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from vaxops.conftest import make_id
from vaxops.registry.models import ImportJob, PriorityGroup, Resident
from vaxops.registry.services import residents_import
from vaxops.registry.tables import open_table

A1 = "330199001001"
HEADER = "姓名,证件号码,手机号码,村(社区)代码,人群分类"
ID_1 = make_id(date(1980, 5, 1), 1)
ID_2 = make_id(date(1975, 3, 9), 2, sex="M")


def _run(text: str, actor, **kwargs):
    data = text.encode()
    return residents_import(table=open_table(io.BytesIO(data), size=len(data)), actor=actor, **kwargs)


def test_an_unknown_priority_group_lists_the_chinese_names(cdc):
    result = _run(f"{HEADER}\n王芳,{ID_1},,{A1},冷链\n", cdc)
    (e,) = result.errors
    assert e.column == "人群分类" and "“冷链”不存在" in e.message
    assert "进口冷链物品从业人员" in e.message and "60岁及以上老年人" in e.message
    for code in PriorityGroup.objects.values_list("code", flat=True):
        assert code not in e.message


def test_each_row_error_names_the_row_and_masks_its_id(cdc):
    result = _run(f"{HEADER}\n王芳,{ID_1},1381234,{A1},\n", cdc)
    (e,) = result.errors
    assert (e.row, e.column, e.name, e.masked_id) == (
        2,
        "手机号码",
        "王芳",
        ID_1[:6] + "********" + ID_1[-4:],
    )
    assert e.as_dict()["masked_id"] == e.masked_id and ID_1 not in str(e.as_dict())


@pytest.mark.parametrize("batch", [1, 2000])
def test_the_same_id_twice_is_a_duplicate_whatever_the_batch(cdc, settings, batch):
    settings.VAXOPS_IMPORT_BATCH = batch
    result = _run(f"{HEADER}\n王芳,{ID_1},,{A1},\n李强,{ID_2},,{A1},\n王芳,{ID_1},13800000001,{A1},\n", cdc)
    assert (result.created, result.updated, result.unchanged, result.rejected) == (2, 0, 0, 1)
    (e,) = result.errors
    assert e.row == 4 and "与第2行的证件号码相同" in e.message and "第4行未导入" in e.message
    assert Resident.objects.get(id_number=ID_1).phone == ""


def test_the_import_page_offers_the_users_villages_and_shows_who_each_error_is(
    client, worker_a, django_capture_on_commit_callbacks
):
    client.force_login(worker_a)
    page = client.get("/residents/import/").content.decode()
    assert '<select id="village_code" name="village_code">' in page
    assert f'<option value="{A1}">' in page and "330199001002" not in page  # only the worker's own village

    text = f"姓名,证件号码,手机号码\n王芳,{ID_1},1381234\n李强,{ID_2},\n"
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/residents/import/",
            {"file": SimpleUploadedFile("census.csv", text.encode()), "village_code": A1},
        )
    job = ImportJob.objects.get()
    assert r.status_code == 302 and (job.created, job.rejected) == (1, 1)
    assert Resident.objects.get().village.code == A1
    shown = client.get(f"/residents/import/{job.pk}/").content.decode()
    assert 'id="row-errors"' in shown and "王芳" in shown and ID_1[:6] + "********" in shown
    assert ID_1 not in shown
