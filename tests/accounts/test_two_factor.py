"""Two-factor sign-in: a password alone opens nothing; an authenticator is set up at the first
sign-in and never from a password alone; recovery codes work once; wrong codes lock out; a clinic
admin resets a lost authenticator; password change and reset keep the second factor."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts.roles import Role
from ketacare.accounts.twofactor import stored_form
from ketacare.audit.models import AuditEvent
from ketacare.config.access_log import safe_path
from tests.conftest import PASSWORD, pass_second_factor, sign_in, totp_code

pytestmark = pytest.mark.django_db


def _password_only(user, password: str = PASSWORD) -> Client:
    client = Client(REMOTE_ADDR="10.0.0.5")
    response = client.post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 302, response.status_code
    return client


def _code_for(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def _events(user, **detail) -> list[AuditEvent]:
    rows = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(user.pk)).order_by("seq")
    return [e for e in rows if all(e.detail.get(k) == v for k, v in detail.items())]


def test_a_password_alone_opens_no_page_and_no_api(make_user):
    nurse = make_user(Role.NURSE, "nurse.half")
    totp_code(nurse)  # an authenticator set up earlier
    client = _password_only(nurse)
    page = client.get("/patients/")
    assert page.status_code == 302
    assert page["Location"] == "/accounts/two-factor/?next=%2Fpatients%2F"
    api = client.get("/api/v1/patients/")
    assert api.status_code == 403
    assert "Two-factor sign-in required" in api.json()["detail"]
    htmx = client.get("/patients/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == "/accounts/two-factor/"
    code_page = client.get("/accounts/two-factor/").content.decode()
    assert "Patients" not in code_page  # no menu before the second factor
    assert "authenticator" in code_page


def test_the_first_sign_in_sets_up_an_authenticator_and_shows_ten_recovery_codes(make_user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp pauses a device 1 s after a wrong code
    nurse = make_user(Role.NURSE, "nurse.new")
    client = _password_only(nurse)
    assert client.get("/accounts/two-factor/?next=/patients/")["Location"] == (
        "/accounts/two-factor/setup/?next=%2Fpatients%2F"
    )
    setup = client.get("/accounts/two-factor/setup/?next=/patients/")
    html = setup.content.decode()
    assert "<svg" in html and "Authenticator set-up code" in html
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)
    secret = re.search(r'<code class="otp-secret">([A-Z2-7 ]+)</code>', html)
    assert secret is not None
    import base64

    assert base64.b32decode(secret.group(1).replace(" ", "")) == device.bin_key

    wrong = client.post("/accounts/two-factor/setup/", {"code": "000000", "next": "/patients/"})
    assert wrong.status_code == 422
    assert "That code is not right" in wrong.content.decode()
    assert client.get("/patients/").status_code == 302  # still not through
    assert _events(nurse, second_factor="set-up")[-1].action == AuditEvent.Action.LOGIN_FAILED

    done = client.post("/accounts/two-factor/setup/", {"code": _code_for(device), "next": "/patients/"})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(set(codes)) == 10
    stored = set(StaticToken.objects.filter(device__user=nurse).values_list("token", flat=True))
    assert stored == {stored_form(c) for c in codes} and not stored & set(codes)  # never the codes
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/patients/").status_code == 200
    assert _events(nurse, two_factor="authenticator set up")


def test_a_password_alone_never_sets_up_a_new_authenticator(make_user):
    nurse = make_user(Role.NURSE, "nurse.target")
    real = TOTPDevice.objects.create(user=nurse, name="Authenticator", confirmed=True)
    client = _password_only(nurse)  # someone who learnt the password
    assert client.get("/accounts/two-factor/setup/")["Location"].startswith("/accounts/two-factor/")
    attacker = TOTPDevice.objects.create(user=nurse, name="planted", confirmed=False)
    response = client.post("/accounts/two-factor/setup/", {"code": _code_for(attacker)})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/")
    assert list(TOTPDevice.objects.filter(user=nurse, confirmed=True)) == [real]
    assert client.get("/patients/").status_code == 302


def test_a_code_signs_in_once_and_cannot_be_replayed(make_user):
    nurse = make_user(Role.NURSE, "nurse.replay")
    code = totp_code(nurse)
    first = _password_only(nurse)
    assert (
        first.post("/accounts/two-factor/", {"code": code, "next": "/patients/"})["Location"] == "/patients/"
    )
    assert first.get("/patients/").status_code == 200
    second = _password_only(nurse)
    replay = second.post("/accounts/two-factor/", {"code": code})
    assert replay.status_code == 422
    assert second.get("/patients/").status_code == 302
    assert _events(nurse, second_factor="authenticator")[-1].action == AuditEvent.Action.LOGIN


def test_a_recovery_code_works_once_and_says_how_many_are_left(make_user):
    nurse = make_user(Role.NURSE, "nurse.lostphone")
    setup = sign_in(Client(), nurse)
    codes = re.findall(
        r"<li><code>([a-z2-7]{8})</code></li>",
        setup.post("/accounts/account/recovery-codes/", {"password": PASSWORD}).content.decode(),
    )
    assert len(codes) == 10
    client = _password_only(nurse)
    used = client.post("/accounts/two-factor/", {"code": codes[3].upper()}, follow=True)
    assert "You signed in with a recovery code: 9 left." in used.content.decode()
    assert client.get("/patients/").status_code == 200
    assert _events(nurse, second_factor="recovery code")[-1].detail["recovery_codes_left"] == 9
    again = _password_only(nurse)
    assert again.post("/accounts/two-factor/", {"code": codes[3]}).status_code == 422


def test_new_recovery_codes_replace_the_old_ones(make_user):
    nurse = make_user(Role.NURSE, "nurse.renew")
    client = sign_in(Client(), nurse)
    old = re.findall(
        r"<code>([a-z2-7]{8})</code>",
        client.post("/accounts/account/recovery-codes/", {"password": PASSWORD}).content.decode(),
    )
    new = re.findall(
        r"<code>([a-z2-7]{8})</code>",
        client.post("/accounts/account/recovery-codes/", {"password": PASSWORD}).content.decode(),
    )
    assert len(old) == len(new) == 10 and not set(old) & set(new)
    assert _password_only(nurse).post("/accounts/two-factor/", {"code": old[0]}).status_code == 422
    assert _events(nurse, two_factor="recovery codes renewed")


def test_wrong_codes_lock_the_account_out_like_wrong_passwords(make_user, settings):
    nurse = make_user(Role.NURSE, "nurse.guessed")
    totp_code(nurse)
    client = _password_only(nurse)
    statuses = [client.post("/accounts/two-factor/", {"code": f"{n:06d}"}).status_code for n in range(2)]
    client = _password_only(nurse)  # signing in again with the password does not clear the count
    statuses += [client.post("/accounts/two-factor/", {"code": f"{n:06d}"}).status_code for n in range(2, 5)]
    assert statuses[:4] == [422] * 4
    assert statuses[4] == 429  # the fifth failure locks the username out and signs the session out
    assert client.get("/patients/")["Location"].startswith("/accounts/login/")
    retry = Client(REMOTE_ADDR="10.0.0.6").post(
        "/accounts/login/", {"username": nurse.username, "password": PASSWORD}
    )
    assert retry.status_code == 429  # the right password too, until an admin unlocks
    failures = _events(nurse, purpose="two-factor code")
    assert len(failures) == 5 and all(e.action == AuditEvent.Action.LOGIN_FAILED for e in failures)
    assert failures[-1].detail.get("locked_out") is True
    device = TOTPDevice.objects.get(user=nurse)
    assert device.throttling_failure_count >= 1  # django-otp paused the device after a failure
    from ketacare.accounts.signin import unlock
    from ketacare.audit.context import Actor

    unlock(actor=Actor.command("test"), username=nurse.username)  # the admin's unlock lifts both
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
    assert _password_only(nurse).post("/accounts/two-factor/", {"code": totp_code(nurse)}).status_code == 302


def test_an_admin_resets_a_lost_authenticator_and_the_session_loses_its_second_factor(
    make_user, clinic_admin
):
    nurse = make_user(Role.NURSE, "nurse.phone")
    nurse_client = sign_in(Client(), nurse)
    assert nurse_client.get("/patients/").status_code == 200
    admin = sign_in(Client(), clinic_admin)
    assert "Reset two-factor sign-in" in admin.get(f"/accounts/staff/{nurse.pk}/").content.decode()
    done = admin.post(f"/accounts/staff/{nurse.pk}/reset-two-factor/").content.decode()
    assert "Two-factor sign-in reset for nurse.phone" in done
    one_time = re.search(r'<p class="one-time-code"><code>([a-z2-7]{8})</code></p>', done)
    assert one_time is not None
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    assert nurse_client.get("/patients/")["Location"].startswith("/accounts/two-factor/")
    # Whoever has only the password cannot set up an authenticator now: the one-time code first.
    intruder = _password_only(nurse)
    assert intruder.get("/accounts/two-factor/setup/")["Location"].startswith("/accounts/two-factor/")
    used = nurse_client.post("/accounts/two-factor/", {"code": one_time.group(1)})
    assert used["Location"].startswith("/accounts/two-factor/setup/")
    assert nurse_client.get("/accounts/two-factor/setup/").status_code == 200
    event = _events(nurse, two_factor="reset")[-1]
    assert event.actor_id == clinic_admin.pk and event.detail["devices_removed"] == 1
    own = admin.post(f"/accounts/staff/{clinic_admin.pk}/reset-two-factor/")
    assert own.status_code == 422 and TOTPDevice.objects.filter(user=clinic_admin).exists()


def test_only_a_clinic_admin_resets_two_factor_sign_in(make_user, nurse):
    physician = make_user(Role.PHYSICIAN, "doc.reset")
    totp_code(physician)
    client = sign_in(Client(), nurse)
    assert client.post(f"/accounts/staff/{physician.pk}/reset-two-factor/").status_code == 403
    assert TOTPDevice.objects.filter(user=physician).exists()


def test_changing_the_password_needs_the_old_one_and_is_audited(make_user):
    nurse = make_user(Role.NURSE, "nurse.change")
    client = sign_in(Client(), nurse)
    new = "plum-orchard-lantern-42"
    wrong = client.post(
        "/accounts/account/password/",
        {"old_password": "not-it-at-all", "new_password1": new, "new_password2": new},
    )
    assert wrong.status_code == 200 and "Your old password was entered incorrectly" in wrong.content.decode()
    weak = client.post(
        "/accounts/account/password/",
        {"old_password": PASSWORD, "new_password1": "aaaaaaaaaaaa", "new_password2": "aaaaaaaaaaaa"},
    )
    assert "repeat" in weak.content.decode().lower()
    done = client.post(
        "/accounts/account/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert done["Location"] == "/accounts/account/"
    assert client.get("/patients/").status_code == 200  # this session stays signed in
    nurse.refresh_from_db()
    assert nurse.check_password(new)
    assert _events(nurse, password="changed")[-1].actor_id == nurse.pk


def test_a_password_reset_by_e_mail_still_asks_for_the_second_factor(make_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    nurse = make_user(Role.NURSE, "nurse.forgot")
    nurse.email = "nurse.forgot@example.org"
    nurse.save(update_fields=["email"])
    totp_code(nurse)
    public = Client()
    unknown = public.post("/accounts/password-reset/", {"email": "nobody@example.org"})
    known = public.post("/accounts/password-reset/", {"email": nurse.email})
    assert unknown["Location"] == known["Location"] == "/accounts/password-reset/sent/"  # no account oracle
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [nurse.email]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body)
    assert link is not None
    assert safe_path(link.group(1)) == "/accounts/reset/<token>/"  # not in the access log
    form = public.get(link.group(1), follow=True)
    assert "Set a new password" in form.content.decode()
    new = "quartz-meadow-violin-77"
    done = public.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done["Location"] == "/accounts/reset/done/"
    assert _events(nurse, password="reset by e-mail link")
    client = _password_only(nurse, new)
    assert client.get("/patients/")["Location"].startswith("/accounts/two-factor/")
    reused = public.get(link.group(1), follow=True)
    assert "has been used or has expired" in reused.content.decode()


def test_a_development_set_up_may_switch_the_second_factor_off(make_user, settings):
    settings.TWO_FACTOR_REQUIRED = False
    nurse = make_user(Role.NURSE, "nurse.dev")
    assert _password_only(nurse).get("/patients/").status_code == 200


def test_the_code_page_signs_in_to_the_page_asked_for(make_user):
    nurse = make_user(Role.NURSE, "nurse.next")
    client = _password_only(nurse)
    response = pass_second_factor(client, nurse)
    assert response["Location"] == "/"
    client2 = _password_only(nurse)
    evil = client2.post("/accounts/two-factor/", {"code": "123456", "next": "https://evil.example/"})
    assert evil.status_code == 422  # a wrong code; a right one never goes off-site either:
    TOTPDevice.objects.filter(user=nurse).delete()  # a fresh device: its first code is unused
    code = totp_code(nurse)
    ok = client2.post("/accounts/two-factor/", {"code": code, "next": "https://evil.example/"})
    assert ok["Location"] == "/"


def test_changing_the_second_factor_asks_for_the_password_again(make_user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    nurse = make_user(Role.NURSE, "nurse.shared.desk")
    client = sign_in(Client(), nurse)  # a session someone else finds open on a shared workstation
    before = set(StaticToken.objects.filter(device__user=nurse).values_list("token", flat=True))
    refused = client.post("/accounts/account/recovery-codes/", {"password": "not-the-password"})
    assert refused.status_code == 422 and "cannot confirm it is you" in refused.content.decode()
    assert set(StaticToken.objects.filter(device__user=nurse).values_list("token", flat=True)) == before
    assert _events(nurse, purpose="new recovery codes")[-1].action == AuditEvent.Action.LOGIN_FAILED
    old = TOTPDevice.objects.get(user=nurse, confirmed=True)
    client.get("/accounts/two-factor/setup/")
    new = TOTPDevice.objects.get(user=nurse, confirmed=False)
    replaced = client.post("/accounts/two-factor/setup/", {"code": _code_for(new), "password": "wrong-one"})
    assert replaced.status_code == 422 and "cannot confirm it is you" in replaced.content.decode()
    assert list(TOTPDevice.objects.filter(user=nurse, confirmed=True)) == [old]
    done = client.post("/accounts/two-factor/setup/", {"code": _code_for(new), "password": PASSWORD})
    assert done.status_code == 200 and "New recovery codes" in done.content.decode()
    assert list(TOTPDevice.objects.filter(user=nurse, confirmed=True)) == [new]


def test_reset_links_are_limited_per_address_and_audited(make_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    nurse = make_user(Role.NURSE, "nurse.flooded")
    nurse.email = "nurse.flooded@example.org"
    nurse.save(update_fields=["email"])
    public = Client(REMOTE_ADDR="198.51.100.9")
    answers = [public.post("/accounts/password-reset/", {"email": nurse.email}) for _ in range(8)]
    assert {a["Location"] for a in answers} == {"/accounts/password-reset/sent/"}  # the same answer
    assert len(mail.outbox) == 5  # and no more mail than the limit
    assert len(_events(nurse, password="reset link asked")) == 5
    elsewhere = Client(REMOTE_ADDR="198.51.100.10")
    elsewhere.post("/accounts/password-reset/", {"email": nurse.email})
    assert len(mail.outbox) == 5  # the e-mail address has its own limit
