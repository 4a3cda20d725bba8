"""KetaCare settings: one module, driven by the environment.

Every setting that differs between a laptop demo, CI and a clinic's production server is read from
an environment variable. Secrets never come from the repository: without KETACARE_SECRET_KEY a
random key is generated once and kept under the var/ directory (demo and development only).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


BASE_DIR = Path(__file__).resolve().parents[3]
VAR_DIR = Path(os.environ.get("KETACARE_VAR_DIR", BASE_DIR / "var"))
# The database, the secret key, backups and caches live here: only its owner may open it.
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


def _secret_key() -> str:
    key = os.environ.get("KETACARE_SECRET_KEY")
    if key:
        return key
    from ketacare.keyfiles import read_or_create

    return read_or_create(VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(50))


SECRET_KEY = _secret_key()
DEBUG = env_bool("KETACARE_DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("KETACARE_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
# Behind TLS in production; the local demo serves plain HTTP on loopback.
HTTPS = env_bool("KETACARE_HTTPS", True)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "ketacare.accounts",
    "ketacare.audit",
    "ketacare.patients",
    "ketacare.measures",
    "ketacare.screening",
    "ketacare.treatment",
    "ketacare.sessions",
    "ketacare.ledger",
    "ketacare.outcomes",
    "ketacare.interop",
    "ketacare.portal",
    "ketacare.ui",
    "ketacare.web",
    "ketacare.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ketacare.web.middleware.NoStoreMiddleware",
    # Content-Security-Policy on every response (config/csp.py): no inline script anywhere.
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Deny by default: every view needs a signed-in user unless it is marked @login_not_required.
    "ketacare.accounts.middleware.LoginRequired",
    # Two-factor sign-in: request.user.is_verified() once a TOTP or recovery code was accepted;
    # until then a staff member reaches only the two-factor pages (accounts/middleware.py).
    "django_otp.middleware.OTPMiddleware",
    "ketacare.accounts.middleware.TwoFactorRequiredMiddleware",
    "ketacare.accounts.middleware.IdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a sign-in refused for lockout into the lockout page (429).
    "axes.middleware.AxesMiddleware",
]

# The Content-Security-Policy lives in its own module (config/csp.py).
from ketacare.config.csp import CONTENT_SECURITY_POLICY  # noqa: E402,F401

ROOT_URLCONF = "ketacare.config.urls"
WSGI_APPLICATION = "ketacare.config.wsgi.application"

# Form widgets are drawn with Jinja2 (Django's own widget templates, in their Jinja2 form): the
# chair-side session page draws a few dozen widgets per request, and the Django template engine
# took twice as long for the same HTML.
FORM_RENDERER = "django.forms.renderers.Jinja2"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ketacare.web.context_processors.navigation",
            ],
        },
    },
]


def _databases() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'ketacare.sqlite3'}"
    max_age = env_int("KETACARE_DB_CONN_MAX_AGE", 60)
    db: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=max_age))
    if db["ENGINE"] == "django.db.backends.sqlite3":
        Path(db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # WAL, a busy timeout and IMMEDIATE transactions let several gunicorn workers write
        # without "database is locked" (Django 5.1+ OPTIONS).
        db["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        # Tests use a file too (not :memory:), so concurrent writers behave as in production.
        db["TEST"] = {"NAME": str(Path(db["NAME"]).with_name("test_" + Path(db["NAME"]).name))}
    else:
        db["CONN_HEALTH_CHECKS"] = True
    return {"default": db}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    # Argon2id above OWASP's minimum (accounts/hashers.py): checking a password takes about 140 ms.
    "ketacare.accounts.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "ketacare.accounts.validators.RepetitiveOrSequentialValidator"},
]
LOGIN_URL = "accounts:login"
# Two-factor sign-in (TOTP, django-otp) for every staff account before any patient data. Only a
# development set-up may switch it off; `ketacare check --deploy` refuses that in production.
TWO_FACTOR_REQUIRED = env_bool("KETACARE_TWO_FACTOR_REQUIRED", True)
# The issuer an authenticator app shows beside the account.
OTP_TOTP_ISSUER = os.environ.get("KETACARE_CLINIC_NAME", "KetaCare")
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Idle log-off: the session expires this many minutes after the user's last activity (a shared
# workstation at the front desk must not stay signed in); IdleTimeoutMiddleware renews it. The
# cookie ends with the browser (no expiry of its own).
IDLE_TIMEOUT_MINUTES = env_int("KETACARE_IDLE_TIMEOUT_MINUTES", 15)
SESSION_COOKIE_AGE = IDLE_TIMEOUT_MINUTES * 60
# Whatever the activity, a session ends this many hours after sign-in (a shift, not a week).
SESSION_MAX_HOURS = env_int("KETACARE_SESSION_MAX_HOURS", 12)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("KETACARE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
# A clinic's whole domain is served over HTTPS only (browsers never try plain HTTP on a
# subdomain, and may preload it); a clinic that cannot promise that turns these off.
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and env_bool("KETACARE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = HTTPS and env_bool("KETACARE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("KETACARE_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("KETACARE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("KETACARE_STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if env_bool("KETACARE_PLAIN_STATIC", False)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

REST_FRAMEWORK = {
    # Other systems send a token the clinic admin made (accounts/tokens.py); staff use their
    # signed-in session (password and second factor). The token scheme comes first, so a call
    # with neither is answered 401 with the scheme named.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ketacare.accounts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["ketacare.accounts.permissions.RolePermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "ketacare.ui.api.Cursor",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "ketacare.ui.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "KetaCare API",
    "DESCRIPTION": "REST API of KetaCare, the clinical platform for ketamine therapy clinics.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "DiagnosisCodeEnum": "ketacare.patients.api.DIAGNOSIS_CODES",
        "AppointmentKindEnum": "ketacare.treatment.models.Appointment.Kind",
        "PlanPhaseEnum": "ketacare.treatment.models.TreatmentPlan.Phase",
        "AdverseEventKindEnum": "ketacare.sessions.models.AdverseEvent.Kind",
        "VitalSignPhaseEnum": "ketacare.sessions.models.VitalSign.Phase",
    },
}

# Patient data never goes into logs: only warnings from Django itself, to stderr.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No patient data in the logs: no self-report token in a request warning, no traceback for a
    # refusal (config/access_log.py; the access log is gunicorn's, made safe the same way).
    "filters": {"safe_requests": {"()": "ketacare.config.access_log.SafeRequestFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["safe_requests"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("KETACARE_LOG_LEVEL", "WARNING")},
}

# Permissions are cached per user between requests and forgotten when a role changes.
# django-axes comes first: a locked-out account or address is refused before its password is
# hashed (an Argon2 hash per guess is what slowed every page under a guessing attack).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "ketacare.accounts.backends.RolePermissionBackend",
]

# Sign-in lockout (HIPAA 164.308(a)(5)(ii)(C) log-in monitoring; NIST SP 800-63B 5.2.2 rate
# limiting: no more than 100 consecutive failures). Clinic settings with these defaults: after
# KETACARE_SIGNIN_FAILURE_LIMIT failed attempts (5) for one username, or
# KETACARE_SIGNIN_ADDRESS_FAILURE_LIMIT (20) from one address, that username or address is
# refused for KETACARE_SIGNIN_LOCKOUT_MINUTES (15), or until a clinic admin unlocks it (the staff
# page, or `ketacare signin-unlock`). Password re-entries at the chair (verification, signing)
# count too.
AXES_FAILURE_LIMIT = env_int("KETACARE_SIGNIN_FAILURE_LIMIT", 5)
# An address needs more (accounts/lockout.py): a clinic's workstations often share one address.
SIGNIN_ADDRESS_FAILURE_LIMIT = env_int("KETACARE_SIGNIN_ADDRESS_FAILURE_LIMIT", 20)
AXES_HANDLER = "ketacare.accounts.lockout.LockoutHandler"
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("KETACARE_SIGNIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own
# Failed attempts clear only once the second factor is in (accounts/twofactor.py): a password
# alone must not wipe the count of wrong codes.
AXES_RESET_ON_SUCCESS = not TWO_FACTOR_REQUIRED
AXES_LOCKOUT_CALLABLE = "ketacare.accounts.signin.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # sign-ins are in the audit trail already
# The address a request came from, for the lockout and the audit trail alike: the connection's,
# or behind one of these trusted proxies the client's as the proxy forwarded it (audit/context.py).
# A client elsewhere cannot move to a fresh address by sending an X-Forwarded-For header.
TRUSTED_PROXIES = [
    ipaddress.ip_network(p.strip(), strict=False)
    for p in os.environ.get("KETACARE_TRUSTED_PROXIES", "").split(",")
    if p.strip()
]
AXES_CLIENT_IP_CALLABLE = "ketacare.audit.context.client_ip"
AXES_VERBOSE = False

# A cache for derived, rebuildable output (rendered plots), keyed by a fingerprint of the data it
# shows: a stale entry can never be served. Files under var/ by default; any Django cache backend
# (e.g. a shared one across app servers) can be named instead.
CACHES = {
    "default": {
        "BACKEND": os.environ.get(
            "KETACARE_CACHE_BACKEND", "django.core.cache.backends.filebased.FileBasedCache"
        ),
        "LOCATION": os.environ.get("KETACARE_CACHE_LOCATION", str(VAR_DIR / "cache")),
        "TIMEOUT": 7 * 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": 20000},
    }
}

PATIENTS_PER_PAGE = 25

# Patient self-report links: how long a link stays valid (hours), and what a patient who answers a
# suicide item positively is shown at once. US default: the 988 Suicide & Crisis Lifeline.
# A clinic licensed to use the full wording of EPDS, QIDS-SR16, MADRS, CADSS or the C-SSRS
# points this at its wording file (format: measures/wording.py).
LICENSED_WORDING_FILE = os.environ.get("KETACARE_LICENSED_WORDING") or None
SELF_REPORT_LINK_HOURS = env_int("KETACARE_SELF_REPORT_LINK_HOURS", 72)
# Reminders and follow-up (`ketacare send-due`, docs/portal.md): hours before an appointment
# each reminder goes, the local hour of the day-before preparation and the day-after check-in,
# and the text-message backend (console: printed; Twilio: its Messages API).
REMINDER_HOURS = tuple(
    int(h) for h in os.environ.get("KETACARE_REMINDER_HOURS", "48,24").split(",") if h.strip()
)
PREPARATION_HOUR = env_int("KETACARE_PREPARATION_HOUR", 17)
CHECK_IN_HOUR = env_int("KETACARE_CHECK_IN_HOUR", 10)
SMS_BACKEND = os.environ.get("KETACARE_SMS_BACKEND", "ketacare.portal.sms.ConsoleBackend")
# The scale a "questionnaire due" message links to, the day after each treatment and the day
# before each booster (a patient-rated scale's code).
SCALES_DUE = os.environ.get("KETACARE_SCALES_DUE", "phq9")
TWILIO_SID = os.environ.get("KETACARE_TWILIO_SID", "")
TWILIO_TOKEN = os.environ.get("KETACARE_TWILIO_TOKEN", "")
TWILIO_FROM = os.environ.get("KETACARE_TWILIO_FROM", "")
SITE_URL = os.environ.get("KETACARE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The public "talk to a doctor" form: forms read per address per hour (more are refused, 429).
ENQUIRIES_PER_HOUR = env_int("KETACARE_ENQUIRIES_PER_HOUR", 10)
CRISIS_TEXT = os.environ.get(
    "KETACARE_CRISIS_TEXT",
    "If you are thinking about suicide or about harming yourself, please call or text 988 (the Suicide "
    "& Crisis Lifeline) now, or call 911 if you are in immediate danger. Your care team has been alerted "
    "and will contact you.",
)

# A clinic's own minimum adequate antidepressant doses and contraindication classes (format:
# screening/rules.py); without it, the published defaults in clinical/ apply.
SCREENING_RULES_FILE = os.environ.get("KETACARE_SCREENING_RULES") or None
# Clinic settings for the treatment protocols (doses, limits, schedules): docs/protocols.md.
PROTOCOLS_FILE = os.environ.get("KETACARE_PROTOCOLS") or None
# The clinic's pre-dose checklist table (which answers stop the dose and which warn), JSON.
CHECKLIST_FILE = os.environ.get("KETACARE_CHECKLIST") or None
# The clinic's outcome settings (time points, relapse rule) as JSON: docs/outcomes.md.
OUTCOME_RULES = os.environ.get("KETACARE_OUTCOMES") or None

# The audit key (audit/keys.py): keys the audit chain, its anchors and the signatures of decisions
# and sessions. Kept outside the database; required in production. docs/security.md.
AUDIT_KEY = os.environ.get("KETACARE_AUDIT_KEY", "")
AUDIT_KEY_FILE = os.environ.get("KETACARE_AUDIT_KEY_FILE", "")
# `ketacare audit-anchor` appends the chain's head here; keep it off the database's disk (or ship
# it elsewhere): truncating the trail and moving its head back is caught against these lines.
AUDIT_ANCHOR_FILE = Path(os.environ.get("KETACARE_AUDIT_ANCHOR_FILE", VAR_DIR / "audit-anchors.log"))
# In production `audit-verify` fails when the newest anchor is older than this (the timer stopped).
AUDIT_ANCHOR_MAX_AGE_HOURS = env_int("KETACARE_AUDIT_ANCHOR_MAX_AGE_HOURS", 24)

# E-mail (password reset links). The demo and development print mails to the console; a clinic
# names its SMTP server with these variables (Django's mail backends).
EMAIL_BACKEND = os.environ.get("KETACARE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("KETACARE_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("KETACARE_EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("KETACARE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("KETACARE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("KETACARE_EMAIL_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("KETACARE_EMAIL_FROM", "KetaCare <no-reply@localhost>")
# A password-reset link works once, for this long.
PASSWORD_RESET_TIMEOUT = env_int("KETACARE_PASSWORD_RESET_MINUTES", 60) * 60

# The clinic as its letters name it.
CLINIC_NAME = os.environ.get("KETACARE_CLINIC_NAME", "KetaCare Clinic")
CLINIC_ADDRESS = os.environ.get("KETACARE_CLINIC_ADDRESS", "")
CLINIC_PHONE = os.environ.get("KETACARE_CLINIC_PHONE", "")
