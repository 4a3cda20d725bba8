"""Account writes: roles as groups, staff users, and other systems' API tokens."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import Any

from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ketacare.accounts.backends import roles_changed
from ketacare.accounts.models import ApiToken, User
from ketacare.accounts.roles import ROLE_PERMISSIONS, Role
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many

TOKEN_START = "kc_"  # noqa: S105 - the start of every token, not a secret
# The account a system acts through is named after it; staff usernames never start so (Django's
# username characters allow the dot; user_create refuses the prefix for staff).
SYSTEM_ACCOUNT_PREFIX = "api."


def _audited(actor: Actor, action: str, object_type: str, pk: Any, detail: dict[str, Any]) -> None:
    """One event about an account or a token: what changed, never a secret."""
    audit_record_many(actor=actor, specs=[EventSpec(action, object_type, str(pk), detail=detail)])


@transaction.atomic
def roles_sync() -> None:
    """Make each role's group hold exactly the permissions in ROLE_PERMISSIONS."""
    wanted = {p for perms in ROLE_PERMISSIONS.values() for p in perms}
    by_name: dict[str, Permission] = {}
    for perm in Permission.objects.select_related("content_type"):
        by_name[f"{perm.content_type.app_label}.{perm.codename}"] = perm
    missing = sorted(wanted - by_name.keys())
    if missing:
        raise LookupError(f"permissions named in roles.py do not exist: {', '.join(missing)}")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([by_name[p] for p in perms])
    transaction.on_commit(roles_changed)


def roles_sync_after_migrate(
    sender: Any, app_config: Any = None, using: str = "default", **kwargs: Any
) -> None:
    if sender is None or getattr(sender, "label", None) != "accounts":
        return
    from django.apps import apps as global_apps

    for config in global_apps.get_app_configs():
        create_permissions(config, verbosity=0, using=using)
    roles_sync()


def _role_given(user: User, role: Role, actor: Actor | None, action: str, **detail: str) -> None:
    """Put the user in the role's group (their only one) and audit it, with who did it (`actor`;
    a command names itself)."""
    user.groups.set([Group.objects.get(name=role)])
    _audited(
        actor or Actor.command("accounts"),
        action,
        "accounts.user",
        user.pk,
        {"username": user.get_username(), "role": role, **detail},
    )


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: Role,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    actor: Actor | None = None,
) -> User:
    """Create a staff user in exactly one role; the password must pass the clinic's validators.
    Audited with who made the account (`actor`; a command names itself)."""
    if username.startswith(SYSTEM_ACCOUNT_PREFIX):
        raise ValidationError(
            {"username": f"Names starting {SYSTEM_ACCOUNT_PREFIX} are kept for other systems' API tokens."}
        )
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    from django.contrib.auth.password_validation import validate_password

    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.full_clean()
    user.save()
    _role_given(user, role, actor, Action.CREATE, username=username)  # as given, before normalising
    return user


@transaction.atomic
def user_set_role(*, user: User, role: Role, actor: Actor | None = None) -> None:
    """Move a user to another role; audited with who did it and the role before."""
    if role not in Role:
        raise ValidationError({"role": f"unknown role {role!r}"})
    if ApiToken.objects.filter(account=user).exists():
        raise ValidationError({"role": "This is a system's account: its role is its API token's."})
    before = user.role
    if (
        before == Role.CLINIC_ADMIN
        and role != Role.CLINIC_ADMIN
        and user.is_active
        and not _other_active_admins(user)
    ):
        raise ValidationError({"role": "This is the clinic's last active admin: make another admin first."})
    _role_given(user, role, actor, Action.UPDATE, role_before=before or "")
    roles_changed(user.pk)
    transaction.on_commit(lambda: roles_changed(user.pk))


def claim_demo_database() -> None:
    """Mark this database as a demo one (`demo-users`, `seed-demo`) if it is empty, or find it so
    marked; refuse one that holds a clinic's accounts or patients: the demo accounts' published
    password would open it, and synthetic patients would mix with real ones."""
    from django.core.management.base import CommandError

    from ketacare.accounts.models import DemoDatabase
    from ketacare.audit.models import AuditEvent

    if DemoDatabase.objects.exists():
        return
    # Patients are found through the audit trail (every patient's record was written with an
    # event naming them, an import's included): accounts sit below the patients app.
    if User.objects.exists() or AuditEvent.objects.filter(patient_id__isnull=False).exists():
        raise CommandError(
            "This database has accounts or patients and was not set up as a demo: the demo "
            "accounts' well-known password would open it, and synthetic patients would mix with "
            "real ones. Make real accounts with `ketacare user-create`.",
            returncode=2,
        )
    DemoDatabase.objects.create(id=1)


