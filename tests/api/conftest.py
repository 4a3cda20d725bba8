from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from ketacare.accounts.models import ApiToken, User
from ketacare.accounts.roles import Role
from ketacare.accounts.services import api_token_create
from ketacare.audit.context import Actor


@pytest.fixture
def admin_actor(clinic_admin: User) -> Actor:
    return Actor(user=clinic_admin, ip="127.0.0.1", user_agent="pytest")


@pytest.fixture
def make_token(admin_actor: Actor) -> Callable[..., tuple[ApiToken, str]]:
    """A system's token, as the clinic admin makes it: (the token, its secret)."""
    made: list[str] = []

    def make(role: Role = Role.NURSE, scope: str = "read", system: str | None = None, **kw: Any) -> Any:
        name = system or f"system-{len(made) + 1}"
        made.append(name)
        return api_token_create(actor=admin_actor, system=name, role=role, scope=scope, **kw)

    return make


@pytest.fixture
def system_client(make_token: Callable[..., tuple[ApiToken, str]]) -> Callable[..., Client]:
    """A client that calls the API as another system would: its token on every request, no
    session, no CSRF token."""

    def make(role: Role = Role.NURSE, scope: str = "read", **kw: Any) -> Client:
        _, secret = make_token(role=role, scope=scope, **kw)
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", enforce_csrf_checks=True)

    return make
