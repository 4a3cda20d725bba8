"""PostgreSQL: the audit tables belong to a role the app does not run as.

The app's role (say `ketacare`) owns every other table and runs the migrations. The audit tables
(events, the index of patients shown in lists, the chain head) and their trigger functions are
handed to `ketacare_audit`, a role that cannot sign in and of which the app's role is not a
member. The app's role keeps only what it needs: SELECT and INSERT on the events and the index,
SELECT, INSERT and UPDATE on the chain head (which its trigger lets move forward only). So the
app, or whoever takes it over, can neither delete nor change an audit row, nor disable, drop or
replace the triggers, nor truncate or drop the tables: each needs the owner of the table or of the
schema, and the `public` schema goes to `ketacare_audit` as well (the app keeps USAGE and CREATE
on it, so its own migrations still make and change its own tables). The app's role must not be
a superuser nor have CREATEROLE; `ketacare check --deploy` fails (ketacare.E023) while the
app's role still owns an audit table.

`ketacare audit-roles APP_ROLE` does this; a database administrator (a superuser) runs it once
after the first `ketacare migrate`, and again after any release whose notes say it changed the
audit tables (such a migration must itself run as an administrator). docs/deployment.md.
"""

from __future__ import annotations

from typing import Any

AUDIT_OWNER = "ketacare_audit"
TABLES = ("audit_auditevent", "audit_auditlistedpatient", "audit_auditchainhead")
APPEND_ONLY = ("audit_auditevent", "audit_auditlistedpatient")
FUNCTIONS = ("audit_event_refuse_change()", "audit_head_refuse_back()")


class RoleError(RuntimeError):
    pass


def _ident(cursor: Any, name: str) -> str:
    from psycopg import sql

    return sql.Identifier(name).as_string(cursor.connection)


def secure_audit_tables(cursor: Any, *, app_role: str, audit_owner: str = AUDIT_OWNER) -> list[str]:
    """Run as a superuser on the app's database. Returns the statements run."""
    cursor.execute("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = %s", [app_role])
    row = cursor.fetchone()
    if row is None:
        raise RoleError(f"There is no role {app_role!r} in this database server.")
    if row[0]:
        raise RoleError(
            f"{app_role!r} is a superuser: a superuser can rewrite anything. Run the app as a plain role."
        )
    if row[1]:
        raise RoleError(
            f"{app_role!r} may create roles (CREATEROLE): it could make itself a member of the audit owner."
        )
    app, owner = _ident(cursor, app_role), _ident(cursor, audit_owner)
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [audit_owner])
    exists = cursor.fetchone() is not None
    if exists:
        cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [app_role, audit_owner])
        if cursor.fetchone()[0]:
            raise RoleError(
                f"{app_role!r} is a member of {audit_owner!r}: it could act as the audit tables' owner."
            )
    statements = [] if exists else [f"CREATE ROLE {owner} NOLOGIN"]
    tables = ", ".join(TABLES)
    # The owner of a schema may drop any table in it, and the database's owner owns `public`
    # (pg_database_owner): the schema goes to the audit owner too; the app keeps USAGE and CREATE.
    statements += [f"ALTER SCHEMA public OWNER TO {owner}", f"GRANT USAGE, CREATE ON SCHEMA public TO {app}"]
    statements += [f"ALTER TABLE {t} OWNER TO {owner}" for t in TABLES]
    statements += [f"ALTER FUNCTION {f} OWNER TO {owner}" for f in FUNCTIONS]
    statements += [
        f"REVOKE ALL ON {tables} FROM PUBLIC",
        f"REVOKE ALL ON {tables} FROM {app}",
        f"GRANT SELECT, INSERT ON {', '.join(APPEND_ONLY)} TO {app}",
        f"GRANT SELECT, INSERT, UPDATE ON audit_auditchainhead TO {app}",
    ]
    for table in TABLES:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        if sequence:
            statements.append(f"GRANT USAGE, SELECT ON SEQUENCE {sequence} TO {app}")
    for statement in statements:
        cursor.execute(statement)
    return statements


def hand_back(cursor: Any, *, app_role: str) -> None:
    """Give the audit tables back to the app's role (the test suite, which empties every table
    between tests; never in production)."""
    app = _ident(cursor, app_role)
    cursor.execute("ALTER SCHEMA public OWNER TO pg_database_owner")
    for t in TABLES:
        cursor.execute(f"ALTER TABLE {t} OWNER TO {app}")
    for f in FUNCTIONS:
        cursor.execute(f"ALTER FUNCTION {f} OWNER TO {app}")
