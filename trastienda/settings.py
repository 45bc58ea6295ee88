"""Django settings for Trastienda, read from the environment.

Every setting a deployment changes comes from an environment variable (12-factor):

- ``DATABASE_URL``: default SQLite file ``var/trastienda.sqlite3`` (WAL mode).
- ``REDIS_URL``: optional; when set, background jobs and the cache use Redis.
- ``EMAIL_URL``: SMTP URL (``smtp+tls://user:pass@host:587``); default console backend.
- ``SECRET_KEY``: default generated once into ``var/secret_key`` (never committed).
- ``DEBUG``: off unless set (the ``demo`` command sets it).
- ``ALLOWED_HOSTS``: comma-separated.
- ``TRASTIENDA_ADMIN_URL``: path of the Django admin (default ``manage/``, never ``admin/``).
- ``TRASTIENDA_TRUSTED_PROXIES``: comma-separated addresses of reverse proxies whose
  ``X-Forwarded-For`` is believed; empty by default, so the header is ignored.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy

BASE_DIR = Path(__file__).resolve().parent
env = environ.Env()

VAR_DIR = Path(env.str("TRASTIENDA_VAR_DIR", default=str(Path.cwd() / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Return SECRET_KEY from the environment, or from ``var/secret_key`` (made on first run)."""
    from_env = env.str("SECRET_KEY", default="")
    if from_env:
        return from_env
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        # Owner-only from the start, written aside and linked into place: processes starting
        # together for the first time (web workers, job worker) agree on one complete key.
        aside = VAR_DIR / f".secret_key.{os.getpid()}"
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
        try:
            os.link(aside, key_file)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
TRASTIENDA_ADMIN_URL = env.str("TRASTIENDA_ADMIN_URL", default="manage/").strip("/") + "/"
TRASTIENDA_TRUSTED_PROXIES = env.list("TRASTIENDA_TRUSTED_PROXIES", default=[])

INSTALLED_APPS = [
    "trastienda.core",
    "trastienda.audit",
    "trastienda.accounts",
    "trastienda.documents",
    "trastienda.ledger",
    "trastienda.billing",
    "trastienda.matching",
    "trastienda.banking",
    "trastienda.trading",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "huey.contrib.djhuey",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "trastienda.accounts.middleware.SessionPolicyMiddleware",
    "trastienda.core.tenancy.TenancyMiddleware",
    "trastienda.accounts.middleware.TwoFactorRequiredMiddleware",
    "trastienda.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trastienda.urls"
WSGI_APPLICATION = "trastienda.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "trastienda.core.context_processors.shell",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'trastienda.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            # WAL lets readers work while one writer commits; IMMEDIATE takes the write lock at
            # BEGIN so that two writers queue instead of failing half-way with "database locked".
            # synchronous=NORMAL (with WAL): a commit is durable against a crash of the
            # application or of SQLite, but the last transactions may be lost on a power loss
            # or an OS crash (the WAL is fsynced at checkpoints, not at every commit); the
            # database stays consistent either way. Never OFF: that risks corruption.
            # wal_autocheckpoint=10000 pages (40 MB of WAL at 4 KB pages; default 1,000): the
            # checkpoint, whose fsyncs stall the commit that runs it for milliseconds, comes
            # ten times less often (measured: a third less time in commits when posting).
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                " PRAGMA wal_autocheckpoint=10000;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and background jobs --------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
# Background jobs (trastienda.core.jobs): ``trastienda worker`` consumes the queue. Results are
# kept on the Job rows, not in Huey's result store.
_HUEY_CONSUMER = {
    "workers": env.int("TRASTIENDA_WORKERS", default=2),
    "worker_type": "thread",
}
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "trastienda",
        "url": REDIS_URL,
        "results": False,
        "immediate": False,
        "consumer": _HUEY_CONSUMER,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "trastienda",
        "filename": str(VAR_DIR / "jobs.sqlite3"),
        "results": False,
        "immediate": env.bool("HUEY_IMMEDIATE", default=False),
        "consumer": _HUEY_CONSUMER,
    }

