"""Background jobs of the supply chain (run by ``vaxops worker``, inline in tests): the receipt-file import."""

import logging

from django.db import transaction

from vaxops.audit.services import audit_record
from vaxops.core import clock
from vaxops.core.errors import VaxOpsError
from vaxops.core.uploads import check_upload_size, jobs_expire, upload_discard
from vaxops.registry.services import ImportResult
from vaxops.registry.tasks import errors_note

from . import services
from .models import ReceiptImportJob, StockPlace
from .selectors import require_place
from .tables import codes_table_open

log = logging.getLogger(__name__)
IMPORT_PERMISSION = "supply.add_tracecode"


@transaction.atomic
def receipt_job_create(*, actor, upload, place: StockPlace) -> ReceiptImportJob:
    """Store an uploaded receipt file and queue its import into ``place``; returns the job (poll it)."""
    from django_q.tasks import async_task

    require_place(actor, place, IMPORT_PERMISSION)
    check_upload_size(getattr(upload, "size", 0) or 0)
    name = getattr(upload, "name", "upload")[:200]
    job = ReceiptImportJob(
        created_by=actor, place=place, filename=name, bytes_total=getattr(upload, "size", 0) or 0
    )
    job.file.save(name, upload, save=False)
    job.save()
    audit_record(
        actor=actor,
        action="supply.receipt_upload",
        obj=job,
        new={"file": name, "size": job.bytes_total, "place": place.code},
    )
    transaction.on_commit(
        lambda: async_task("vaxops.supply.tasks.receipt_job_run", job.pk, task_name=f"receipt-{job.pk}")
    )
    return job


def receipt_job_run(job_id: int) -> None:
    """Run one uploaded receipt import, recording progress after every batch and the row errors at the end."""
    job = ReceiptImportJob.objects.select_related("created_by", "place").get(pk=job_id)
    ReceiptImportJob.objects.filter(pk=job_id).update(status=ReceiptImportJob.Status.RUNNING)
    try:
        # The uploader's reach is checked again when the job runs: a role may have changed since.
        require_place(job.created_by, job.place, IMPORT_PERMISSION)
        with job.file.open("rb") as f:
            size = job.file.size
            table = codes_table_open(f, size=size, filename=job.filename)
            total = table.size or size

            def progress(result: ImportResult) -> None:
                ReceiptImportJob.objects.filter(pk=job_id).update(
                    bytes_total=total,
                    bytes_done=table.done(),
                    read=result.read,
                    created=result.created,
                    unchanged=result.unchanged,
                    rejected=result.rejected,
                )

            result = services.codes_import(
                table=table, actor=job.created_by, place=job.place, filename=job.filename, on_batch=progress
            )
    except VaxOpsError as e:
        partial = getattr(e, "partial_result", None)
        counts = {}
        if partial is not None:
            # Batches before the failure are committed (the message says so): keep their counts and row errors.
            counts = {
                "read": partial.processed,
                "created": partial.created,
                "unchanged": partial.unchanged,
                "rejected": partial.rejected,
                "errors": [x.as_dict() for x in partial.errors],
            }
        ReceiptImportJob.objects.filter(pk=job_id).update(
            status=ReceiptImportJob.Status.FAILED, message=e.message, finished_at=clock.now(), **counts
        )
        return
    except Exception as e:
        log.exception("receipt import job %s failed", job_id)
        ReceiptImportJob.objects.filter(pk=job_id).update(
            status=ReceiptImportJob.Status.FAILED, message=f"导入失败：{e}", finished_at=clock.now()
        )
        raise
    finally:
        upload_discard(job)
    ReceiptImportJob.objects.filter(pk=job_id).update(
        status=ReceiptImportJob.Status.DONE,
        read=result.read,
        created=result.created,
        unchanged=result.unchanged,
        rejected=result.rejected,
        bytes_done=total,
        bytes_total=total,
        errors=[e.as_dict() for e in result.errors],
        finished_at=clock.now(),
        message=errors_note(result),
    )


def receipt_errors_expire() -> int:
    """Daily in the worker: receipt jobs that ended more than VAXOPS_IMPORT_ERRORS_KEEP_DAYS ago lose their row
    errors (their counts stay); returns how many jobs were cleared."""
    return jobs_expire(ReceiptImportJob)
