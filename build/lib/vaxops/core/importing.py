"""What the file-import commands share: a progress bar over a table, and the printed result."""

import json
import sys
from collections.abc import Callable

from tqdm import tqdm


def run_with_progress(table, work: Callable[[Callable], object], *, quiet: bool, xlsx: bool):
    """Call ``work(on_batch)`` with a tqdm bar on stderr that follows the table's position; returns its result."""
    bar = tqdm(
        total=table.size,
        unit="行" if xlsx else "B",
        unit_scale=True,
        desc="导入",
        disable=quiet,
        file=sys.stderr,
    )

    def progress(result):
        bar.n = table.done()
        bar.set_postfix(行=result.read, 拒绝=result.rejected, refresh=False)
        bar.refresh()

    try:
        return work(progress)
    finally:
        bar.close()


def write_result(stdout, out: dict, *, as_json: bool, errors_path: str | None = None) -> None:
    """The counting contract on stdout: one JSON object, or a Chinese summary and the first row errors.

    ``out`` is ``ImportResult.as_dict()`` with every kept row error; the answer lists the first
    VAXOPS_IMPORT_ERRORS_LISTED of them and the total (``errors_total``). ``errors_path`` receives all kept
    row errors as a CSV (written through ``core.xlsx.csv_writer``, so formula-like text stays text).
    """
    from django.conf import settings

    listed = settings.VAXOPS_IMPORT_ERRORS_LISTED
    errors = out["errors"]
    total = out.get("errors_total", len(errors))
    if errors_path:
        errors_write_csv(errors_path, errors)
    if as_json:
        stdout.write(
            json.dumps({**out, "errors": errors[:listed], "errors_total": total}, ensure_ascii=False)
        )
        return
    stdout.write(
        f"读取 {out['read']} 行：新建 {out['created']}，更新 {out['updated']}，未变 {out['unchanged']}，拒绝 {out['rejected']}"
    )
    shown = min(50, listed)
    for e in errors[:shown]:
        stdout.write(f"  第{e['row']}行 [{e['column']}] {e['message']}")
    if total > shown:
        where = f"全部错误已写入 {errors_path}" if errors_path else "使用 --errors 文件名.csv 保存全部错误"
        stdout.write(f"  ……共 {total} 条错误，另有 {total - shown} 条未列出（{where}）")


def errors_write_csv(path: str, errors: list[dict]) -> None:
    """Row errors as a CSV in UTF-8 with a byte-order mark (so Excel opens the Chinese correctly)."""
    from .xlsx import csv_writer

    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv_writer(f)
        writer.writerow(["行号", "列", "错误原因"])
        writer.writerows([e["row"], e["column"], e["message"]] for e in errors)
