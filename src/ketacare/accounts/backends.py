"""Sign-in and permissions from the database, with each user's permissions cached between
requests: every page checks permissions, and reading them cost two queries a request."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache

VERSION_KEY = "ketacare:perms:version"
LIFETIME_SECONDS = 300  # a safety net: role changes invalidate at once (roles_changed)


def _key(user_id: int) -> str:
    version = cache.get(VERSION_KEY) or 0
    return f"ketacare:perms:{version}:{user_id}"


def roles_changed(user_id: int | None = None) -> None:
    """Forget cached permissions: one user's (their role changed) or everyone's (the roles did)."""
    if user_id is not None:
        cache.delete(_key(user_id))
        return
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 1, None)


class RolePermissionBackend(ModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            key = _key(user_obj.pk)
            perms = cache.get(key)
            if perms is None:
                perms = super().get_all_permissions(user_obj)
                cache.set(key, perms, LIFETIME_SECONDS)
            user_obj._perm_cache = set(perms)
        return set(user_obj._perm_cache)
