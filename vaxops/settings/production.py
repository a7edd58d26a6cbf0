"""Production: secrets and hosts from the environment, HTTPS everywhere."""

import os

from .base import *  # noqa: F403

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
