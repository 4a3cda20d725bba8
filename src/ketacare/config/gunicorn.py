"""gunicorn settings: `gunicorn ketacare.config.wsgi --config python:ketacare.config.gunicorn`.

Runs `ketacare check` when the server starts, before any worker: a bad setting (a malformed
KETACARE_OUTCOMES, KETACARE_CHECKLIST or protocol file, a missing secret) stops the start with
its message, rather than surfacing on the first page or save that reads it."""

from __future__ import annotations

import os
import sys
from typing import Any

from ketacare.config.access_log import FORMAT


def on_starting(server: Any) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.config.settings")
    import django
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    django.setup()
    try:
        call_command("check")
    except SystemCheckError as exc:
        print(f"KetaCare will not start: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


# The access log names no patient: no query string, no self-report token (config/access_log.py).
logger_class = "ketacare.config.access_log.AccessLogger"
access_log_format = FORMAT
