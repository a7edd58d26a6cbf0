"""Browser libraries installed from the npm registry (``package.json``/``package-lock.json``, ``npm ci`` run by
``make``) and served as static files. Nothing of them is committed: a finder exposes exactly the files named in
``FILES`` from ``node_modules`` (``settings.VAXOPS_NODE_MODULES``), so ``runserver``, the test server and
``collectstatic`` (WhiteNoise in production) find them like any app's static files.

Without ``node_modules`` (npm was not available at set-up) the files are simply missing: pages ask
``vendor_url`` and leave the chart out, keeping the table of figures beside it."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage
from django.templatetags.static import static

ECHARTS = "vendor/echarts/echarts.min.js"
# static path → (package directory under node_modules, file inside it)
FILES: dict[str, tuple[str, str]] = {
    ECHARTS: ("echarts", "dist/echarts.min.js"),
}
MISSING_MESSAGE = (
    "图表库 ECharts 未安装：运行 make install（需要 npm）后刷新本页；下表数字不受影响。"
    " / The ECharts library is not installed: run `make install` (needs npm); the tables below are complete."
)


def node_modules() -> Path:
    return Path(getattr(settings, "VAXOPS_NODE_MODULES", Path(settings.BASE_DIR).parent / "node_modules"))


def _source(name: str) -> Path | None:
    entry = FILES.get(name)
    if entry is None:
        return None
    path = node_modules() / entry[0] / entry[1]
    return path if path.is_file() else None


class NodeModulesFinder(BaseFinder):
    """Finds only the files of ``FILES``, under their static path (``vendor/…``)."""

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        found = _source(path)
        if found is None:
            return [] if find_all else None
        return [str(found)] if find_all else str(found)

    def list(self, ignore_patterns):
        for name in FILES:
            found = _source(name)
            if found is None:
                continue
            storage = FileSystemStorage(location=str(found.parent))
            storage.prefix = str(Path(name).parent)
            yield found.name, storage


def vendor_url(name: str) -> str | None:
    """The static URL of a vendored file, or None when it is neither installed nor collected."""
    root = getattr(settings, "STATIC_ROOT", None)
    if _source(name) is None and not (root and (Path(root) / name).is_file()):
        return None
    try:
        return static(name)
    except ValueError:  # a manifest of collected files that does not hold it
        return None
