"""Nothing a user types reaches the logs, at any level: sentinel passwords, names and PHQ-9
answers sent through failing and succeeding requests never appear in what the configured
handlers write (security issue, item 5)."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.test import Client

from ketacare.accounts.roles import Role
from tests.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

PASSWORD_SENTINEL = "Sentinel-Pass-4471-Orchid"
NAME_SENTINEL = "Quillfeather"
ANSWER_SENTINEL = "answer-sentinel-3093"


@pytest.fixture
def captured():
    """Everything logged at DEBUG by any logger, through the configured handler's filters."""
    root = logging.getLogger()
    configured = root.handlers[0]
    stream = StringIO()
    probe = logging.StreamHandler(stream)
    probe.filters = list(configured.filters)
    probe.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    level = root.level
    root.addHandler(probe)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(probe)
        root.setLevel(level)


def test_no_password_name_or_answer_reaches_the_logs(captured, make_user, register):
    nurse = make_user(Role.NURSE, "nurse.logs")
    # A failed sign-in, a sentinel typed into the username box too, then a locked-out address.
    anonymous = Client()
    anonymous.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD_SENTINEL})
    anonymous.post("/accounts/login/", {"username": PASSWORD_SENTINEL, "password": PASSWORD_SENTINEL})
    client = sign_in(Client(), nurse)
    # A registration refused (422) and one saved, both with the sentinel name.
    refused = client.post("/patients/new/", {"given_name": NAME_SENTINEL, "family_name": NAME_SENTINEL})
    assert refused.status_code == 422
    patient = register(given_name=NAME_SENTINEL, family_name=NAME_SENTINEL)
    client.get("/patients/", {"q": NAME_SENTINEL})
    # A PHQ-9 with a nonsense answer (422), then a real one with a positive suicide item.
    url = f"/patients/{patient.pk}/measures/new/?instrument=phq9"
    bad = {f"item_{i}": ANSWER_SENTINEL for i in range(1, 10)} | {"context": "baseline"}
    assert client.post(url, bad).status_code == 422
    good = {f"item_{i}": "3" for i in range(1, 10)} | {
        "instrument": "phq9",
        "context": "baseline",
        "administered_at": "2026-11-20T10:30",
    }
    assert client.post(url, good).status_code in (200, 302)
    # A password re-entered wrongly at a signature and a change of password with a wrong old one.
    client.post("/accounts/account/password/", {"old_password": PASSWORD_SENTINEL, "new_password1": "x"})
    client.get(f"/patients/{patient.pk}/")
    text = captured.getvalue()
    assert "Unprocessable" in text  # the refusals were logged, as one line each
    for sentinel in (PASSWORD_SENTINEL, NAME_SENTINEL, ANSWER_SENTINEL, PASSWORD):
        assert sentinel not in text, sentinel
    assert "Traceback" not in text
