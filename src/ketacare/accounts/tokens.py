"""Token authentication for other systems calling the REST API (`Authorization: Bearer kc_...`).

A token acts through its own account with its role's permissions, narrowed to reading by a
read-only scope; the permissions come from the token, not from a group, so a system's account
never appears where staff are listed or picked."""

from __future__ import annotations

import hmac
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from ketacare.accounts import services
from ketacare.accounts.models import ApiToken, User
from ketacare.accounts.roles import ROLE_PERMISSIONS

KEYWORD = "Bearer"


def token_permissions(token: ApiToken) -> set[str]:
    """What the token may do: its role's permissions; with the read scope, only the reading ones."""
    perms = set(ROLE_PERMISSIONS.get(token.role, ()))
    if token.read_only:
        perms = {p for p in perms if p.partition(".")[2].startswith("view_")}
    return perms


def token_lookup(raw: str) -> ApiToken | None:
    """The live token `raw` is, or None (unknown, malformed, revoked, past its last day, or its
    account off). One query; the digest compared in constant time."""
    prefix = services.token_prefix(raw)
    if prefix is None:
        return None
    token = ApiToken.objects.select_related("account").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.digest, services.token_digest(raw)):
        return None
    if token.revoked_at is not None or not token.account.is_active or token.expired(timezone.localdate()):
        return None
    return token


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`. No header: not this scheme (the session's may apply). A
    header with a token that is not live: 401, saying so, whatever else the request carries."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != KEYWORD.lower().encode():
            return None
        if len(words) != 2:
            raise AuthenticationFailed("Send the token as: Authorization: Bearer <token>.")
        token = token_lookup(words[1].decode(errors="replace"))
        if token is None:
            raise AuthenticationFailed("This API token is not valid: unknown, revoked or expired.")
        user = token.account
        # The backend reads the permissions from here (accounts/backends.py), not from a group.
        user._perm_cache = token_permissions(token)  # type: ignore[attr-defined]
        services.api_token_used(token)
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="KetaCare API"'


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """The bearer scheme in the OpenAPI schema."""

    target_class = "ketacare.accounts.tokens.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token the clinic admin made for your system (Staff, then API tokens).",
        }
