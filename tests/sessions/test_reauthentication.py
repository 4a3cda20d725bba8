"""The one throttled re-entry of a password at the chair (security issue, item 2): a second
clinician verifying a dose, a clinician signing. Every failure reads the same, counts towards the
sign-in lockout and stays in the audit trail though the action is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from ketacare.accounts.roles import Role
from ketacare.accounts.signin import REAUTH_FAILED, SIGN_FAILED
from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.sessions import services
from tests.treatment_helpers import PASSWORD, check_in, ready_to_start, run_to_discharge

LIMIT = 5  # KETACARE_SIGNIN_FAILURE_LIMIT's default


def _failures() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).order_by("seq"))


def _sign_in(username: str, password: str):
    client = Client(REMOTE_ADDR="10.0.0.7")
    return client.post("/accounts/login/", {"username": username, "password": password})


@pytest.fixture
def awaiting_verification(doctor, nurse_actor, plan):
    """A session whose dose (0.8 mg/kg) waits for a second clinician's verification."""
    session = check_in(nurse_actor, plan)
    ready_to_start(doctor, nurse_actor, session, dose_mg_per_kg=Decimal("0.8"))
    return session


@pytest.mark.django_db(transaction=True)
def test_every_failed_verification_reads_the_same_and_stays_audited(
    awaiting_verification, nurse, nurse_actor, make_user
):
    desk = make_user(Role.FRONT_DESK, "desk.oracle")
    switched_off = make_user(Role.NURSE, "nurse.gone")
    switched_off.is_active = False
    switched_off.save()
    attempts = [
        (nurse.username, "wrong"),  # a wrong password
        (desk.username, PASSWORD),  # the right password of an account that cannot verify
        (switched_off.username, PASSWORD),  # a switched-off account
        ("nobody.here", PASSWORD),  # no such account
    ]
    for username, password in attempts:
        with pytest.raises(ValidationError) as refused:
            services.dose_verify(
                actor=nurse_actor, session=awaiting_verification, username=username, password=password
            )
        assert refused.value.message_dict == {"password": [REAUTH_FAILED]}
    # Each refusal committed its own audit row, though the verification was refused.
    rows = _failures()
    assert len(rows) == len(attempts)
    assert {r.detail.get("purpose") for r in rows} == {"dose verification"}
    assert rows[1].detail["reason"] == "not allowed" and rows[1].object_id == str(desk.pk)
    assert rows[3].detail.get("unknown_account") is True


@pytest.mark.django_db
def test_wrong_passwords_at_the_chair_lock_the_account_out_of_sign_in_too(
    awaiting_verification, nurse, nurse_actor
):
    for _ in range(LIMIT):
        with pytest.raises(ValidationError):
            services.dose_verify(
                actor=nurse_actor, session=awaiting_verification, username=nurse.username, password="guess"
            )
    # Locked: the right password no longer verifies, and the sign-in page refuses it too.
    with pytest.raises(ValidationError) as refused:
        services.dose_verify(
            actor=nurse_actor, session=awaiting_verification, username=nurse.username, password=PASSWORD
        )
    assert refused.value.message_dict == {"password": [REAUTH_FAILED]}
    page = _sign_in(nurse.username, PASSWORD)
    assert page.status_code == 429


@pytest.mark.django_db
def test_the_ordering_clinician_is_refused_before_any_password_is_checked(awaiting_verification, doctor):
    """Typing the orderer's username answers "a second clinician" whatever the password: it
    never tells whether the orderer's password is right."""
    for password in (PASSWORD, "wrong"):
        with pytest.raises(ValidationError) as refused:
            services.dose_verify(
                actor=Actor(user=doctor.user),
                session=awaiting_verification,
                username=doctor.user.username,
                password=password,
            )
        assert "not the one who ordered" in str(refused.value)
    assert _failures() == []  # no password was tried


@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_when_signing_a_session_signs_nothing_and_is_audited(doctor, nurse_actor, plan):
    session = run_to_discharge(doctor, nurse_actor, check_in(nurse_actor, plan, minutes_ago=140), minutes=125)
    with pytest.raises(ValidationError) as refused:
        services.session_sign(actor=nurse_actor, session=session, password="wrong")
    assert refused.value.message_dict == {"password": [SIGN_FAILED]}
    session.refresh_from_db()
    assert session.nurse_signed_at is None
    (row,) = _failures()
    assert row.detail["purpose"] == "signing a session"
    assert row.detail["username"] == nurse_actor.user.username
    services.session_sign(actor=nurse_actor, session=session, password=PASSWORD)
    session.refresh_from_db()
    assert session.nurse_signed_at is not None
