"""Background jobs of the registry (run by ``vaxops worker``, inline in tests)."""

import logging

from django.db import transaction
from django.utils import timezone

from vaxops.core.errors import VaxOpsError

from .models import ImportJob
from .services import ImportResult, residents_import
from .tables import open_table

log = logging.getLogger(__name__)
MAX_STORED_ERRORS = 20000


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
            # Batches before the failure are committed: say so, and keep their row errors.
            done = partial.created + partial.updated + partial.unchanged + partial.rejected
            counts = {
                "read": done,
                "created": partial.created,
                "updated": partial.updated,
                "unchanged": partial.unchanged,
                "rejected": partial.rejected,
                "errors": [x.as_dict() for x in partial.errors[:MAX_STORED_ERRORS]],
            }
        message = e.message + (f"（此前的 {counts['read']} 行已处理并保存）" if counts.get("read") else "")
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, message=message, finished_at=timezone.now(), **counts
        )
        return
    except Exception as e:
        log.exception("import job %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, message=f"导入失败：{e}", finished_at=timezone.now()
        )
        raise
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
            errors=[e.as_dict() for e in result.errors[:MAX_STORED_ERRORS]],
            finished_at=timezone.now(),
            message=""
            if len(result.errors) <= MAX_STORED_ERRORS
            else f"错误较多，仅保存前{MAX_STORED_ERRORS}条",
        )
