from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from ketacare.audit.roles import AUDIT_OWNER, RoleError, secure_audit_tables


class Command(BaseCommand):
    help = (
        "PostgreSQL, run as a superuser once after the first migrate: hand the audit tables and their "
        "triggers to a role the app does not run as, leaving the app's role SELECT and INSERT "
        "(docs/deployment.md)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("app_role", help="the role the app server signs in as (DATABASE_URL's user)")
        parser.add_argument("--audit-owner", default=AUDIT_OWNER)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if connection.vendor != "postgresql":
            raise CommandError(
                "audit-roles is for PostgreSQL; SQLite has no roles (its triggers guard the trail)."
            )
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                statements = secure_audit_tables(
                    cursor, app_role=opts["app_role"], audit_owner=opts["audit_owner"]
                )
        except RoleError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        except Exception as exc:  # e.g. not a superuser: "must be owner of table"
            raise CommandError(
                f"Could not hand the audit tables over (run this as a superuser): {exc}"
            ) from exc
        for statement in statements:
            self.stdout.write(statement + ";")
        self.stdout.write(
            f"The audit tables now belong to {opts['audit_owner']}; {opts['app_role']} may read and append."
        )
