"""The API against its own OpenAPI schema (drf-spectacular), fuzzed with schemathesis: whatever a
signed-in member of staff sends, valid or not, the API never answers with a server error, and its
answers keep to the schema in every respect that it documents correctly today.

The requests go through the whole WSGI stack in-process (every middleware, CSRF included), with a
session that passed both sign-in factors (tests.conftest.sign_in), inside the test's transaction.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis import checks

from ketacare.accounts.models import User
from ketacare.patients.models import Patient
from tests.conftest import sign_in

CHECKS = [
    checks.not_a_server_error,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.missing_required_header,
    checks.allow_header_conformance,
    checks.status_code_conformance,
    checks.response_schema_conformance,
]
# Left out, each for what it finds today:
# - negative_data_rejection: DRF turns a number sent for a text field into text ({"city": 1} is
#   saved as "1") and takes a number for a decimal the schema gives as a string; a stricter
#   serializer would refuse both (found by this test; an open follow-up).
# - positive_data_acceptance: the search accepts a name, an MRN or a date of birth, not any
#   string (?q=$ is a 400 by design, with its reason; the schema documents the 400).
# - unsupported_method: TRACE, PUT or DELETE answer 403 rather than 405, since RolePermission
#   refuses any method a view does not list before DRF looks for it (docs/api.md: deny by default).
# - ignored_auth: the session scheme is taken out of the schema (_without_session_scheme); the
#   refusal without a session is pinned in tests/patients/test_api.py.


def _in_test_transaction(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Django's WSGI handler as its own test client runs it: without closing the database
    connection at the start and end of the request, which would end the test's transaction.
    A handler per request, so that it reads the settings of the test at hand."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _without_session_scheme(raw: dict[str, Any]) -> dict[str, Any]:
    """The schema without its session-cookie security scheme: every call carries the test's real
    session, so schemathesis should neither generate that cookie nor leave it out."""
    raw = json.loads(json.dumps(raw))
    raw.get("components", {}).pop("securitySchemes", None)
    raw.pop("security", None)
    for operations in raw["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return raw


# The schema /api/schema/ serves, built at collection (no database needed): one test per
# operation, each in its own transaction.
schema = schemathesis.openapi.from_dict(
    _without_session_scheme(SchemaGenerator().get_schema(request=None, public=True))
)
schema.app = _in_test_transaction


@pytest.fixture
def staff_session(client: Client, physician: User, settings: Any) -> dict[str, dict[str, str]]:
    """A physician's session after password and code, and a CSRF token for the writes."""
    settings.SECURE_SSL_REDIRECT = False  # plain HTTP in-process, whatever KETACARE_HTTPS says
    sign_in(client, physician)
    request = HttpRequest()
    token = get_token(request)
    return {
        "cookies": {
            settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value,
            settings.CSRF_COOKIE_NAME: request.META["CSRF_COOKIE"],
        },
        "headers": {"X-CSRFToken": token},
    }


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_with_a_server_error_and_keeps_to_its_schema(
    case: Any, staff_session: dict[str, dict[str, str]], patient: Patient
) -> None:
    # A generated id almost never names a patient, which would leave reading and changing one
    # unfuzzed: three ids in four become a registered patient's, the rest must answer 404.
    path = case.path_parameters or {}
    if "id" in path and zlib.crc32(str(path["id"]).encode()) % 4:
        case.path_parameters = {**path, "id": str(patient.pk)}
    case.call_and_validate(cookies=staff_session["cookies"], headers=staff_session["headers"], checks=CHECKS)
