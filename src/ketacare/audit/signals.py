"""Sign-in and sign-out events go into the same tamper-evident trail as patient-data events (failed
sign-ins: ketacare.accounts.signin)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from ketacare.audit.context import USER_AGENT_MAX, Actor, client_ip
from ketacare.audit.services import Action, EventSpec, audit_record_many


def _actor(request: Any, user: Any) -> Actor:
    if request is None:
        return Actor(user=user)
    return Actor(
        user=user,
        ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX],
    )


@receiver(user_logged_in, dispatch_uid="audit-login")
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record_many(
        actor=_actor(request, user), specs=[EventSpec(Action.LOGIN, "accounts.user", str(user.pk))]
    )


@receiver(user_logged_out, dispatch_uid="audit-logout")
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record_many(
            actor=_actor(request, user), specs=[EventSpec(Action.LOGOUT, "accounts.user", str(user.pk))]
        )
