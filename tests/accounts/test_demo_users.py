"""`ketacare demo-users` puts the published demo password only on a demo database."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ketacare.accounts.models import DemoDatabase, User
from ketacare.accounts.roles import Role

pytestmark = pytest.mark.django_db


def test_an_empty_database_becomes_a_demo_one_and_gets_the_demo_accounts():
    call_command("demo_users", stdout=StringIO())
    assert DemoDatabase.objects.exists()
    assert User.objects.get(username="nurse").check_password("ketacare-demo")
    call_command("demo_users", stdout=StringIO())  # again, as `make demo` does on every start
    assert User.objects.filter(username__in=["physician", "nurse", "frontdesk", "admin"]).count() == 4


def test_a_clinic_database_is_refused_and_left_as_it_was(make_user, register):
    real = make_user(Role.NURSE, "nurse")  # a real account that happens to share a demo name
    register()
    with pytest.raises(CommandError, match="was not set up as a demo") as refused:
        call_command("demo_users", stdout=StringIO())
    assert refused.value.returncode == 2
    real.refresh_from_db()
    assert not real.check_password("ketacare-demo")
    assert not User.objects.filter(username="admin").exists()
    assert not DemoDatabase.objects.exists()


def test_demo_code_prints_the_authenticator_code_on_a_demo_database_only(make_user, client):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    call_command("demo_users", stdout=StringIO())
    nurse = User.objects.get(username="nurse")
    with pytest.raises(CommandError, match="no authenticator"):
        call_command("demo_code", "nurse", stdout=StringIO())
    client.post("/accounts/login/", {"username": "nurse", "password": "ketacare-demo"})
    client.get("/accounts/two-factor/setup/")  # the set-up starts: a device waits for its first code
    out = StringIO()
    call_command("demo_code", "nurse", stdout=out)
    done = client.post("/accounts/two-factor/setup/", {"code": out.getvalue().strip()})
    assert done.status_code == 200 and TOTPDevice.objects.get(user=nurse).confirmed
    DemoDatabase.objects.all().delete()  # a clinic's database
    with pytest.raises(CommandError, match="not a demo database") as refused:
        call_command("demo_code", "nurse", stdout=StringIO())
    assert refused.value.returncode == 2


def test_a_database_holding_patients_but_no_accounts_is_refused():
    # A clinic's history imported before any account was made: its patients are on the audit trail.
    from ketacare.audit.context import Actor
    from ketacare.patients.services import patient_register
    from tests.conftest import patient_details

    patient_register(actor=Actor(user=None, system="history import"), details=patient_details())
    assert not User.objects.exists()
    with pytest.raises(CommandError, match="was not set up as a demo"):
        call_command("demo_users", stdout=StringIO())
    assert not User.objects.exists() and not DemoDatabase.objects.exists()
