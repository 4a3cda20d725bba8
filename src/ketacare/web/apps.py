import os
from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _private_database_file(sender: Any, connection: Any, **kwargs: Any) -> None:
    """An SQLite database holds every patient's record: its files are readable and writable by
    their owner only (0600), however the process's umask would have made them."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        return
    for path in (name, f"{name}-wal", f"{name}-shm"):
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            continue


class WebConfig(AppConfig):
    name = "ketacare.web"
    label = "web"
    verbose_name = "Web"

    def ready(self) -> None:
        connection_created.connect(_private_database_file, dispatch_uid="ketacare-private-db-file")
