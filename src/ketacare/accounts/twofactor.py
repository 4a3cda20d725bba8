"""Two-factor sign-in (django-otp): an authenticator app's TOTP code (RFC 6238) after the password,
or one of ten single-use recovery codes when the phone is lost.

A staff member sets up the authenticator at their first sign-in, after the password, and may
replace it later only from a session that has passed both factors: a password alone never
enrols a new device. A clinic admin can reset an account's two-factor sign-in (a lost phone with
no recovery codes left); the account then sets it up again at its next sign-in. Every step is
audited. A wrong code counts towards the sign-in lockout of that username, as a wrong password
does (django-axes), and django-otp slows repeated failures on the device itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import segno
from axes.models import AccessAttempt
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts.models import User
from ketacare.audit import keys
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR = "Authenticator"
RECOVERY = "Recovery codes"
CODE_FAILED = "That code is not right or has expired. Enter the 6-digit code your authenticator shows now."


def _spec(action: str, user: User, **detail: Any) -> EventSpec:
    return EventSpec(action, "accounts.user", str(user.pk), detail={"username": user.username, **detail})


def confirmed_authenticator(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_codes_left(user: User) -> int:
    return int(StaticToken.objects.filter(device__user=user, device__confirmed=True).count())


def authenticator_start(user: User) -> TOTPDevice:
    """A new authenticator, not yet trusted: it counts only once a code from it is confirmed.
    Any earlier unconfirmed one (a set-up abandoned half-way) is replaced."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)


