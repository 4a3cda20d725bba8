"""Passwords entered anywhere: the sign-in page (django-axes locks out after repeated failures) and
the re-entries at the chair (a second clinician verifying a dose, a signature), which go through
`reauthenticate` and count towards the same lockout."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest

from ketacare.accounts.models import User
from ketacare.audit.context import Actor, client_ip
from ketacare.audit.services import Action, EventSpec, audit_record_many

# The same words for every failed re-entry, whatever the cause: a wrong password, an unknown or
# switched-off account, a locked-out one, or one whose role cannot do this. Different answers let
# a guesser tell a right password from a wrong one.
REAUTH_FAILED = "That username and password cannot confirm this. Check both, or ask another clinician."
SIGN_FAILED = "That password cannot confirm it is you: nothing was signed. Check it and try again."


def _request_for(actor: Actor, purpose: str) -> HttpRequest:
    """The request the lockout sees for a password re-entered at the chair: the workstation's
    address and browser, from the actor."""
    request = HttpRequest()
    request.method = "POST"
    request.path = request.path_info = f"/reauthenticate/{purpose.replace(' ', '-')}"
    request.META = {"REMOTE_ADDR": actor.ip or "", "HTTP_USER_AGENT": actor.user_agent}
    return request


def reauthenticate(
    *,
    actor: Actor,
    username: str,
    password: str,
    permission: str | None,
    purpose: str,
    field: str = "password",
    failure: str = REAUTH_FAILED,
) -> User:
    """The account whose password was re-entered for `purpose`, if it may do it (`permission`;
    None for a change to one's own account).

    Every failure raises the same ValidationError on `field` (`failure`: REAUTH_FAILED, or
    SIGN_FAILED where the user re-enters their own password to sign). A wrong password
    counts towards the lockout of that username and of the workstation's address, and a locked-out
    username or address is refused before its password is checked (django-axes). Each failure is
    audited in a transaction of its own: call this before, not inside, the transaction of the
    action it guards, so the audit row stays when the action is refused."""
    user = authenticate(
        _request_for(actor, purpose), username=username, password=password, ketacare_purpose=purpose
    )
    if user is None:  # the failure is audited by _login_failed below (user_login_failed)
        raise ValidationError({field: failure})
    if not user.is_active or (permission is not None and not user.has_perm(permission)):
        with transaction.atomic():
            audit_record_many(
                actor=actor,
                specs=[
                    EventSpec(
                        Action.LOGIN_FAILED,
                        "accounts.user",
                        str(user.pk),
                        detail={"purpose": purpose, "username": user.get_username(), "reason": "not allowed"},
                    )
                ],
            )
        raise ValidationError({field: failure})
    return user


def reauthenticate_self(
    *,
    actor: Actor,
    user: Any,
    password: str,
    permission: str | None,
    purpose: str,
    failure: str = SIGN_FAILED,
) -> None:
    """`reauthenticate` with the signed-in `user`'s own password before `purpose` (a signature, a
    change to their account): a failure says `failure`, SIGN_FAILED unless told."""
    reauthenticate(
        actor=actor,
        username=user.get_username(),
        password=password,
        permission=permission,
        purpose=purpose,
        failure=failure,
    )


def _known_username(credentials: dict[str, Any]) -> tuple[str, str]:
    """(object id, username) of the account a failed attempt named, only if it exists: a password
    typed into the username box by mistake is not kept in the trail for ever."""
    typed = str(credentials.get("username") or "")[:150]
    pk = User.objects.filter(username=typed).values_list("pk", flat=True).first() if typed else None
    return ("", "") if pk is None else (str(pk), typed)


def _actor_of(request: Any) -> Actor:
    if request is None:
        return Actor(user=None)
    return Actor(
        user=None, ip=client_ip(request), user_agent=(request.META.get("HTTP_USER_AGENT") or "")[:300]
    )


def _audit_failure(request: Any, credentials: dict[str, Any], detail: dict[str, Any]) -> None:
    object_id, username = _known_username(credentials)
    if username:
        detail = {"username": username, **detail}
    else:
        detail = {"unknown_account": True, **detail}
    purpose = credentials.get("ketacare_purpose")
    if purpose:
        detail["purpose"] = str(purpose)
    with transaction.atomic():
        audit_record_many(
            actor=_actor_of(request),
            specs=[EventSpec(Action.LOGIN_FAILED, "accounts.user", object_id, detail=detail)],
        )


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    """Every failed sign-in or re-entry, once. django-axes's own receiver runs first (it is the
    earlier app) and flags a request whose username or address is locked out, or now becomes so."""
    locked = bool(getattr(request, "axes_locked_out", False))
    _audit_failure(request, credentials, {"locked_out": True} if locked else {})


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> Any:
    """The sign-in page's answer while the username or the address is locked out (429)."""
    from django.conf import settings
    from django.shortcuts import render

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)


def unlock(*, actor: Actor, username: str = "", address: str = "") -> int:
    """Lift the lockout of a username or an address (a clinic admin, at once). Audited with who
    lifted it. Returns the records of failed attempts cleared (one per username, address, browser)."""
    from axes.utils import reset

    if not username and not address:
        raise ValidationError("Name a username or an address to unlock.")
    with transaction.atomic():
        cleared = reset(username=username or None) if username else 0
        cleared += reset(ip=address) if address else 0
        pk = User.objects.filter(username=username).values_list("pk", flat=True).first() if username else None
        if pk is not None:  # and django-otp's pause after failed codes
            from ketacare.accounts.twofactor import throttles_reset

            throttles_reset(User(pk=pk))
        detail: dict[str, Any] = {"unlocked": True, "failures_cleared": cleared}
        if username:
            detail["username"] = username
        if address:
            detail["address"] = address
        audit_record_many(
            actor=actor,
            specs=[EventSpec(Action.UPDATE, "accounts.user", "" if pk is None else str(pk), detail=detail)],
        )
    return cleared
