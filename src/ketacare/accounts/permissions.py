"""Deny-by-default permission checks for views and API endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import permission_required
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

F = TypeVar("F", bound=Callable[..., Any])


def requires(*perms: str) -> Callable[[F], F]:
    """A view decorator: the signed-in user must hold every permission, else 403."""
    return permission_required(perms, raise_exception=True)


READ_ONLY_TOKEN = "This API token may only read: its scope is read only."  # noqa: S105 - a message
PERSON_ONLY = "Only a person can do this (a clinician's decision), not another system with a token."


class RolePermission(BasePermission):
    """API access by role. A view lists the permissions each action (`view.action`, such as
    "acknowledge") or else each HTTP method needs in `required_perms`; what it does not list is
    refused. A system's read-only token is refused anything but reading, whatever its role; and
    any token is refused the actions a view lists in `person_only` (a clinician's decision:
    acknowledging a safety alert, ordering a course), whatever its role and scope."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        needed: dict[str, tuple[str, ...]] = getattr(view, "required_perms", {})
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        if method != "GET" and getattr(request.auth, "read_only", False):
            self.message = READ_ONLY_TOKEN
            return False
        action = getattr(view, "action", None)
        if request.auth is not None and action in getattr(view, "person_only", ()):
            self.message = PERSON_ONLY
            return False
        perms = needed.get(action) if action in needed else needed.get(method or "")
        return perms is not None and user.has_perms(perms)