def pending_authenticator(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the set-up page shows: the QR code (inline SVG) and the same secret to type in."""

    qr_svg: str
    secret: str


def enrolment(device: TOTPDevice) -> Enrolment:
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode()
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    qr = segno.make(device.config_url, error="m")
    svg = qr.svg_inline(scale=5, dark="#000", light="#fff", title="Authenticator set-up code")
    return Enrolment(qr_svg=svg, secret=grouped)


def stored_form(code: str) -> str:
    """What the database keeps of a recovery or one-time code: a keyed digest (HMAC-SHA256 under
    the audit key, 64 bits in django-otp's 16-character column), so whoever reads the database
    cannot sign in with the codes it holds. The code itself is shown once and kept nowhere."""
    return keys.sign(b"ketacare recovery code\n" + code.encode())[:16]


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
    codes: list[str] = []
    while len(codes) < RECOVERY_CODE_COUNT:
        code = StaticToken.random_token()
        if code not in codes:
            codes.append(code)
    StaticToken.objects.bulk_create([StaticToken(device=device, token=stored_form(c)) for c in codes])
    return codes


def authenticator_confirm(*, request: HttpRequest, device: TOTPDevice, code: str) -> list[str]:
    """Trust the new authenticator once it shows a right code: it replaces any earlier one, the
    session counts as signed in with both factors, and ten fresh recovery codes are made (and
    returned, to be shown once). A wrong code changes nothing."""
    user = device.user
    actor = Actor.from_request(request)
    if not device.verify_token(_digits(code)):
        with transaction.atomic():
            audit_record_many(actor=actor, specs=[_spec(Action.LOGIN_FAILED, user, second_factor="set-up")])
        raise ValidationError({"code": CODE_FAILED})
    with transaction.atomic():
        replaced = TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()[0]
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        request.session.cycle_key()
        otp_login(request, device)
        AccessAttempt.objects.filter(username=user.username).delete()
        audit_record_many(
            actor=actor,
            specs=[_spec(Action.UPDATE, user, two_factor="authenticator set up", replaced=bool(replaced))],
        )
    return codes


def _digits(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace())


def _recovery_form(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def second_factor_verify(*, request: HttpRequest, code: str) -> str:
    """Accept a code from the signed-in user's authenticator, or one of their recovery codes (used
    up). Returns which one was used; raises ValidationError on "code" otherwise. Refused at once
    while the username is locked out; every failure counts towards its lockout and is audited."""
    from axes.handlers.proxy import AxesProxyHandler

    user = cast(User, request.user)  # signed in (LoginRequiredMiddleware)
    credentials = {"username": user.username, "ketacare_purpose": "two-factor code"}
    if AxesProxyHandler.is_locked(request, credentials):
        raise SecondFactorLockedOut
    used, device = "", None
    typed = _digits(code)
    # Six digits try the authenticator, anything else the recovery codes: a guesser's wrong codes
    # never slow the other factor down. The device row is locked so that two requests at once
    # cannot both use one code or both skip django-otp's pause after a failure.
    with transaction.atomic():
        if len(typed) == 6 and typed.isdigit():
            device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
            used = "authenticator" if device is not None and device.verify_token(typed) else ""
        else:
            device = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
            used = (
                "recovery code"
                if device is not None and device.verify_token(stored_form(_recovery_form(code)))
                else ""
            )
    if not used or device is None:
        # django-axes counts it against the username (and address); signin.py audits it.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            raise SecondFactorLockedOut
        raise ValidationError({"code": CODE_FAILED})
    with transaction.atomic():
        request.session.cycle_key()  # a new session key once both factors are in
        otp_login(request, device)
        # Only now do the username's failed attempts clear (a password alone never clears them).
        AccessAttempt.objects.filter(username=user.username).delete()
        detail: dict[str, Any] = {"second_factor": used}
        if used == "recovery code":
            detail["recovery_codes_left"] = recovery_codes_left(user)
        audit_record_many(actor=Actor.from_request(request), specs=[_spec(Action.LOGIN, user, **detail)])
    return used


class SecondFactorLockedOut(Exception):
    """Too many failed sign-ins for this username (password or code): the lockout page."""


@transaction.atomic
def recovery_codes_renew(*, request: HttpRequest) -> list[str]:
    """Ten new recovery codes for the signed-in user; the old ones stop working."""
    user = cast(User, request.user)  # signed in (LoginRequiredMiddleware)
    codes = _new_recovery_codes(user)
    audit_record_many(
        actor=Actor.from_request(request),
        specs=[_spec(Action.UPDATE, user, two_factor="recovery codes renewed")],
    )
    return codes


def _one_time_code(user: User) -> str:
    """One single-use code for the person to sign in with once and set up an authenticator: what
    a clinic admin hands over in person with a new account or after a reset, so that knowing the
    password alone never lets anyone enrol their own authenticator."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
    code = StaticToken.random_token()
    StaticToken.objects.create(device=device, token=stored_form(code))
    return str(code)


@transaction.atomic
def enrolment_code(*, actor: Actor, user: User) -> str:
    """A one-time code for a new account's first sign-in (audited, never the code itself)."""
    code = _one_time_code(user)
    audit_record_many(actor=actor, specs=[_spec(Action.UPDATE, user, two_factor="one-time code made")])
    return code


@transaction.atomic
def two_factor_reset(*, actor: Actor, user: User) -> str:
    """A clinic admin clears an account's authenticator and recovery codes (a lost phone): its
    sessions lose their second factor at once. Returns a one-time code to hand to the person, who
    signs in with it once and sets up a new authenticator."""
    if actor.user is not None and actor.user.pk == user.pk:
        raise ValidationError("Reset another account's two-factor sign-in, not your own.")
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    removed += StaticDevice.objects.filter(user=user).delete()[0]
    code = _one_time_code(user)
    audit_record_many(
        actor=actor, specs=[_spec(Action.UPDATE, user, two_factor="reset", devices_removed=removed)]
    )
    return code


def throttles_reset(user: User) -> None:
    """Lift django-otp's pause after failed codes (a clinic admin's unlock lifts it with the lockout)."""
    for model in (TOTPDevice, StaticDevice):
        model.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)


def current_code(user: User) -> str:
    """The code the user's authenticator would show now: the confirmed one, else the one being set
    up (`ketacare demo-code`, on demo databases only)."""
    import time

    from django_otp.oath import TOTP

    device = confirmed_authenticator(user) or pending_authenticator(user)
    if device is None:
        raise ValueError("That account has no authenticator: sign in with it first to start the set-up.")
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time()
    return f"{generator.token():0{device.digits}d}"
