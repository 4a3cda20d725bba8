"""Every API address, called by another system with a token of each role and each scope: a read
answers exactly where the role reads the same records in the pages (the access table of
tests/accounts/test_access.py), and a write exactly where the role may make that change and the
token may write; a read-only token is refused every write, whatever its role, and no token makes
a clinician's decision (acknowledging a safety alert, ordering a course)."""

from __future__ import annotations

import pytest
from django.test import Client

from ketacare.accounts.roles import Role
from tests.accounts.test_access import PAGES, _one_of_everything
from tests.conftest import kept_for_the_module

pytestmark = pytest.mark.django_db

READS = sorted(name for name in PAGES if name.startswith("api-") and name != "api-schema")
CLINICAL = {Role.PHYSICIAN, Role.NURSE}
SCHEDULING = CLINICAL | {Role.FRONT_DESK}
# method, path, the roles whose pages make this change. A clinician's decision is never a
# system's, whatever its token (PERSON_ONLY).
PERSON_ONLY = {"acknowledge an alert", "start a plan", "decide on maintenance", "stop a plan"}
WRITES = {
    "register a patient": ("post", "/api/v1/patients/", SCHEDULING),
    "change a patient": ("patch", "/api/v1/patients/{pid}/", SCHEDULING),
    "record a trial": ("post", "/api/v1/trials/", CLINICAL),
    "strike out a trial": ("post", "/api/v1/trials/{tid}/strike-out/", CLINICAL),
    "record a scale": ("post", "/api/v1/responses/", CLINICAL),
    "acknowledge an alert": ("post", "/api/v1/alerts/{aid}/acknowledge/", CLINICAL),
    "start a plan": ("post", "/api/v1/plans/", {Role.PHYSICIAN}),
    "decide on maintenance": ("post", "/api/v1/plans/{plid}/maintenance/", {Role.PHYSICIAN}),
    "stop a plan": ("post", "/api/v1/plans/{plid}/stop/", {Role.PHYSICIAN}),
    "book an appointment": ("post", "/api/v1/appointments/", SCHEDULING),
    "move an appointment": ("post", "/api/v1/appointments/{apid}/reschedule/", SCHEDULING),
    "cancel an appointment": ("post", "/api/v1/appointments/{apid}/cancel/", SCHEDULING),
}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One of everything, and a token for every role in each scope."""
    with kept_for_the_module(django_db_blocker):
        from ketacare.accounts.services import api_token_create
        from ketacare.audit.context import Actor

        ids = _one_of_everything()
        from ketacare.accounts.models import User

        admin = Actor(user=User.objects.get(username="access.admin"))
        tokens = {
            (role, scope): api_token_create(
                actor=admin, system=f"{role.value}-{scope}".replace("_", "-"), role=role, scope=scope
            )[1]
            for role in Role
            for scope in ("read", "read_write")
        }
        yield ids, tokens


@pytest.mark.parametrize("scope", ["read", "read_write"])
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", READS)
def test_a_tokens_reads_follow_its_role(world, name, role, scope):
    ids, tokens = world
    path, allowed = PAGES[name]
    response = Client().get(path.format(**ids), HTTP_AUTHORIZATION=f"Bearer {tokens[role, scope]}")
    if role in allowed:
        assert response.status_code in (200, 405), response.content[:300]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("scope", ["read", "read_write"])
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("what", sorted(WRITES))
def test_a_tokens_writes_follow_its_role_and_its_scope(world, what, role, scope):
    ids, tokens = world
    method, path, allowed = WRITES[what]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens[role, scope]}")
    # An empty body: an allowed write gets as far as checking it (400, naming what is missing).
    response = getattr(client, method)(path.format(**ids), {}, content_type="application/json")
    if scope == "read":
        assert response.status_code == 403
        assert "read only" in response.json()["errors"]["non_field_errors"][0]
    elif what in PERSON_ONLY:
        assert response.status_code == 403
        assert "Only a person" in response.json()["errors"]["non_field_errors"][0]
    elif role in allowed:
        assert response.status_code == 400, response.content[:300]
    else:
        assert response.status_code == 403
