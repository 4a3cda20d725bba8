"""Sign-in lockout and the one throttled re-entry of a password (security issue, items 1 and 2):
repeated failures lock a username and an address, a locked one is refused even with the right
password, every re-entry failure reads the same and stays in the audit trail."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditEvent
from tests.conftest import pass_second_factor
from tests.treatment_helpers import PASSWORD

LIMIT = 5  # KETACARE_SIGNIN_FAILURE_LIMIT's default
ADDRESS_LIMIT = 20  # KETACARE_SIGNIN_ADDRESS_FAILURE_LIMIT's default


def _sign_in(username: str, password: str, address: str = "10.0.0.7", **headers: str):
    client = Client(REMOTE_ADDR=address, **headers)
    return client, client.post("/accounts/login/", {"username": username, "password": password})


def _failures() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).order_by("seq"))


@pytest.mark.django_db
def test_repeated_wrong_passwords_lock_the_account_even_against_the_right_one(make_user):
    nurse = make_user(Role.NURSE, "nurse.lock")
    for _ in range(LIMIT):
        _, refused = _sign_in(nurse.username, "not-the-password")
        assert refused.status_code in (200, 429)
    client, locked = _sign_in(nurse.username, PASSWORD, address="10.0.0.8")  # another computer too
    assert locked.status_code == 429
    assert "Sign-in is paused for 15 minutes" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    rows = _failures()
    assert len(rows) == LIMIT + 1
    assert all(r.detail.get("username") == nurse.username for r in rows)
    assert rows[-1].detail.get("locked_out") is True and rows[-2].detail.get("locked_out") is True
    # A clinic admin unlocks the account (audited): the right password signs in again.
    out = StringIO()
    call_command("signin_unlock", nurse.username, stdout=out)
    assert (
        f"Unlocked {nurse.username} (2 record(s) of failed attempts cleared)." in out.getvalue()
    )  # two computers
    unlocked = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE, object_id=str(nurse.pk))
    assert unlocked.actor_label == "system:signin-unlock" and unlocked.detail["unlocked"] is True
    client, signed_in = _sign_in(nurse.username, PASSWORD, address="10.0.0.8")
    assert signed_in.status_code == 302 and client.session["_auth_user_id"] == str(nurse.pk)


@pytest.mark.django_db
def test_one_address_guessing_many_usernames_is_locked_out_whatever_header_it_sends(make_user):
    physician = make_user(Role.PHYSICIAN, "dr.addr")
    for n in range(ADDRESS_LIMIT):
        # A forged X-Forwarded-For does not make the guesses come from a fresh address.
        _sign_in(f"guess{n}", "password123456", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    _, locked = _sign_in(physician.username, PASSWORD)
    assert locked.status_code == 429
    client, elsewhere = _sign_in(physician.username, PASSWORD, address="10.0.0.99")
    assert elsewhere.status_code == 302 and client.session["_auth_user_id"] == str(physician.pk)


@pytest.mark.django_db
def test_one_persons_mistyped_passwords_do_not_lock_out_colleagues_at_the_same_address(make_user):
    """Workstations behind one router reach the server from one address: five typos lock that
    username, not the clinic."""
    make_user(Role.NURSE, "nurse.typist")
    colleague = make_user(Role.PHYSICIAN, "dr.colleague")
    for _ in range(LIMIT):
        _sign_in("nurse.typist", "mistyped-password")
    assert _sign_in("nurse.typist", PASSWORD)[1].status_code == 429
    client, signed_in = _sign_in(colleague.username, PASSWORD)
    assert signed_in.status_code == 302 and client.session["_auth_user_id"] == str(colleague.pk)


@pytest.mark.django_db
def test_a_failed_sign_in_keeps_the_username_only_when_the_account_exists(make_user):
    nurse = make_user(Role.NURSE, "nurse.typo")
    _sign_in(nurse.username, "wrong-password")
    _sign_in("Correct-Horse-Battery-9", "anything")  # a password typed into the username box
    known, unknown = _failures()
    assert known.detail["username"] == nurse.username and known.object_id == str(nurse.pk)
    assert unknown.detail == {"unknown_account": True} and unknown.object_id == ""
    assert "Correct-Horse" not in str(unknown.detail) + unknown.actor_label
    assert known.ip == "10.0.0.7"


@pytest.mark.django_db
def test_unlocking_names_a_username_or_an_address():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Name a username or an address"):
        call_command("signin_unlock", stdout=StringIO())


@pytest.mark.django_db
def test_the_session_cookie_ends_with_the_browser(make_user, monkeypatch):
    from ketacare.accounts import middleware

    clock = [1_000_000.0]
    monkeypatch.setattr(middleware.time, "time", lambda: clock[0])
    nurse = make_user(Role.NURSE, "nurse.cookie")
    client, signed_in = _sign_in(nurse.username, PASSWORD)
    pass_second_factor(client, nurse)
    cookie = signed_in.cookies["sessionid"]
    assert cookie.value and not cookie["expires"] and not cookie["max-age"]
    clock[0] += 120  # a renewal of the idle window: the cookie still has no lifetime of its own
    renewed = client.get("/")
    assert renewed.status_code == 200
    assert "sessionid" in renewed.cookies
    assert not renewed.cookies["sessionid"]["expires"] and not renewed.cookies["sessionid"]["max-age"]


@pytest.mark.django_db
def test_a_session_ends_twelve_hours_after_sign_in_however_active(make_user, monkeypatch):
    from ketacare.accounts import middleware

    clock = [1_000_000.0]
    monkeypatch.setattr(middleware.time, "time", lambda: clock[0])
    nurse = make_user(Role.NURSE, "nurse.shift")
    client, _ = _sign_in(nurse.username, PASSWORD)
    pass_second_factor(client, nurse)
    for _ in range(24):  # active every half hour for eleven and a half hours
        clock[0] += 30 * 60 - 1
        assert client.get("/patients/").status_code == 200
    clock[0] += 30 * 60 + 24  # twelve hours since sign-in
    ended = client.get("/patients/")
    assert ended.status_code == 302 and ended["Location"] == "/accounts/login/?expired=1"
    assert "_auth_user_id" not in client.session
    assert client.get("/patients/").status_code == 302  # signed out, not just redirected once
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGOUT, actor_id=nurse.pk).exists()
    notice = client.get("/accounts/login/?expired=1").content.decode()
    assert "You were signed out 12 hours after signing in" in notice


@pytest.mark.django_db
def test_no_page_or_download_is_kept_by_the_browser(client_as, nurse, register):
    """Back after sign-out, or the next user of the computer, must not find a stored copy."""
    patient = register()
    client = client_as(nurse)
    for url in ("/", "/patients/", f"/patients/{patient.pk}/", "/api/v1/patients/", "/accounts/login/"):
        response = client.get(url)
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], url


@pytest.mark.django_db
def test_signing_in_to_ones_own_account_does_not_clear_the_guesses_at_anothers(make_user):
    victim = make_user(Role.PHYSICIAN, "dr.victim")
    guesser = make_user(Role.FRONT_DESK, "desk.guesser")
    for _ in range(LIMIT - 1):
        _sign_in(victim.username, "a-guess-at-it")
    _, own = _sign_in(guesser.username, PASSWORD)  # same address, own account, right password
    assert own.status_code == 302
    _sign_in(victim.username, "one-more-guess")
    assert _sign_in(victim.username, PASSWORD)[1].status_code == 429


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_clients_own_address_is_audited_and_locked(make_user, settings):
    """The proxy forwards the client's address; a header from anyone else is ignored."""
    import ipaddress

    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.1/32")]
    _sign_in("nobody.a", "x-password-here", address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5, 10.0.0.1")
    _sign_in("nobody.b", "x-password-here", address="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9")
    via_proxy, direct = _failures()
    assert via_proxy.ip == "203.0.113.5"
    assert direct.ip == "198.51.100.7"  # not a trusted proxy: its header is not believed
    for n in range(ADDRESS_LIMIT - 1):
        _sign_in(f"guess{n}", "x-password-here", address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    physician = make_user(Role.PHYSICIAN, "dr.behind.proxy")
    # The guesser's address is locked; a colleague coming through the same proxy is not.
    _, locked = _sign_in(physician.username, PASSWORD, address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert locked.status_code == 429
    _, other = _sign_in(physician.username, PASSWORD, address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.77")
    assert other.status_code == 302
