"""Settings for the test suite: the same apps and rules, a throwaway database."""

import os
import tempfile

from .base import *  # noqa: F403
from .base import _CSP, DATABASES, Q_CLUSTER

DEBUG = False
# The Content-Security-Policy is enforced in tests as in production, so the browser tests see any violation.
CONTENT_SECURITY_POLICY = _CSP
CONTENT_SECURITY_POLICY_REPORT_ONLY = None
if "DATABASE_URL" not in os.environ:
    DATABASES["default"]["NAME"] = ":memory:"
    DATABASES["default"]["OPTIONS"] = {"timeout": 30}
# Background jobs run inline so a test sees their outcome.
Q_CLUSTER["sync"] = True
# The test runner creates and migrates its own database as the connecting role.
VAXOPS_OWNER_DATABASE = None
ALLOWED_HOSTS = ["*"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tests roll back catalogue edits; never trust a revision token read in another test.
VAXOPS_CATALOGUE_TOKEN_TTL = 0
VAXOPS_TOKEN_CACHE_SECONDS = 0
VAXOPS_SLOT_FULL_MEMO_SECONDS = 0
# Demo keys made by tests go to a scratch directory, not the developer's var/keys.
VAXOPS_CERT_KEY_DIR = tempfile.mkdtemp(prefix="vaxops-test-keys-")
# Messages go to notify.channels.outbox (the ``sms_outbox`` fixture), never to a file under var/.
VAXOPS_NOTIFY_CHANNEL = "memory"
