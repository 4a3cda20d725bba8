from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from ketacare.audit import keys

NO_KEY = (
    "Production (KETACARE_HTTPS on) needs the audit key from outside the database: set "
    "KETACARE_AUDIT_KEY or KETACARE_AUDIT_KEY_FILE (docs/security.md). A key made next to the "
    "database would let whoever can rewrite the database re-sign the audit trail too."
)
TWO_FACTOR_OFF = "Production cannot switch two-factor sign-in off (KETACARE_TWO_FACTOR_REQUIRED)."


def production_problems() -> list[Error]:
    problems = []
    if settings.HTTPS and not settings.TWO_FACTOR_REQUIRED:
        problems.append(Error(TWO_FACTOR_OFF, id="ketacare.E021"))
    if settings.HTTPS and not keys.key_configured():
        problems.append(Error(NO_KEY, id="ketacare.E020"))
        return problems
    try:
        keys.audit_key()
    except ImproperlyConfigured as exc:
        problems.append(Error(str(exc), id="ketacare.E022"))
    return problems


def refuse_unsafe_production() -> None:
    """For the app servers (WSGI and ASGI), which do not run Django's checks: refuse to start in
    production without the audit key, or with two-factor sign-in off, naming the problem."""
    problems = production_problems()
    if problems:
        raise ImproperlyConfigured(" ".join(p.msg for p in problems))


@register(deploy=True)
def audit_tables_owner_check(app_configs: Any, **kwargs: Any) -> list[Error]:
    """PostgreSQL in production: the app's role must not own the audit tables (audit/roles.py)."""
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql":
        return []
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(%s) "
                "AND tableowner = current_user",
                [["audit_auditevent", "audit_auditlistedpatient", "audit_auditchainhead"]],
            )
            owned = cursor.fetchone()[0]
    except DatabaseError:
        return []  # no database yet: migrate first
    if owned:
        return [
            Error(
                "The app's database role owns the audit tables, so it could lift their guards: run "
                "`ketacare audit-roles APP_ROLE` as a database administrator (docs/deployment.md).",
                id="ketacare.E023",
            )
        ]
    return []


@register()
def audit_key_check(app_configs: Any, **kwargs: Any) -> list[Error]:
    """`ketacare check` (and every start of the app server, config/wsgi.py) refuses production
    without an audit key kept outside the database, or with two-factor sign-in off."""
    return production_problems()
