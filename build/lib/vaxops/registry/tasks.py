"""Background jobs of the registry (run by ``vaxops worker``, inline in tests)."""

import logging

from django.db import transaction

from vaxops.core import clock
from vaxops.core.errors import VaxOpsError
from vaxops.core.uploads import jobs_expire, upload_discard

from .models import ImportJob
from .services import ImportResult, residents_import
from .tables import open_table

log = logging.getLogger(__name__)


def import_job_run(job_id: int) -> None:
    """Run one uploaded census import, recording progress after every batch and the row errors at the end."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.RUNNING)
    try:
        with job.file.open("rb") as f:
            size = job.file.size
            table = open_table(f, size=size, filename=job.filename)
            total = table.size or size

            def progress(result: ImportResult) -> None:
                ImportJob.objects.filter(pk=job_id).update(
                    bytes_total=total,
                    bytes_done=table.done(),
                    read=result.read,
                    created=result.created,
                    updated=result.updated,
                    unchanged=result.unchanged,
                    rejected=result.rejected,
                )

            result = residents_import(
                table=table,
                actor=job.created_by,
                village_code=job.village_code or None,
                employer_code=job.employer_code or None,
                job_id=job.pk,
                filename=job.filename,
                on_batch=progress,
            )
    except VaxOpsError as e:
        partial = getattr(e, "partial_result", None)
        counts = {}
        if partial is not None:
            # Batches before the failure are committed (the message says so): keep their counts and row errors.
            counts = {
                "read": partial.processed,
                "created": partial.created,
                "updated": partial.updated,
                "unchanged": partial.unchanged,
                "rejected": partial.rejected,
                "errors": [x.as_dict() for x in partial.errors],
            }
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, message=e.message, finished_at=clock.now(), **counts
        )
        return
    except Exception as e:
        log.exception("import job %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, message=f"导入失败：{e}", finished_at=clock.now()
        )
        raise
    finally:
        upload_discard(job)
    with transaction.atomic():
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.DONE,
            read=result.read,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            rejected=result.rejected,
            bytes_done=total,
            bytes_total=total,
            errors=[e.as_dict() for e in result.errors],
            finished_at=clock.now(),
            message=errors_note(result),
        )


def errors_note(result: ImportResult) -> str:
    """What a finished job says when it kept fewer row errors than it found."""
    if result.errors_total <= len(result.errors):
        return ""
    return f"错误共 {result.errors_total} 条，错误报告保存前 {len(result.errors)} 条"


def import_errors_expire() -> int:
    """Daily in the worker: census jobs that ended more than VAXOPS_IMPORT_ERRORS_KEEP_DAYS ago lose their row
    errors (their counts stay); returns how many jobs were cleared."""
    return jobs_expire(ImportJob)
