"""Fast bulk inserts for loaders (the demo cohort, imports, the audit trail).

Django's bulk_create prepares every value through the query compiler; for hundreds of thousands of
rows that costs more than the database work. This inserts plain tuples with executemany, preparing
only the values whose database form differs from the Python one (decimals, datetimes, JSON).
Rows are validated by the caller before they get here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence, Sized
from datetime import UTC
from typing import Any, cast

from django.db import connection, models

_PREPARED = (models.DecimalField, models.DateTimeField, models.JSONField)
COPY_FROM_ROWS = 50


def _preparer(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    # JSON and aware datetimes are adapted directly, exactly as Django's backends would (SQLite:
    # JSON text and naive-UTC "YYYY-MM-DD HH:MM:SS[.ffffff]"; PostgreSQL: psycopg's Jsonb and
    # the aware datetime), because Django's per-value path dominates the cost of a bulk load.
    if isinstance(field, models.JSONField):
        if connection.vendor == "postgresql":
            from psycopg.types.json import Jsonb

            return lambda value: None if value is None else Jsonb(value)
        return lambda value: None if value is None else json.dumps(value)
    if isinstance(field, models.DateTimeField) and connection.vendor == "sqlite":
        return lambda value: None if value is None else str(value.astimezone(UTC).replace(tzinfo=None))
    if isinstance(field, _PREPARED):
        return lambda value: None if value is None else field.get_db_prep_save(value, connection)
    return None


def bulk_insert(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch_size: int = 5000,
    prepared: bool = False,
) -> int:
    """Insert `rows` (tuples in the order of `fields`) into `model`'s table; returns the count.
    `prepared`: the values are in their database form already (`db_datetimes`), none is adapted."""
    meta = model._meta
    columns = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in fields]
    quote = connection.ops.quote_name
    # Table and column names come from the model's own metadata and are quoted; values are parameters.
    into = "INSERT INTO {} ({})".format(  # noqa: S608
        quote(meta.db_table), ", ".join(quote(str(f.column)) for f in columns)
    )
    values = "({})".format(", ".join(["%s"] * len(columns)))
    sql = f"{into} VALUES {values}"
    preparers = [None if prepared else _preparer(f) for f in columns]
    needs_prep = any(preparers)
    if connection.vendor == "postgresql":
        # COPY costs a few round trips to set up: worth it for a load, not for a handful of rows
        # (the patients an audited page lists), which go in one statement: one round trip, where
        # executemany takes one a row.
        if not (isinstance(rows, Sized) and len(rows) < COPY_FROM_ROWS):
            return _copy(
                meta.db_table, [str(f.column) for f in columns], rows, preparers if needs_prep else None
            )
        few = [[p(v) if p else v for p, v in zip(preparers, row, strict=True)] for row in rows]
        if few:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"{into} VALUES {', '.join([values] * len(few))}", [v for row in few for v in row]
                )
        return len(few)
    count = 0
    batch: list[Sequence[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            if needs_prep:
                row = [p(v) if p else v for p, v in zip(preparers, row, strict=True)]
            batch.append(row)
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def db_datetimes(seconds: Any) -> list[str | None]:
    """Epoch seconds (a float numpy array, NaN for none) as the database form of an aware
    datetime column, built in one vectorised pass instead of a Python datetime per value:
    SQLite's naive UTC text ("2026-07-14 09:48:49.178747"), PostgreSQL's ISO text with its offset."""
    import numpy as np

    missing = np.isnan(seconds)
    micros = np.where(missing, 0, np.round(seconds * 1e6)).astype(np.int64).astype("datetime64[us]")
    text = np.strings.replace(np.datetime_as_string(micros, unit="us"), "T", " ")
    if connection.vendor == "postgresql":
        text = np.strings.add(text, "+00:00")
    values = text.astype(object)
    values[missing] = None
    return cast("list[str | None]", values.tolist())


def _copy(
    table: str,
    columns: list[str],
    rows: Iterable[Sequence[Any]],
    preparers: list[Callable[[Any], Any] | None] | None,
) -> int:
    """PostgreSQL's COPY, the fastest way to load rows, through psycopg's adapters."""
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    count = 0
    connection.ensure_connection()
    with connection.cursor() as wrapper, wrapper.cursor.copy(statement) as copy:
        for row in rows:
            if preparers:
                row = [p(v) if p else v for p, v in zip(preparers, row, strict=True)]
            copy.write_row(row)
            count += 1
    return count
