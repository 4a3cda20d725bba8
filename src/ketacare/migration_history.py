"""A database part-way through migrations this release has squashed cannot be migrated by it.

Each app's history up to this release is one squashed migration that replaces the old ones, whose
files are gone: a database that ran all of an app's old migrations is taken as having run the
squashed one, and a new database runs the squashed one. A database that ran only some of them
(migrated on an older release, never brought up to the last one before the squash) has no path
left: Django would stop with errors about apps that "aren't installed". `ketacare migrate` (and
`ketacare check --database default`) stop first with this check, naming what to do.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

UPGRADE_FIRST = (
    "The database ran only part of the {app} migrations that {squashed} replaces (missing: {missing}): "
    "this release cannot continue from there."
)
HINT = (
    "Install the previous release (its last {app} migration is {last}), run `ketacare migrate` with it, "
    "then install this release and run `ketacare migrate` again (docs/deployment.md, Upgrading)."
)


@register(Tags.database)
def squashed_history_complete(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[Error]:
    problems = []
    for alias in databases or ():
        recorder = MigrationRecorder(connections[alias])
        if not recorder.has_table():
            continue
        applied = recorder.applied_migrations()
        on_disk = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
        for (app, name), migration in on_disk.items():
            missing = [old for _, old in migration.replaces if (app, old) not in applied]
            if (app, name) not in applied and 0 < len(missing) < len(migration.replaces):
                message = UPGRADE_FIRST.format(app=app, squashed=name, missing=", ".join(missing))
                hint = HINT.format(app=app, last=migration.replaces[-1][1])
                problems.append(Error(message, hint=hint, id="ketacare.E030"))
    return problems
