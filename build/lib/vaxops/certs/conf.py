"""Certificate settings: a Django setting of the same name wins, then the environment, then the default."""

import os
from pathlib import Path

from django.conf import settings

DEFAULT_ISSUER = "清溪县疾病预防控制中心 / Qingxi County CDC"


def _get(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def issuer() -> str:
    """``is`` of the payload and the issuer printed on the certificate (at most 80 characters)."""
    return _get("VAXOPS_CERT_ISSUER", DEFAULT_ISSUER)


def issuer_zh() -> str:
    return issuer().split(" / ")[0]


def issuer_en() -> str:
    parts = issuer().split(" / ", 1)
    return parts[1] if len(parts) > 1 else parts[0]


def uvci_issuer() -> str:
    """The issuing-entity part of our UVCIs (upper-case letters and digits)."""
    return _get("VAXOPS_CERT_UVCI_ISSUER", "QXCDC")


def country() -> str:
    return _get("VAXOPS_CERT_COUNTRY", "CN")


def valid_days() -> int:
    """How long a certificate is valid after it is issued (``exp`` − ``iat``)."""
    return int(_get("VAXOPS_CERT_VALID_DAYS", "365"))


def key_dir() -> Path:
    """Where ``vaxops cert keygen`` writes the demo keys (0600)."""
    return Path(_get("VAXOPS_CERT_KEY_DIR", str(Path(settings.VAR_DIR) / "keys")))


def auto_keygen() -> bool:
    """Make a demo key on first use when none exists: only with DEBUG on (the demo), never in production."""
    return bool(settings.DEBUG) and _get("VAXOPS_CERT_AUTO_KEYGEN", "1") == "1"


def cjk_font() -> str:
    """An explicit CJK TrueType font for the PDF (else the fonts installed by ``make fonts`` are searched)."""
    return _get("VAXOPS_CJK_FONT", "")
