"""gunicorn's access log, without patient data (`logger_class` in config/gunicorn.py)."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

# Address, time, method, path, status, bytes, milliseconds.
FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
# A patient's self-report link: its token is the key to their questionnaire.
# Anywhere in the path (a doubled slash routes the same), with or without the trailing slash.
_TOKEN_PATH = re.compile(r"/r/[^/]+(/|$)")
# A password-reset link: the account's id and a token that sets its password.
_RESET_PATH = re.compile(r"/accounts/reset/[^/]+/[^/]+(/|$)")


def safe_path(path: str) -> str:
    path = _TOKEN_PATH.sub(r"/r/<token>\1", path or "-")
    return _RESET_PATH.sub(r"/accounts/reset/<token>\1", path)


class AccessLogger(Logger):  # type: ignore[misc]  # gunicorn ships no types
    """Only the atoms of FORMAT, and those made safe: the path without its query string (a search
    by name or birth date travels there) and with a self-report token replaced. No referrer (it
    carries the previous page's query), no user agent, no header or environment variable, so a
    changed format cannot print one."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        full = super().atoms(resp, req, environ, request_time)
        kept = {k: full[k] for k in ("h", "t", "m", "s", "b", "B", "M", "T", "D", "L", "p", "H")}
        hidden = dict.fromkeys(("r", "q", "f", "a", "u", "l"), "-")
        return {**kept, **hidden, "U": safe_path(environ.get("PATH_INFO", ""))}


class SafeRequestFilter:
    """On the log handlers: Django's request warnings ("Not Found: /r/<token>/") get the safe
    path, and a refusal (any 4xx: a 403, a 404, a 422) is one line without a traceback; only a
    server error (5xx) keeps its traceback, which is what it is for."""

    def filter(self, record: Any) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        if isinstance(record.args, tuple):
            record.args = tuple(
                safe_path(a) if isinstance(a, str) and a.startswith("/") else a for a in record.args
            )
        return True