def _other_active_admins(user: User) -> bool:
    return User.objects.filter(is_active=True, groups__name=Role.CLINIC_ADMIN).exclude(pk=user.pk).exists()


@transaction.atomic
def user_set_active(*, user: User, active: bool, actor: Actor) -> User:
    """Switch an account off (it can no longer sign in, and its open sessions end at their next
    request) or on again. Audited. The clinic's last active admin cannot be switched off: nobody
    could manage the accounts any more."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if ApiToken.objects.filter(account=user).exists():
        raise ValidationError({"active": "This is a system's account: revoke its API token instead."})
    if user.is_active == active:
        return user
    if not active and user.role == Role.CLINIC_ADMIN and not _other_active_admins(user):
        raise ValidationError({"active": "This is the clinic's last active admin: make another admin first."})
    user.is_active = active
    user.save(update_fields=["is_active"])
    roles_changed(user.pk)
    _audited(actor, Action.UPDATE, "accounts.user", user.pk, {"username": user.username, "active": active})
    return user


@transaction.atomic
def password_changed(*, actor: Actor, user: User, how: str) -> None:
    """Audit a password change (never the password): `how` is "changed" or "reset by e-mail link"."""
    _audited(actor, Action.UPDATE, "accounts.user", user.pk, {"username": user.username, "password": how})


@transaction.atomic
def password_reset_requested(*, actor: Actor, user: User) -> None:
    """Audit that a reset link was asked for an account (by whom: an address, not yet a person)."""
    _audited(
        actor,
        Action.UPDATE,
        "accounts.user",
        user.pk,
        {"username": user.username, "password": "reset link asked"},
    )


# -- Other systems' API tokens ---------------------------------------------------------------------


def token_digest(token: str) -> str:
    """SHA-256 of the whole token: 256 random bits need no slow hash (nothing to guess)."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str | None:
    """The part that finds the token: `kc_PREFIX_SECRET` gives PREFIX, anything else None."""
    if not token.startswith(TOKEN_START):
        return None
    prefix, _, secret = token.removeprefix(TOKEN_START).partition("_")  # the secret may hold "_"
    return prefix if prefix and secret else None


@transaction.atomic
def api_token_create(
    *,
    actor: Actor,
    system: str,
    role: str,
    scope: str,
    description: str = "",
    expires_on: datetime.date | None = None,
) -> tuple[ApiToken, str]:
    """Make a system's API token and the account it acts through; returns the token with its
    secret, which is shown once and kept only as its digest. Audited (never the secret)."""
    if actor.user is None:
        raise ValidationError({"system": "A token is made by a signed-in clinic admin."})
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}: choose one of {', '.join(Role.values)}."})
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": "Choose read only or read and write."})
    if expires_on is not None and expires_on < timezone.localdate():
        raise ValidationError({"expires_on": "The last day cannot be in the past."})
    account = User(username=f"{SYSTEM_ACCOUNT_PREFIX}{system}", first_name=description[:150])
    account.set_unusable_password()
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
    api_token = ApiToken(
        system=system, description=description, account=account, role=role, scope=scope, expires_on=expires_on
    )
    api_token.prefix, api_token.digest, api_token.created_by = prefix, token_digest(token), actor.user
    api_token.full_clean(exclude=["account"], validate_unique=False)
    if (
        ApiToken.objects.filter(system=system).exists()
        or User.objects.filter(username=account.username).exists()
    ):
        raise ValidationError({"system": f"The name {system!r} is taken: choose another."})
    try:
        with transaction.atomic():
            account.save()
            api_token.account = account
            api_token.save()
    except IntegrityError:  # made at the same moment by another request
        raise ValidationError({"system": f"The name {system!r} is taken: choose another."}) from None
    _audited(
        actor,
        Action.CREATE,
        "accounts.apitoken",
        api_token.pk,
        {
            "system": system,
            "role": role,
            "scope": scope,
            "account": account.username,
            "expires_on": expires_on.isoformat() if expires_on else "",
        },
    )
    return api_token, token


@transaction.atomic
def api_token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    """Revoke a token for good: it is refused from the next request on, and the system's account
    is switched off with it. Audited; revoking twice changes nothing."""
    token = ApiToken.objects.select_for_update().select_related("account").get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at, token.revoked_by = timezone.now(), actor.user
    token.save(update_fields=["revoked_at", "revoked_by"])
    token.account.is_active = False
    token.account.save(update_fields=["is_active"])
    _audited(actor, Action.UPDATE, "accounts.apitoken", token.pk, {"system": token.system, "revoked": True})
    return token


TOKEN_USE_RECORDED_EVERY = 60  # seconds: when a token was last used, to the minute, not per call


def api_token_used(token: ApiToken) -> None:
    """Note when a token was last used (for the clinic admin's list), at most once a minute."""
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= TOKEN_USE_RECORDED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
