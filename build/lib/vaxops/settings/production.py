"""Production: secrets and hosts from the environment, HTTPS everywhere."""

import os

from .base import *  # noqa: F403
from .base import _CSP, MIDDLEWARE

DEBUG = False
SECRET_KEY = os.environ["VAXOPS_SECRET_KEY"]
ALLOWED_HOSTS = os.environ.get("VAXOPS_ALLOWED_HOSTS", "vaxops.example.org").split(",")
SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# The Content-Security-Policy is enforced (see base.py), never merely reported.
CONTENT_SECURITY_POLICY = _CSP
CONTENT_SECURITY_POLICY_REPORT_ONLY = None

# Static files are served by the application itself (WhiteNoise): compressed, with hashed names cached for a
# year. Run ``vaxops collectstatic --noinput`` after each upgrade (the manifest must exist before the server starts).
MIDDLEWARE = [
    MIDDLEWARE[0],  # SecurityMiddleware first, then WhiteNoise, as its documentation says
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[1:],
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
