"""Backups a clinic can restore: `ketacare backup` and `ketacare restore`.

SQLite: the online backup API copies the live database page by page into a consistent snapshot
(writers carry on meanwhile). PostgreSQL: pg_dump's custom format, restored by pg_restore in one
transaction. A backup file is created readable by its owner only (0600), in a folder only its
owner can open (0700). After a restore the audit chain is verified and the main tables counted,
so the clinic knows the copy is whole before anyone works on it."""

from __future__ import annotations

import datetime
import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

# The records a clinic would miss first: counted in the backup and again after a restore.
COUNTED = (
    "patients_patient",
    "measures_questionnaireresponse",
    "treatment_sessions_treatmentsession",
    "screening_candidacydecision",
    "audit_auditevent",
)


@dataclass(frozen=True)
class Report:
    path: Path
    bytes: int
    counts: dict[str, int]


def default_path() -> Path:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if connection.vendor == "sqlite" else "dump"
    return Path(settings.VAR_DIR) / "backups" / f"ketacare-{stamp}.{suffix}"


def _private_file(path: Path) -> None:
    """Create `path` empty, readable by its owner only, before a byte of data goes in; refuse to
    overwrite a file already there."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _counts(cursor: sqlite3.Cursor | None = None) -> dict[str, int]:
    if cursor is not None:
        return {t: int(cursor.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in COUNTED}  # noqa: S608
    with connection.cursor() as django_cursor:
        out = {}
        for table in COUNTED:
            django_cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            out[table] = int(django_cursor.fetchone()[0])
        return out


def _pg_env() -> tuple[list[str], dict[str, str]]:
    db = settings.DATABASES["default"]
    args = [f"--dbname={db['NAME']}"]
    if db.get("HOST"):
        args.append(f"--host={db['HOST']}")
    if db.get("PORT"):
        args.append(f"--port={db['PORT']}")
    if db.get("USER"):
        args.append(f"--username={db['USER']}")
    env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.returncode}")


def backup(path: Path | None = None) -> Report:
    """Copy the whole database to `path` (default var/backups/ketacare-<UTC time>.<suffix>)."""
    path = Path(path) if path else default_path()
    _private_file(path)
    try:
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            target = sqlite3.connect(path)
            try:
                connection.connection.backup(target)
                counts = _counts(target.cursor())  # the copy itself, as it will be restored
            finally:
                target.close()
        else:
            counts = _counts()
            args, env = _pg_env()
            _run(
                ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={path}", *args], env
            )
    except BaseException:
        path.unlink(missing_ok=True)  # no half-written backup is left to be trusted later
        raise
    return Report(path, path.stat().st_size, counts)


def restore(path: Path) -> Report:
    """Replace every record of the database with those of the backup at `path`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such backup file")
    connection.close()  # nothing of this process holds the database while it is replaced
    if connection.vendor == "sqlite":
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            # A file that is not a KetaCare database stops here, before anything is replaced.
            tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not set(COUNTED) <= tables:
                raise RuntimeError(f"{path}: not a KetaCare backup")
            target = sqlite3.connect(settings.DATABASES["default"]["NAME"])
            try:
                source.backup(target)
            finally:
                target.close()
        except sqlite3.DatabaseError as exc:
            raise RuntimeError(f"{path}: not a KetaCare backup ({exc})") from None
        finally:
            source.close()
    else:
        args, env = _pg_env()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                *args,
                str(path),
            ],
            env,
        )
    connection.close()
    return Report(path, path.stat().st_size, _counts())
