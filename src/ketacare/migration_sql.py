"""The database objects a model cannot express, made by the migrations for the database in use.

The append-only tables (audit trail, controlled-substance ledger, consent, signed decisions) are
guarded by triggers, which SQLite and PostgreSQL spell differently: SQLite has one trigger per
event with its condition in WHEN; PostgreSQL has a PL/pgSQL function and a trigger calling it.
A migration lists each database's objects in a `VendorSQL` operation; each object knows how to
drop itself, so the operation is undone by dropping them in reverse order.

On SQLite a DELETE is refused unless KetaCare's connection function allows it
(`UNLESS_FLUSHING`, audit/guard.py: the test suite's flush alone); PostgreSQL's flush truncates,
which row triggers do not see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import router
from django.db.migrations.operations.base import Operation

UNLESS_FLUSHING = "NOT ketacare_audit_delete_allowed()"


@dataclass(frozen=True)
class SQL:
    create: str
    drop: str


def sqlite_trigger(name: str, table: str, message: str, *, before: str = "UPDATE", when: str = "") -> SQL:
    """A SQLite trigger refusing the statement (when the condition holds) with the message."""
    condition = f" WHEN {when}" if when else ""
    return SQL(
        f"CREATE TRIGGER {name} BEFORE {before} ON {table}{condition}\n"
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
        f"DROP TRIGGER IF EXISTS {name}",
    )


def pg_function(name: str, message: str, *, when: str = "") -> SQL:
    """A PostgreSQL trigger function refusing the statement (when the condition holds)."""
    if when:
        body = f"IF {when} THEN\n    RAISE EXCEPTION '{message}';\n  END IF;\n  RETURN NEW;"
    else:
        body = f"RAISE EXCEPTION '{message}';"
    return SQL(
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$\n"
        f"BEGIN\n  {body}\nEND;\n$$ LANGUAGE plpgsql",
        f"DROP FUNCTION IF EXISTS {name}()",
    )


def pg_trigger(name: str, table: str, function: str, *, before: str = "UPDATE") -> SQL:
    """A PostgreSQL row trigger calling the function."""
    return SQL(
        f"CREATE TRIGGER {name} BEFORE {before} ON {table}\nFOR EACH ROW EXECUTE FUNCTION {function}()",
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
    )


def index(name: str, table: str, columns: Sequence[str]) -> SQL:
    """An index made on one database only (the other does without it)."""
    quoted = ", ".join(f'"{column}"' for column in columns)
    return SQL(f'CREATE INDEX "{name}" ON "{table}" ({quoted})', f'DROP INDEX IF EXISTS "{name}"')


class VendorSQL(Operation):
    """Make each object listed for the database in use; undo by dropping them in reverse order.
    A database not listed gets none (it has no triggers to guard it)."""

    reduces_to_sql = False
    reversible = True

    def __init__(self, *, sqlite: Sequence[SQL] = (), postgresql: Sequence[SQL] = ()) -> None:
        self.objects = {"sqlite": tuple(sqlite), "postgresql": tuple(postgresql)}

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        for sql in self._objects(app_label, schema_editor):
            schema_editor.execute(sql.create)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        for sql in reversed(self._objects(app_label, schema_editor)):
            schema_editor.execute(sql.drop)

    def _objects(self, app_label: str, schema_editor: Any) -> tuple[SQL, ...]:
        connection = schema_editor.connection
        if not router.allow_migrate(connection.alias, app_label):
            return ()
        return self.objects.get(connection.vendor, ())

    def describe(self) -> str:
        return "Triggers, functions and indexes for SQLite and PostgreSQL"
