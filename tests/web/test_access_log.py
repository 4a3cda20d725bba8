"""The server's access log names no patient: a search's query string and a self-report link's
token never reach it (security issue, item 5)."""

from __future__ import annotations

import datetime
import logging
from types import SimpleNamespace

from gunicorn.config import Config

from ketacare.config import access_log
from ketacare.config import gunicorn as gunicorn_conf

SENTINEL_NAME = "Zebulon-Quartermaine"
TOKEN = "tok-9f8e7d6c5b4a"


def _line(logger: access_log.AccessLogger, path: str, query: str, referer: str) -> str:
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"{path}?{query}" if query else path,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.1.2.3",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "Mozilla/5.0",
    }
    resp = SimpleNamespace(status="200 OK", sent=512, headers=[("Content-Type", "text/html")])
    req = SimpleNamespace(headers=[("COOKIE", "sessionid=secret-session")])
    atoms = logger.atoms(resp, req, environ, datetime.timedelta(milliseconds=42))
    return gunicorn_conf.access_log_format % atoms


def test_the_access_log_keeps_no_search_query_token_referrer_or_cookie():
    cfg = Config()
    cfg.set("logger_class", gunicorn_conf.logger_class)
    logger = access_log.AccessLogger(cfg)
    search = _line(logger, "/patients/", f"q={SENTINEL_NAME}&dob=1980-04-23", f"/patients/?q={SENTINEL_NAME}")
    assert SENTINEL_NAME not in search and "1980-04-23" not in search
    assert '"GET /patients/" 200 512 42ms' in search and search.startswith("10.1.2.3 ")
    link = _line(logger, f"/r/{TOKEN}/", "", "")
    assert TOKEN not in link and '"GET /r/<token>/"' in link
    for variant in (f"/r/{TOKEN}", f"//r/{TOKEN}/", f"/accounts/reset/MTI/{TOKEN}/"):
        assert TOKEN not in _line(logger, variant, "", ""), variant
    assert "secret-session" not in search + link and "Mozilla" not in search + link
    assert gunicorn_conf.access_log_format == access_log.FORMAT
    logging.getLogger("gunicorn.access").handlers.clear()


def test_django_request_warnings_name_no_token_and_a_refusal_has_no_traceback(client_as, front_desk):
    """Through the configured handler: a 404 on a self-report link and a 403 are each one line."""
    from io import StringIO

    from django.conf import settings

    handler = logging.getLogger().handlers[0]
    assert any(type(f).__name__ == "SafeRequestFilter" for f in handler.filters), settings.LOGGING
    stream = StringIO()
    probe = logging.StreamHandler(stream)
    probe.filters = list(handler.filters)
    logging.getLogger("django.request").addHandler(probe)
    try:
        client = client_as(front_desk)
        assert client.get(f"/r/{TOKEN}/missing/").status_code == 404
        assert client.get("/audit/").status_code == 403
    finally:
        logging.getLogger("django.request").removeHandler(probe)
    text = stream.getvalue()
    assert "Not Found: /r/<token>/missing/" in text and TOKEN not in text
    assert "Forbidden" in text and "Traceback" not in text
