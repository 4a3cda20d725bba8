"""Making an account and changing a role are in the audit trail, with who did it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from ketacare.accounts.roles import Role
from ketacare.accounts.services import user_set_role
from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_an_account_made_at_the_command_line_is_audited(monkeypatch):
    from ketacare.accounts.management.commands import user_create

    monkeypatch.setattr(user_create.getpass, "getpass", lambda prompt="": "tulip42river-lantern")
    call_command("user_create", "new.nurse", "--role", "nurse", stdout=StringIO())
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE, object_type="accounts.user")
    assert event.actor_label == "system:user-create"
    assert event.detail == {"username": "new.nurse", "role": "nurse"}


def test_a_role_change_is_audited_with_the_admin_and_the_role_before(make_user, clinic_admin):
    user = make_user(Role.FRONT_DESK, "desk.moves")
    user_set_role(user=user, role=Role.NURSE, actor=Actor(user=clinic_admin, ip="10.0.0.5"))
    event = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE, object_id=str(user.pk)).get()
    assert event.actor_id == clinic_admin.pk and event.ip == "10.0.0.5"
    assert event.detail == {"username": "desk.moves", "role": "nurse", "role_before": "front_desk"}
