"""PostgreSQL: once `ketacare audit-roles` has run, the app's role can append to the audit trail but
can neither rewrite it nor lift, drop or replace its guards (docs/deployment.md: the two roles)."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from ketacare.audit.checks import audit_tables_owner_check
from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.audit.roles import RoleError, hand_back, secure_audit_tables
from ketacare.audit.selectors import chain_verify
from ketacare.audit.services import Action, EventSpec, audit_record_many

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="roles are PostgreSQL's (SQLite: its triggers)"
    ),
    pytest.mark.django_db(transaction=True),
]

# What an intruder holding the app's database credentials would try.
ATTEMPTS = [
    "DELETE FROM audit_auditevent",
    "UPDATE audit_auditevent SET actor_label = 'someone-else'",
    "TRUNCATE audit_auditevent",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_change",
    "DROP TRIGGER audit_event_no_change ON audit_auditevent",
    "CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$ BEGIN RETURN OLD; END; $$ "
    "LANGUAGE plpgsql",
    "ALTER TABLE audit_auditevent OWNER TO CURRENT_USER",
    "DROP TABLE audit_auditevent",
    "ALTER SCHEMA public OWNER TO CURRENT_USER",
    "UPDATE audit_auditchainhead SET seq = 0",
    "DELETE FROM audit_auditchainhead",
    "DELETE FROM audit_auditlistedpatient",
    "SET ROLE ketacare_audit",
]


@pytest.fixture
def superuser():
    import psycopg

    settings = connection.settings_dict
    admin = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=os.environ.get("KETACARE_PG_SUPERUSER", "postgres"),
        autocommit=True,
    )
    yield admin
    admin.close()


def test_the_app_role_appends_but_cannot_rewrite_or_unguard_the_trail(register, superuser):
    register()
    app_role = connection.settings_dict["USER"]
    connection.close()  # the app's connection holds no lock while the owner changes
    with superuser.cursor() as cursor:
        secure_audit_tables(cursor, app_role=app_role)
    try:
        audit_record_many(
            actor=Actor.command("test"), specs=[EventSpec(Action.VIEW, "patients.patient", "1", 1)]
        )
        for sql in ATTEMPTS:
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
        assert AuditEvent.objects.count() >= 2
        assert chain_verify().intact
        assert audit_tables_owner_check(None) == []
    finally:
        connection.close()
        with superuser.cursor() as cursor:
            hand_back(cursor, app_role=app_role)
    assert [e.id for e in audit_tables_owner_check(None)] == ["ketacare.E023"]  # before the hand-over


def test_audit_roles_needs_a_superuser_and_refuses_a_superuser_app_role(superuser):
    with pytest.raises(CommandError, match="run this as a superuser"):
        call_command("audit_roles", connection.settings_dict["USER"])
    with superuser.cursor() as cursor, pytest.raises(RoleError, match="is a superuser"):
        secure_audit_tables(cursor, app_role=superuser.info.user)
