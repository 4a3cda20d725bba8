"""SQLite's side of the append-only audit tables.

The triggers (the audit app's migration) refuse DELETE on the audit tables unless the SQL function
`ketacare_audit_delete_allowed()` answers 1. KetaCare registers it on each of its own connections
answering 0; a connection without it (the sqlite3 shell, another program) cannot delete at all,
since the trigger then fails. Only the test suite's flush between tests, which empties every
table, lifts it (tests/conftest.py), for the length of the flush. PostgreSQL needs none of this:
its trigger refuses DELETE and a flush there truncates (docs/security.md: the two roles).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_allowed = False


def _delete_allowed() -> int:
    return 1 if _allowed else 0


def register(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created: give each SQLite connection the function the triggers ask."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("ketacare_audit_delete_allowed", 0, _delete_allowed)


@contextmanager
def deletions_allowed() -> Iterator[None]:
    """For the test suite's flush only."""
    global _allowed
    _allowed = True
    try:
        yield
    finally:
        _allowed = False
