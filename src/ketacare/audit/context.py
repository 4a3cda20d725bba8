"""Who is acting, from where: passed explicitly into every service that writes the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ketacare.accounts.models import User

USER_AGENT_MAX = 300


@dataclass(frozen=True, slots=True)
class Actor:
    user: User | None
    ip: str | None = None
    user_agent: str = ""
    # A system actor (a command, an import) names itself here.
    system: str = ""

    @classmethod
    def from_request(cls, request: Any) -> Actor:
        user = request.user if request.user.is_authenticated else None
        return cls(
            user=user,
            ip=request.META.get("REMOTE_ADDR") or None,
            user_agent=(request.META.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX],
        )

    @classmethod
    def command(cls, name: str) -> Actor:
        return cls(user=None, system=name)

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        return f"system:{self.system}" if self.system else "anonymous"
