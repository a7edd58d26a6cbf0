"""Receipt files of traceability codes under the same limits as the census: size, long cells, bad bytes,
part-way failures, error lists; the upload is deleted when its job ends."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from vaxops.core.actors import SystemActor
from vaxops.core.errors import ValidationFailed
from vaxops.supply import services
from vaxops.supply.models import ReceiptImportJob, TraceCode

from .factories import code, county_store, csv_table

HEADER = "追溯码,批号,疫苗品种,有效期至"


@pytest.fixture
def store(county):
    return county_store(county)


@pytest.fixture
def planner(client, cdc):
    client.force_login(cdc)
    return client


def _rows(n: int, first: int = 1) -> list[str]:
    return [f"{code(first + i)},L1,BBIBP-CorV,2099-12-31" for i in range(n)]


def _import(text: str, store):
    return services.codes_import(table=csv_table(text), actor=SystemActor("cli:test"), place=store)


def test_a_200_kb_cell_rejects_its_row_and_the_rest_is_received(store):
    rows = _rows(3)
    rows[1] = f"{code(2)},{'L' * 200_000},BBIBP-CorV,2099-12-31"
    result = _import("\n".join([HEADER, *rows]), store)
    assert (result.read, result.created, result.rejected) == (3, 2, 1)
    assert result.errors[0].column == "批号" and "内容过长" in result.errors[0].message


def test_bad_bytes_refuse_the_file_naming_the_line_before_anything_is_written(store):
    data = ("\n".join([HEADER, *_rows(5000)]) + "\n").encode() + b"\xff\xfe,x,y,z\n"
    with pytest.raises(ValidationFailed) as e:
        services.codes_import(
            table=_open(data),
            actor=SystemActor("cli:test"),
            place=store,
        )
    assert e.value.message.startswith("第5002行含有无法识别的字符") and not TraceCode.objects.exists()


def _open(data: bytes):
    from vaxops.supply.tables import codes_table_open

    return codes_table_open(io.BytesIO(data))


def test_the_web_upload_refuses_a_file_over_the_limit(
    planner, store, settings, django_capture_on_commit_callbacks
):
    settings.VAXOPS_IMPORT_MAX_UPLOAD_MB = 1
    data = ("\n".join([HEADER, *_rows(2)]) + "\n").encode() + b"#" * (1024 * 1024)
    with django_capture_on_commit_callbacks(execute=True):
        r = planner.post("/supply/import/", {"file": SimpleUploadedFile("r.csv", data), "place": store.pk})
    assert "文件过大" in r.content.decode() and not ReceiptImportJob.objects.exists()


def test_the_api_refuses_it_and_lists_at_most_so_many_errors(planner, store, settings):
    settings.VAXOPS_IMPORT_MAX_UPLOAD_MB = 1
    big = ("\n".join([HEADER, *_rows(2)]) + "\n").encode() + b"#" * (1024 * 1024)
    r = planner.post("/api/v1/supply/receipts", {"file": SimpleUploadedFile("r.csv", big)})
    assert r.status_code == 400 and r.json()["code"] == "too_large"

    settings.VAXOPS_IMPORT_ERRORS_LISTED = 5
    bad = "\n".join([HEADER, *[f"{code(i)[:-1]},L1,BBIBP-CorV,2099-12-31" for i in range(1, 9)]])
    r = planner.post("/api/v1/supply/receipts", {"file": SimpleUploadedFile("r.csv", bad.encode())})
    body = r.json()
    assert (body["rejected"], body["errors_total"], len(body["errors"])) == (8, 8, 5)


def test_the_job_deletes_its_upload_and_old_error_reports_are_cleared(
    planner, store, settings, django_capture_on_commit_callbacks
):
    from django_q.models import Schedule

    from vaxops.supply.tasks import receipt_errors_expire

    data = "\n".join([HEADER, *_rows(2), f"{code(9)[:-1]},L1,BBIBP-CorV,2099-12-31"]).encode()
    with django_capture_on_commit_callbacks(execute=True):
        planner.post("/supply/import/", {"file": SimpleUploadedFile("r.csv", data), "place": store.pk})
    job = ReceiptImportJob.objects.get()
    assert job.status == ReceiptImportJob.Status.DONE and not job.file and len(job.errors) == 1

    settings.VAXOPS_IMPORT_ERRORS_KEEP_DAYS = 7
    ReceiptImportJob.objects.update(finished_at=timezone.now() - timedelta(days=6))
    assert receipt_errors_expire() == 0
    ReceiptImportJob.objects.update(finished_at=timezone.now() - timedelta(days=8))
    assert receipt_errors_expire() == 1
    job.refresh_from_db()
    assert job.errors == [] and job.rejected == 1
    assert Schedule.objects.filter(func="vaxops.supply.tasks.receipt_errors_expire").exists()


def test_a_file_that_breaks_part_way_says_what_was_received_and_a_rerun_finishes(store, settings):
    from vaxops.registry.tests.test_import import xlsx_bytes
    from vaxops.registry.tests.test_import_hostile import _without_dimension

    settings.VAXOPS_IMPORT_MAX_ROWS = 3
    rows = [HEADER.split(","), *[r.split(",") for r in _rows(5)]]
    data = _without_dimension(xlsx_bytes(rows))
    with pytest.raises(ValidationFailed) as e:
        services.codes_import(table=_open(data), actor=SystemActor("cli:test"), place=store, batch_size=2)
    assert "此前的 3 行已处理并保存：新建 3" in e.value.message and TraceCode.objects.count() == 3

    settings.VAXOPS_IMPORT_MAX_ROWS = 100
    again = services.codes_import(table=_open(data), actor=SystemActor("cli:test"), place=store)
    assert (again.read, again.created, again.unchanged) == (5, 2, 3)
