"""Settings shared by every environment; values come from the environment.

``DATABASE_URL`` selects the database (default: SQLite under ``var/``).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("VAXOPS_VAR_DIR", PROJECT_DIR / "var"))

SECRET_KEY = os.environ.get("VAXOPS_SECRET_KEY", "dev-only-insecure-key-change-me-in-production")  # noqa: S105
DEBUG = os.environ.get("VAXOPS_DEBUG", "1") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("VAXOPS_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "axes",
    "django_q",
    "vaxops.core",
    "vaxops.jurisdictions",
    "vaxops.accounts",
    "vaxops.audit",
    "vaxops.registry",
    "vaxops.catalog",
    "vaxops.clinic",
    "vaxops.campaign",
    "vaxops.supply",
    "vaxops.sites",
    "vaxops.booking",
    "vaxops.notify",
    "vaxops.certs",
    "vaxops.coldchain",
    "vaxops.safety",
    "vaxops.exchange",
    "vaxops.settlement",
    "vaxops.field",
    "vaxops.desk",
    "vaxops.reports",
    "vaxops.demo",
    "vaxops.benchmarks",
]

MIDDLEWARE = [
    # Outermost: a request whose database connection died under it answers 503, a read is tried once more.
    "vaxops.core.middleware.DatabaseLostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "vaxops.core.afterresponse.AfterResponseMiddleware",
    "vaxops.core.middleware.CSPMiddleware",  # django-csp's, its policy strings built once per process
    "django.contrib.sessions.middleware.SessionMiddleware",
    "vaxops.core.middleware.ChineseFirstLocaleMiddleware",
    "vaxops.core.uploads.UploadSizeMiddleware",  # before anything reads request.POST
    # After the upload limit, before anything reads the session, the user or the database: a NUL byte is
    # a 400, not a 500 (the session middleware only loads the session when someone asks for it).
    "vaxops.core.middleware.ControlCharacterMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "vaxops.audit.middleware.RequestContextMiddleware",
    # Axes must come last: it reads the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "vaxops.urls"
WSGI_APPLICATION = "vaxops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# A connection kept for CONN_MAX_AGE is checked before a request first uses it, so one killed on the server side
# (a PostgreSQL restart or failover) is replaced instead of costing that request a 500. On PostgreSQL the check
# (vaxops.core.postgresql) is a poll of the socket when the connection served a request less than
# VAXOPS_DB_HEALTH_CHECK_IDLE_SECONDS ago, a SELECT 1 otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'vaxops.sqlite3'}"),
        conn_max_age=int(os.environ.get("VAXOPS_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
# PostgreSQL with two roles (``vaxops db-roles``): DATABASE_URL is the application's role, which may only read
# and write rows; DATABASE_OWNER_URL is the role that owns the tables, used by ``vaxops migrate`` alone.
VAXOPS_OWNER_DATABASE = (
    dj_database_url.parse(os.environ["DATABASE_OWNER_URL"]) if os.environ.get("DATABASE_OWNER_URL") else None
)
# Seconds a client is told to wait (Retry-After) when the database connection was lost mid-request.
VAXOPS_DB_RETRY_AFTER = int(os.environ.get("VAXOPS_DB_RETRY_AFTER", "5"))
VAXOPS_DB_HEALTH_CHECK_IDLE_SECONDS = float(os.environ.get("VAXOPS_DB_HEALTH_CHECK_IDLE_SECONDS", "10"))
for _db in (DATABASES["default"], VAXOPS_OWNER_DATABASE):
    if _db is not None and _db["ENGINE"] == "django.db.backends.postgresql":
        _db["ENGINE"] = "vaxops.core.postgresql"
if DATABASES["default"]["ENGINE"] == "vaxops.core.postgresql":
    # Statements run through ``core.prepared.prepared_cursor`` (the desk's read and write of a dose) are
    # prepared on the server the first time and their plan reused on the connection; Django's own cursors bind
    # on the client and are never prepared.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers carry on while the importer writes; IMMEDIATE avoids
    # the "database is locked" upgrade deadlock between two writers.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        # A 128 MB page cache keeps a county-sized resident table and its indexes in
        # memory; checkpointing the WAL every 64 MB instead of every 4 MB writes each
        # index page back once instead of many times (a million-row insert: 34,000 →
        # 51,000 rows/s measured with plain sqlite3 on this machine).
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-131072; "
            "PRAGMA wal_autocheckpoint=16384;"
        ),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Lock an account (not an address: a whole township may share one NAT) for
# 30 minutes after 5 failed logins.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False

# Idle sessions end after 30 minutes: the session is renewed by the requests, written at most once per
# VAXOPS_SESSION_SAVE_INTERVAL seconds unless it changed (the store vaxops.core.sessions), so an idle user is
# logged out 30 minutes after the last renewal: between 29 and 30 minutes after the last request.
SESSION_ENGINE = "vaxops.core.sessions"
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
VAXOPS_SESSION_SAVE_INTERVAL = int(os.environ.get("VAXOPS_SESSION_SAVE_INTERVAL", "60"))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Content-Security-Policy (django-csp 4): our own origin only; no inline script or style anywhere (templates keep
# their CSS and JS in static files per feature and pass values in data- attributes). Images may be data: URIs
# (a signature drawn at the desk). Enforced everywhere but under DEBUG, where it is report-only so that Django's
# own debug pages (inline styles) stay readable while violations still show in the browser console.
_CSP = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if DEBUG:
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

# Django's own CSRF refusal page has an inline stylesheet: ours does not.
CSRF_FAILURE_VIEW = "vaxops.core.views.csrf_failure"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Browser libraries from npm (package-lock.json; `make install` runs `npm ci`): only the files named in
# vaxops/core/vendor.py are served, from node_modules, never committed.
VAXOPS_NODE_MODULES = Path(os.environ.get("VAXOPS_NODE_MODULES", PROJECT_DIR / "node_modules"))
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "vaxops.core.vendor.NodeModulesFinder",
]
MEDIA_ROOT = VAR_DIR / "media"

# Notifications: "file" (var/notifications.log, the default), "console", "sms" (an HTTP gateway) or "memory"
# (tests). A one-time code reaches only the channel: the stored message and the file keep it masked.
VAXOPS_NOTIFY_CHANNEL = os.environ.get("VAXOPS_NOTIFY_CHANNEL", "file")
VAXOPS_SMS_URL = os.environ.get("VAXOPS_SMS_URL", "")
VAXOPS_SMS_TOKEN = os.environ.get("VAXOPS_SMS_TOKEN", "")

# Cold chain: the county's duty phones texted on a freeze, heat or arrival out of range; how often the worker looks
# for sensors that stopped reporting (each sensor's own silent time decides when one is silent).
VAXOPS_COLDCHAIN = {
    "duty_phones": [p for p in os.environ.get("VAXOPS_COLDCHAIN_DUTY_PHONES", "").split(",") if p.strip()],
    "silent_check_minutes": int(os.environ.get("VAXOPS_COLDCHAIN_SILENT_CHECK_MINUTES", "15")),
}

Q_CLUSTER = {
    "name": "vaxops",
    "orm": "default",
    "workers": int(os.environ.get("VAXOPS_WORKERS", "2")),
    "timeout": 3600,
    "retry": 3700,
    "max_attempts": 1,
    "catch_up": False,
    "sync": os.environ.get("VAXOPS_TASKS_SYNC", "0") == "1",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("VAXOPS_LOG_LEVEL", "WARNING")},
    # A refused request (a full slot, a used code) is an answer, not an incident: log only server errors.
    "loggers": {"django.request": {"level": os.environ.get("VAXOPS_REQUEST_LOG_LEVEL", "ERROR")}},
}

# Doors that need no login are rate-limited in the database (vaxops.core.ratelimit), per client address and,
# on the resident's own door, per ID number and phone: scope -> (requests, seconds of a fixed window).
# The address is REMOTE_ADDR unless VAXOPS_TRUSTED_PROXIES says how many proxies in front append to
# X-Forwarded-For (never trust that header without one: a client can write anything in it).
VAXOPS_RATE_LIMITS = {
    "public": (600, 60),  # site list and detail, trust and revocation lists, the API's schema
    "self": (300, 60),  # the resident's pages and token-holding API calls (slots, book, cancel)
    "self.identify": (60, 600),  # asking for a one-time code, per address (a township may share one NAT)
    "self.identify.person": (10, 3600),  # … per ID number and per phone, whoever asks
    "self.verify": (60, 600),  # entering the code, per address
    "self.verify.person": (10, 3600),  # … per ID number
    "certs.verify": (120, 60),  # the certificate verifier (page and API)
    "record": (60, 60),  # the private record and certificate links
}
VAXOPS_TRUSTED_PROXIES = int(os.environ.get("VAXOPS_TRUSTED_PROXIES", "0"))
# Anonymous refusals are counted per client; only the first in each window of this length is audited.
VAXOPS_REFUSAL_AUDIT_SECONDS = int(os.environ.get("VAXOPS_REFUSAL_AUDIT_SECONDS", "3600"))

# Import pipeline
VAXOPS_IMPORT_BATCH = int(os.environ.get("VAXOPS_IMPORT_BATCH", "2000"))
# Uploads and imports (census, receipt files). Django keeps an upload of more than FILE_UPLOAD_MAX_MEMORY_SIZE
# in a temporary file, not in memory; a form or JSON body (no file) may not exceed DATA_UPLOAD_MAX_MEMORY_SIZE.
# Django sets no limit on an uploaded file's size: VAXOPS_IMPORT_MAX_UPLOAD_MB is ours (UploadSizeMiddleware
# answers 413 to a larger multipart request before its body is read; a front proxy's body limit, e.g. nginx
# client_max_body_size, a little above it is still advisable). An XLSX is refused before it is read when
# its members would inflate beyond VAXOPS_IMPORT_MAX_XLSX_INFLATED_MB, or a large member is compressed more
# than VAXOPS_IMPORT_MAX_XLSX_RATIO times (a zip bomb); a file of more data rows than VAXOPS_IMPORT_MAX_ROWS is
# refused; a cell longer than VAXOPS_IMPORT_MAX_CELL_CHARS rejects its row. An answer lists the first
# VAXOPS_IMPORT_ERRORS_LISTED row errors with their total; the error file keeps up to VAXOPS_IMPORT_ERRORS_KEPT.
# An uploaded file is deleted when its job ends; the job's row errors are kept VAXOPS_IMPORT_ERRORS_KEEP_DAYS.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("VAXOPS_DATA_UPLOAD_MAX_MEMORY_SIZE", str(2_621_440)))
FILE_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("VAXOPS_FILE_UPLOAD_MAX_MEMORY_SIZE", str(2_621_440)))
VAXOPS_IMPORT_MAX_UPLOAD_MB = int(os.environ.get("VAXOPS_IMPORT_MAX_UPLOAD_MB", "64"))
VAXOPS_IMPORT_MAX_XLSX_INFLATED_MB = int(os.environ.get("VAXOPS_IMPORT_MAX_XLSX_INFLATED_MB", "256"))
VAXOPS_IMPORT_MAX_XLSX_RATIO = int(os.environ.get("VAXOPS_IMPORT_MAX_XLSX_RATIO", "100"))
VAXOPS_IMPORT_MAX_ROWS = int(os.environ.get("VAXOPS_IMPORT_MAX_ROWS", "1000000"))
VAXOPS_IMPORT_MAX_CELL_CHARS = int(os.environ.get("VAXOPS_IMPORT_MAX_CELL_CHARS", "1000"))
VAXOPS_IMPORT_ERRORS_LISTED = int(os.environ.get("VAXOPS_IMPORT_ERRORS_LISTED", "100"))
VAXOPS_IMPORT_ERRORS_KEPT = int(os.environ.get("VAXOPS_IMPORT_ERRORS_KEPT", "20000"))
VAXOPS_IMPORT_ERRORS_KEEP_DAYS = int(os.environ.get("VAXOPS_IMPORT_ERRORS_KEEP_DAYS", "7"))

# What one server process may remember for a moment (0 turns each off): an API token's user (a revoked token
# or deactivated user is refused at most this long after), the catalogue's revision token (an edit of
# schedules reaches every process within it), a slot seen full (a place freed meanwhile goes to the waiting list
# first; a new booker sees it at most this long after).
VAXOPS_TOKEN_CACHE_SECONDS = float(os.environ.get("VAXOPS_TOKEN_CACHE_SECONDS", "10"))
VAXOPS_CATALOGUE_TOKEN_TTL = float(os.environ.get("VAXOPS_CATALOGUE_TOKEN_TTL", "1"))
VAXOPS_SLOT_FULL_MEMO_SECONDS = float(os.environ.get("VAXOPS_SLOT_FULL_MEMO_SECONDS", "1"))

# API tokens expire after this many days unless ``vaxops token-create … --days N`` says otherwise.
VAXOPS_API_TOKEN_DAYS = int(os.environ.get("VAXOPS_API_TOKEN_DAYS", "90"))

# The lockout is per account by design (the issue: "lock an account"); many
# township workers share one NAT address, so locking by address would lock them all.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
