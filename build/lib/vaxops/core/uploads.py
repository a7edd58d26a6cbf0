"""Limits on the files people upload (census, receipts) and the checks that run before a file is read.

Every limit is a setting (``VAXOPS_IMPORT_*``) and every refusal a Chinese sentence that says which limit and
what to do. The checks are cheap and run before anything is written or inflated:

- the upload's size (web and API; a file given to the command line on the server is not limited by size);
- for an XLSX (a zip archive), the sizes its members declare in the zip's central directory: their total once
  inflated, and each large member's compression ratio, so a zip bomb is refused without inflating it (Python's
  ``zipfile``, which openpyxl reads through, never inflates a member beyond its declared size);
- the number of rows (counted in the same pass that checks a CSV's encoding, or from the sheet's dimension
  and again while reading an XLSX);
- the length of a cell (a row error naming the column; the row is rejected, the rest of the file imported).
"""

import logging
import zipfile
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import BinaryIO

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from . import clock
from .errors import CoreErrorCode, ValidationFailed

log = logging.getLogger(__name__)
MB = 1024 * 1024
# Members smaller than this are not judged by their ratio: a sheet of repeated styles compresses very well.
RATIO_FLOOR_BYTES = 4 * MB


@dataclass(frozen=True)
class ImportLimits:
    max_upload_bytes: int | None
    max_inflated_bytes: int | None
    max_compression_ratio: int | None
    max_rows: int | None
    max_cell_chars: int | None

    @classmethod
    def from_settings(cls) -> "ImportLimits":
        return cls(
            max_upload_bytes=settings.VAXOPS_IMPORT_MAX_UPLOAD_MB * MB,
            max_inflated_bytes=settings.VAXOPS_IMPORT_MAX_XLSX_INFLATED_MB * MB,
            max_compression_ratio=settings.VAXOPS_IMPORT_MAX_XLSX_RATIO,
            max_rows=settings.VAXOPS_IMPORT_MAX_ROWS,
            max_cell_chars=settings.VAXOPS_IMPORT_MAX_CELL_CHARS,
        )

    @classmethod
    def for_benchmarks(cls) -> "ImportLimits":
        """The settings' limits but any number of rows: benchmarks generate files of millions of rows."""
        return replace(cls.from_settings(), max_rows=None)


def _mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


def check_upload_size(size: int, limits: ImportLimits | None = None) -> None:
    """Refuse an uploaded file larger than the upload limit."""
    limits = limits or ImportLimits.from_settings()
    if limits.max_upload_bytes is not None and size > limits.max_upload_bytes:
        raise ValidationFailed(
            _("文件过大（%(size)s），上传的文件不能超过 %(max_upload_bytes)s；请拆分成几个文件分批导入")
            % {"size": _mb(size), "max_upload_bytes": _mb(limits.max_upload_bytes)},
            field="file",
            code=CoreErrorCode.TOO_LARGE,
        )


def upload_digest(upload) -> str:
    """SHA-256 of an uploaded file, read in chunks (an upload may be a temporary file far larger than memory)."""
    import hashlib

    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def errors_listed() -> int:
    """How many row errors an answer (API, command line) lists; the rest are counted in ``errors_total``."""
    return settings.VAXOPS_IMPORT_ERRORS_LISTED


def check_xlsx_archive(stream: BinaryIO, limits: ImportLimits) -> None:
    """Refuse an XLSX whose members would inflate beyond the limits, from the zip's directory alone.

    Leaves the stream at its start. A file that is not a readable zip is refused as a broken XLSX.
    """
    try:
        with zipfile.ZipFile(stream) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ValidationFailed(
            _("XLSX 文件已损坏或无法读取：%(error)s") % {"error": e}, code=CoreErrorCode.XLSX_UNREADABLE
        ) from None
    finally:
        stream.seek(0)
    total = 0
    for info in members:
        total += info.file_size
        if limits.max_inflated_bytes is not None and total > limits.max_inflated_bytes:
            raise ValidationFailed(
                _(
                    "XLSX 文件解压后超过 %(max_inflated_bytes)s（可能是压缩炸弹或内容过多），请拆分成几个文件，或另存为 CSV 后导入"
                )
                % {"max_inflated_bytes": _mb(limits.max_inflated_bytes)},
                code=CoreErrorCode.XLSX_INFLATED_TOO_LARGE,
            )
        ratio = limits.max_compression_ratio
        if (
            ratio is not None
            and info.file_size > RATIO_FLOOR_BYTES
            and info.file_size > ratio * max(info.compress_size, 1)
        ):
            raise ValidationFailed(
                _("XLSX 文件中的“%(filename)s”压缩比异常（超过 %(ratio)s 倍），疑似压缩炸弹，拒绝读取")
                % {"filename": info.filename[:60], "ratio": ratio},
                code=CoreErrorCode.XLSX_COMPRESSION_SUSPICIOUS,
            )


def rows_refusal(rows: int, limits: ImportLimits) -> str | None:
    """The message refusing a file of more than the allowed number of data rows, or ``None``."""
    if limits.max_rows is not None and rows > limits.max_rows:
        return f"文件超过 {limits.max_rows:,} 行数据，请拆分成几个文件分批导入"
    return None


def upload_discard(job) -> None:
    """Delete an import job's uploaded file once the job has ended; its counts and row errors stay on the job."""
    if job.file:
        try:
            job.file.delete(save=False)
        except OSError:  # already gone
            log.warning("the upload of %s %s was already deleted", type(job).__name__, job.pk)
    type(job).objects.filter(pk=job.pk).exclude(file="").update(file="")


def jobs_expire(model, *, now=None) -> int:
    """Clear the row errors (the error report) of ``model``'s jobs that ended more than
    VAXOPS_IMPORT_ERRORS_KEEP_DAYS ago, and delete any upload still stored with them; returns how many jobs."""
    cutoff = (now or clock.now()) - timedelta(days=settings.VAXOPS_IMPORT_ERRORS_KEEP_DAYS)
    old = model.objects.filter(finished_at__lt=cutoff).filter(~Q(errors=[]) | ~Q(file=""))
    for job in old.only("pk", "file"):
        upload_discard(job)
    return old.update(errors=[])


# Room for the other fields of a multipart form and its boundaries.
FORM_SLACK_BYTES = 1 * MB


class UploadSizeMiddleware:
    """Refuse a multipart request whose declared length is beyond the upload limit, before Django reads it.

    Django writes an upload of any size to a temporary file before a view sees it (it limits only bodies
    without files); this answers 413 with the Chinese reason at once, so a huge upload costs neither disk nor
    time. Must come before anything that reads ``request.POST`` (the CSRF middleware does).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.content_type == "multipart/form-data":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limits = ImportLimits.from_settings()
            if limits.max_upload_bytes is not None and length > limits.max_upload_bytes + FORM_SLACK_BYTES:
                return self._refuse(request, length)
        return self.get_response(request)

    def _refuse(self, request, length: int):
        from django.http import JsonResponse
        from django.shortcuts import render

        try:
            check_upload_size(length)
        except ValidationFailed as e:
            message = e.message
        if request.path.startswith("/api/"):
            body = {"code": CoreErrorCode.TOO_LARGE, "message": message, "field": "file"}
            response = JsonResponse(body, status=413, json_dumps_params={"ensure_ascii": False})
        else:
            response = render(request, "error.html", {"message": message}, status=413)
        # The body was not read: ask the client not to reuse this connection for another request.
        response["Connection"] = "close"
        return response
