"""The clinic admin's staff pages (security issue, item 3): make an account, change a role, switch
an account off, unlock a sign-in; each audited with the admin who did it."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from ketacare.accounts.models import User
from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditEvent
from tests.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

NEW = {
    "username": "r.okoro",
    "first_name": "Rita",
    "last_name": "Okoro",
    "email": "r.okoro@clinic.example",
    "role": "nurse",
    "password": "tulip42river-lantern",
    "password_again": "tulip42river-lantern",
}


def _sign_in(username: str, password: str) -> int:
    return (
        Client(REMOTE_ADDR="10.0.0.9")
        .post("/accounts/login/", {"username": username, "password": password})
        .status_code
    )


def test_an_admin_adds_an_account_that_signs_in_and_the_audit_names_the_admin(client_as, clinic_admin):
    client = client_as(clinic_admin)
    assert "Staff accounts" in client.get("/accounts/staff/").content.decode()
    made = client.post("/accounts/staff/new/", NEW)
    user = User.objects.get(username="r.okoro")
    assert made.status_code == 200 and "Account r.okoro made" in made.content.decode()
    code = re.search(r'<p class="one-time-code"><code>([a-z2-7]{8})</code></p>', made.content.decode())
    assert code is not None  # for the admin to hand over: the first sign-in needs it
    assert user.role == Role.NURSE and user.email == "r.okoro@clinic.example"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE, object_id=str(user.pk))
    assert event.actor_id == clinic_admin.pk and event.detail["role"] == "nurse"
    assert _sign_in("r.okoro", NEW["password"]) == 302
    listed = client.get("/accounts/staff/").content.decode()
    assert "r.okoro" in listed and "Rita Okoro" in listed


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"password": "aaaaaaaaaaaa", "password_again": "aaaaaaaaaaaa"},
            "password",
            "repeats the same characters",
        ),
        ({"password_again": "tulip42river-lanterns"}, "password_again", "The two passwords differ."),
        ({"username": "clinicadmin-user"}, "username", "already exists"),
    ],
)
def test_a_refused_account_names_the_field_and_makes_nothing(client_as, clinic_admin, change, field, message):
    before = User.objects.count()
    response = client_as(clinic_admin).post("/accounts/staff/new/", {**NEW, **change})
    assert response.status_code == 422
    form = response.context["form"]
    assert any(message in e for e in form.errors[field]), form.errors
    assert User.objects.count() == before


def test_a_role_change_is_audited_and_the_last_admin_cannot_be_demoted(client_as, clinic_admin, make_user):
    desk = make_user(Role.FRONT_DESK, "desk.promoted")
    client = client_as(clinic_admin)
    assert client.post(f"/accounts/staff/{desk.pk}/role/", {"role": "nurse"}).status_code == 302
    desk.refresh_from_db()
    assert desk.role == Role.NURSE
    event = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE, object_id=str(desk.pk)).latest("seq")
    assert event.actor_id == clinic_admin.pk and event.detail["role_before"] == "front_desk"
    refused = client.post(f"/accounts/staff/{clinic_admin.pk}/role/", {"role": "nurse"})
    assert refused.status_code == 422 and "last active admin" in refused.content.decode()
    clinic_admin.refresh_from_db()
    assert clinic_admin.role == Role.CLINIC_ADMIN


def test_a_switched_off_account_cannot_sign_in_and_its_session_ends(client_as, clinic_admin, make_user):
    nurse = make_user(Role.NURSE, "nurse.leaving")
    nurse_client = Client()
    sign_in(nurse_client, nurse)
    assert nurse_client.get("/patients/").status_code == 200
    admin = client_as(clinic_admin)
    assert admin.post(f"/accounts/staff/{nurse.pk}/switch-off/").status_code == 302
    assert nurse_client.get("/patients/").status_code == 302  # signed out at the next request
    assert _sign_in("nurse.leaving", PASSWORD) == 200  # the sign-in page again: refused
    assert AuditEvent.objects.filter(object_id=str(nurse.pk), detail__active=False).exists()
    own = admin.post(f"/accounts/staff/{clinic_admin.pk}/switch-off/")
    assert own.status_code == 422 and "cannot switch your own account off" in own.content.decode()
    assert admin.post(f"/accounts/staff/{nurse.pk}/switch-on/").status_code == 302
    assert _sign_in("nurse.leaving", PASSWORD) == 302


def test_a_locked_out_account_is_shown_and_the_admin_unlocks_it(client_as, clinic_admin, make_user):
    nurse = make_user(Role.NURSE, "nurse.forgetful")
    for _ in range(5):
        _sign_in("nurse.forgetful", "wrong-password-again")
    assert _sign_in("nurse.forgetful", PASSWORD) == 429
    admin = client_as(clinic_admin)
    assert "locked out" in admin.get("/accounts/staff/").content.decode()
    page = admin.get(f"/accounts/staff/{nurse.pk}/").content.decode()
    assert "Unlock sign-in" in page
    assert admin.post(f"/accounts/staff/{nurse.pk}/unlock/").status_code == 302
    assert _sign_in("nurse.forgetful", PASSWORD) == 302
    unlocked = AuditEvent.objects.get(detail__unlocked=True)
    assert unlocked.actor_id == clinic_admin.pk


def test_staff_pages_are_the_admins_only(client_as, nurse, make_user):
    other = make_user(Role.FRONT_DESK, "desk.target")
    client = client_as(nurse)
    assert client.get("/accounts/staff/").status_code == 403
    assert client.post(f"/accounts/staff/{other.pk}/role/", {"role": "clinic_admin"}).status_code == 403
    other.refresh_from_db()
    assert other.role == Role.FRONT_DESK
