"""The demo (``make demo``): run as a county runs VaxOps — gunicorn, static files served by the application
(WhiteNoise), ``DEBUG`` off, the friendly error pages — but over plain HTTP on this machine's loopback address.

Everything is the production settings except what HTTPS needs (redirects, HSTS, cookies sent only over TLS):
the demo has no certificate. Those four deployment checks are silenced here, and only here, so that
``DJANGO_SETTINGS_MODULE=vaxops.settings.demo vaxops check --deploy --fail-level WARNING`` passes like
``make check-deploy`` does for production. The secret key is made once and kept in ``var/secret_key`` (0600)
unless ``VAXOPS_SECRET_KEY`` gives one.
"""

import os
import secrets
from pathlib import Path

_VAR = Path(os.environ.get("VAXOPS_VAR_DIR", Path(__file__).resolve().parents[2] / "var"))


def _demo_secret_key(var_dir: Path) -> str:
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


os.environ.setdefault("VAXOPS_SECRET_KEY", _demo_secret_key(_VAR))
os.environ.setdefault("VAXOPS_ALLOWED_HOSTS", "127.0.0.1,localhost")

from .production import *  # noqa: E402, F403
from .production import SILENCED_SYSTEM_CHECKS  # noqa: E402

# Plain HTTP on 127.0.0.1: no TLS to redirect to, nor to pin with HSTS, nor to keep the cookies on.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_HSTS_PRELOAD = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SILENCED_SYSTEM_CHECKS = [
    *SILENCED_SYSTEM_CHECKS,
    "security.W004",  # SECURE_HSTS_SECONDS
    "security.W008",  # SECURE_SSL_REDIRECT
    "security.W012",  # SESSION_COOKIE_SECURE
    "security.W016",  # CSRF_COOKIE_SECURE
]
