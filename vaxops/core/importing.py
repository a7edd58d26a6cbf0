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


def write_result(stdout, out: dict, *, as_json: bool) -> None:
    """The counting contract on stdout: one JSON object, or a Chinese summary and the first 50 row errors."""
    if as_json:
        stdout.write(json.dumps(out, ensure_ascii=False))
        return
    stdout.write(
        f"读取 {out['read']} 行：新建 {out['created']}，更新 {out['updated']}，未变 {out['unchanged']}，拒绝 {out['rejected']}"
    )
    for e in out["errors"][:50]:
        stdout.write(f"  第{e['row']}行 [{e['column']}] {e['message']}")
    if len(out["errors"]) > 50:
        stdout.write(f"  ……另有 {len(out['errors']) - 50} 条错误（使用 --json 查看全部）")
