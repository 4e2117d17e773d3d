"""AIR Portal settings: environment variables only (12-factor).

Every default makes `make run` work on a fresh machine: SQLite in WAL mode and a
filesystem Celery broker, both under ``var/``. Production sets ``DEBUG=0`` plus
``SECRET_KEY``, ``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``ALLOWED_HOSTS``.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
# A development checkout keeps its local settings in a git-ignored `.env` that `make` writes
# (DEBUG=1), so `.venv/bin/python manage.py …` works in any new shell. Real environment variables
# always win; production sets them and has no `.env`.
load_dotenv(BASE_DIR / ".env", override=False)
VAR_DIR = Path(os.environ.get("AIRPORTAL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (production mode). "
            "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    # Development: generate once and keep it so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_celery_beat",
    "template_partials",
    "airportal",
    "m365",
    "alerts",
    "investigations",
    "demo",  # the demo tenant and the simulated Microsoft 365 tenant (quick start, tests)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "airportal.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "airportal.replica.ReplicaReadMiddleware",
]

ROOT_URLCONF = "airportal.urls"
WSGI_APPLICATION = "airportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "airportal.context_processors.navigation",
            ],
        },
    },
]

# Database: PostgreSQL in production, SQLite (WAL, busy timeout) by default.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'airportal.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the worker writes; the busy
        # timeout makes a writer wait for the other instead of failing.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Optional read replica (PostgreSQL streaming replica): the console's list pages, search, timelines,
# reports and exports read from it (airportal.replica); writes and everything else use "default".
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
# After a request that writes, the browser reads from the primary for this long (read-after-write).
DATABASE_REPLICA_PIN_SECONDS = int(os.environ.get("DATABASE_REPLICA_PIN_SECONDS", "10"))
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    # Tests use the primary's test database through this alias instead of creating one.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["airportal.replica.ReplicaRouter"]
# Events (PostgreSQL): one partition per "month" or "week", created this many periods ahead.
EVENT_PARTITION_INTERVAL = os.environ.get("EVENT_PARTITION_INTERVAL", "month")
if EVENT_PARTITION_INTERVAL not in ("month", "week"):
    raise ImproperlyConfigured("EVENT_PARTITION_INTERVAL must be 'month' or 'week'.")
EVENT_PARTITIONS_AHEAD = int(os.environ.get("EVENT_PARTITIONS_AHEAD", "3"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security headers. Production (DEBUG off) gets HTTPS-only cookies and HSTS.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz is probed over plain HTTP by load balancers and `make run` checks.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content-Security-Policy: no inline scripts, no third-party origins.
# Plotly injects <style> elements, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)

# Ingest limits (bytes): the compressed body and what it may inflate to.
INGEST_MAX_BODY_BYTES = int(os.environ.get("INGEST_MAX_BODY_BYTES", str(64 * 1024 * 1024)))
INGEST_MAX_INFLATED_BYTES = int(os.environ.get("INGEST_MAX_INFLATED_BYTES", str(256 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BODY_BYTES
# Detection: events per Celery task (an identity's events always share one task).
DETECTION_BATCH_EVENTS = int(os.environ.get("DETECTION_BATCH_EVENTS", "2000"))
# Identities fall in this many shards (identity id modulo); a shard's batches are judged one at a
# time, in order, so at most this many detect processes work at once (docs/scaling.md).
DETECTION_SHARDS = max(1, int(os.environ.get("DETECTION_SHARDS", "2")))

# Offline IP geolocation: optional MaxMind City database for city precision.
GEOIP_CITY_DB = os.environ.get("GEOIP_CITY_DB", "")

# Microsoft 365 (m365/, used by alerts/feeds and investigations/connectors/msgraph.py). Base URLs default to
# Microsoft's public cloud; tests point them at a local server. Credentials set here win over the
# Connectors page, which then shows them read-only. M365_GRAPH_URL and M365_MANAGEMENT_URL may be bare hosts
# (the API version path is added, m365.endpoints); docs/m365.md lists the national clouds' values.
M365_LOGIN_URL = os.environ.get("M365_LOGIN_URL", "https://login.microsoftonline.com").rstrip("/")
M365_GRAPH_URL = os.environ.get("M365_GRAPH_URL", "https://graph.microsoft.com/v1.0").rstrip("/")
M365_MANAGEMENT_URL = os.environ.get("M365_MANAGEMENT_URL", "https://manage.office.com/api/v1.0").rstrip("/")
M365_EXCHANGE_URL = os.environ.get("M365_EXCHANGE_URL", "https://outlook.office365.com").rstrip("/")
M365_TENANT_ID = os.environ.get("M365_TENANT_ID", "")
M365_CLIENT_ID = os.environ.get("M365_CLIENT_ID", "")
M365_CLIENT_SECRET = os.environ.get("M365_CLIENT_SECRET", "")
M365_CERTIFICATE_PATH = os.environ.get("M365_CERTIFICATE_PATH", "")
# The tenant's initial domain (contoso.onmicrosoft.com), which anchors organisation-level Exchange cmdlets;
# empty = read from Microsoft Graph /domains (needs Domain.Read.All).
M365_ORGANIZATION = os.environ.get("M365_ORGANIZATION", "")
M365_BACKFILL_DAYS = int(os.environ.get("M365_BACKFILL_DAYS", "7"))
# Also pull non-interactive sign-ins (Graph beta; many records) for token-replay detection.
M365_NONINTERACTIVE_SIGNINS = os.environ.get("M365_NONINTERACTIVE_SIGNINS", "").lower() in ("1", "true", "yes", "on")
M365_PULL_INTERVAL_SECONDS = int(os.environ.get("M365_PULL_INTERVAL_SECONDS", "300"))
# "msgraph" or "simulated" forces the remediation connector; empty = msgraph when a tenant is configured.
REMEDIATION_CONNECTOR = os.environ.get("REMEDIATION_CONNECTOR", "")
# Every connector remediation can use, by name: its class as a dotted path.
REMEDIATION_CONNECTORS = {
    "simulated": "demo.connector.SimulatedConnector",
    "msgraph": "investigations.connectors.msgraph.MsGraphConnector",
}

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "airportal.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["airportal.api.permissions.DenyAll"],
    "DEFAULT_PARSER_CLASSES": [
        "airportal.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "airportal.api.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "airportal.api.exceptions.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_RATES": {"login": "10/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AIR Portal API",
    "DESCRIPTION": "Automated investigation and response for compromised Microsoft 365 accounts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AlertStatusEnum": "alerts.models.Alert.Status",
        "AlertClassificationEnum": "alerts.models.Alert.Classification",
        "EventKindEnum": "alerts.models.Event.Kind",
        "InvestigationStatusEnum": "investigations.models.Investigation.Status",
        "ActionStatusEnum": "investigations.models.Action.Status",
        "ActionKindEnum": "investigations.models.Action.Kind",
        "InvestigationVerdictEnum": "investigations.models.Investigation.Verdict",
        "FindingVerdictEnum": "investigations.models.Finding.Verdict",
    },
}

# Notifications: links in messages point at PORTAL_BASE_URL; e-mail goes through Django's mail
# backend (console in development, SMTP from EMAIL_* in production).
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://localhost:8000").rstrip("/")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 15
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "AIR Portal <air-portal@localhost>")
NOTIFICATION_MAX_ATTEMPTS = int(os.environ.get("NOTIFICATION_MAX_ATTEMPTS", "5"))
NOTIFICATION_RETRY_BASE_SECONDS = int(os.environ.get("NOTIFICATION_RETRY_BASE_SECONDS", "30"))

# Celery: explicit queues; a worker started without -Q consumes all of them.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://localhost//")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_TASK_QUEUES = [Queue(name) for name in ("default", "ingest", "detect", "playbook", "remediate")]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "600"))
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "540"))
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# /healthz is degraded after three periods without a worker heartbeat.
WORKER_HEARTBEAT_SECONDS = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", "60"))
# A detection batch still unjudged this long after it was queued was lost; the sweep runs this often.
DETECTION_LOST_AFTER_SECONDS = float(os.environ.get("DETECTION_LOST_AFTER_SECONDS", "60"))
DETECTION_SWEEP_SECONDS = float(os.environ.get("DETECTION_SWEEP_SECONDS", "60"))
CELERY_BEAT_SCHEDULE: dict = {
    "heartbeat": {"task": "airportal.heartbeat", "schedule": WORKER_HEARTBEAT_SECONDS},
    # Re-queues detection batches that a broker outage or a killed worker left unjudged.
    "detection-sweep": {
        "task": "alerts.detection_sweep",
        "schedule": DETECTION_SWEEP_SECONDS,
        "options": {"queue": "default"},
    },
    # Re-queues approved actions / playbook runs lost to a broker outage or a killed worker.
    "investigations-sweep": {"task": "investigations.sweep", "schedule": 60.0, "options": {"queue": "default"}},
    # Notifies actions past their SLA (once each) and re-queues notification deliveries that were lost.
    "notifications-sweep": {
        "task": "investigations.notifications.sweep",
        "schedule": 60.0,
        "options": {"queue": "default"},
    },
    # Events: partitions created ahead (PostgreSQL), then what is past retention purged.
    "events-partitions": {
        "task": "alerts.event_partitions_ensure",
        "schedule": 3600.0,
        "options": {"queue": "default"},
    },
    "events-purge": {"task": "alerts.events_purge", "schedule": 3600.0, "options": {"queue": "default"}},
    # The tenant's verified mail domains, read into the accepted domains (with a Microsoft 365 connection).
    "accepted-domains-refresh": {
        "task": "alerts.accepted_domains_refresh",
        "schedule": 86400.0,
        "options": {"queue": "default"},
    },
    "m365-pull": {
        "task": "alerts.m365_pull",
        "schedule": float(M365_PULL_INTERVAL_SECONDS),
        "options": {"queue": "ingest"},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
