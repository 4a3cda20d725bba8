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


class RolePermission(BasePermission):
    """API access by role. A view lists the permission each HTTP method needs in
    `required_perms`; a method it does not list is refused."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        needed: dict[str, tuple[str, ...]] = getattr(view, "required_perms", {})
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        perms = needed.get(method or "")
        return perms is not None and user.has_perms(perms)