# --- authentication and security ------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "trastienda.accounts.validators.ForbiddenUsernameValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout (django-axes): per username and, separately, per client address, each with its own
# limit and window (see trastienda/accounts/lockout.py for how axes is adapted to that).
TRASTIENDA_LOCKOUT_USERNAME_FAILURES = env.int("TRASTIENDA_LOCKOUT_USERNAME_FAILURES", default=10)
TRASTIENDA_LOCKOUT_USERNAME_MINUTES = env.int("TRASTIENDA_LOCKOUT_USERNAME_MINUTES", default=15)
TRASTIENDA_LOCKOUT_IP_FAILURES = env.int("TRASTIENDA_LOCKOUT_IP_FAILURES", default=50)
TRASTIENDA_LOCKOUT_IP_MINUTES = env.int("TRASTIENDA_LOCKOUT_IP_MINUTES", default=60)
# Password reset e-mails: at most this many requests per client address and per address an
# hour; more are answered with the same page and send nothing.
TRASTIENDA_PASSWORD_RESET_PER_IP = env.int("TRASTIENDA_PASSWORD_RESET_PER_IP", default=10)
TRASTIENDA_PASSWORD_RESET_PER_EMAIL = env.int("TRASTIENDA_PASSWORD_RESET_PER_EMAIL", default=3)
AXES_ENABLED = True
AXES_HANDLER = "trastienda.accounts.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = "trastienda.accounts.lockout.failure_limit"
AXES_COOLOFF_TIME = "trastienda.accounts.lockout.cooloff_time"
AXES_CLIENT_IP_CALLABLE = "trastienda.accounts.lockout.client_ip"
AXES_USERNAME_CALLABLE = "trastienda.accounts.lockout.client_username"
AXES_LOCKOUT_CALLABLE = "trastienda.accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_USERNAME_FORM_FIELD = "username"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token", "code", "csrfmiddlewaretoken"]

# Two-factor authentication (django-otp): required for staff and for every role marked
# requires_two_factor (administrators). Always on; only other apps' test settings turn it off.
TRASTIENDA_TWO_FACTOR_ENFORCED = True
TRASTIENDA_TWO_FACTOR_PENDING_SECONDS = 300  # time to enter the code after the password
TRASTIENDA_RECOVERY_CODES = 10

# Sessions: idle timeout (cookie age, refreshed on activity) and absolute timeout.
SESSION_COOKIE_AGE = env.int("TRASTIENDA_SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
TRASTIENDA_SESSION_ABSOLUTE_SECONDS = env.int(
    "TRASTIENDA_SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if TRASTIENDA_TRUSTED_PROXIES:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

OTP_TOTP_ISSUER = "Trastienda"

# --- uploads --------------------------------------------------------------------------------

MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"  # files are served only by permission-checked views
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
TRASTIENDA_MAX_UPLOAD_BYTES = env.int("TRASTIENDA_MAX_UPLOAD_BYTES", default=25 * 1024 * 1024)

# --- e-mail ---------------------------------------------------------------------------------

_email_url = env.str("EMAIL_URL", default="consolemail://")
vars().update(environ.Env.email_url_config(_email_url))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Trastienda <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- languages and formats ------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("es", "Español"), ("it", "Italiano"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Madrid")
USE_THOUSAND_SEPARATOR = True
FORMAT_MODULE_PATH = ["trastienda.formats"]

# --- static files ---------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and env.bool("TRASTIENDA_MANIFEST_STATIC", default=True)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Filters show "All" rather than dashes for "no choice".
FILTERS_EMPTY_CHOICE_LABEL = gettext_lazy("All")
FILTERS_NULL_CHOICE_LABEL = gettext_lazy("None")

# --- REST API -------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["trastienda.core.rest.CompanyPermission"],
    "DEFAULT_PAGINATION_CLASS": "trastienda.core.rest.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    # JSON only: no browsable API (its forms would be a second UI), the docs page is Swagger UI.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "trastienda.core.rest.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "trastienda.core.rest.AnonRateThrottle",
        "trastienda.core.rest.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("TRASTIENDA_API_ANON_RATE", default="60/min"),
        "user": env.str("TRASTIENDA_API_USER_RATE", default="1200/min"),
        "auth": env.str("TRASTIENDA_API_AUTH_RATE", default="20/min"),
    },
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Trastienda API",
    "DESCRIPTION": (
        "REST API of the Trastienda back office. Sign in with `POST /api/v1/auth/token/` and "
        "send `Authorization: Token <key>`; name the company with the `X-Company` header. "
        "Amounts travel as decimal strings. Every error has the shape of the `Error` schema."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Choice sets that share a field name across models get a name of their own.
    "ENUM_NAME_OVERRIDES": {
        "BillingDirectionEnum": "trastienda.billing.models.Direction",
        "BreakStateEnum": "trastienda.trading.models.Break.State",
        "ConfirmationStateEnum": "trastienda.trading.models.Confirmation.State",
        "PaymentBatchKindEnum": "trastienda.banking.models.PaymentBatch.Kind",
        "PeriodStateEnum": "trastienda.ledger.models.Period.State",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "trastienda.core.api.schema_postprocess",
    ],
}

# --- logging --------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

TRASTIENDA_IDEMPOTENCY_TTL = timedelta(hours=24)
