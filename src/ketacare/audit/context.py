"""Who is acting, from where: passed explicitly into every service that writes the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ketacare.accounts.models import User

USER_AGENT_MAX = 300


def client_ip(request: Any) -> str | None:
    """The address a request came from: the connection's own (REMOTE_ADDR), unless that is one
    of the clinic's trusted proxies (KETACARE_TRUSTED_PROXIES, addresses or networks). Then it is
    the nearest address in X-Forwarded-For that is not itself a trusted proxy: the client's, as
    the proxy saw it. A header from anywhere else is the client's to write, and is ignored."""
    import ipaddress

    from django.conf import settings

    remote: str | None = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXIES

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in proxies)

    if remote is None or not trusted(remote):
        return remote
    hops = [h.strip() for h in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # a malformed header: the proxy's own address, not a guess
    return remote


@dataclass(frozen=True, slots=True)
class Actor:
    user: User | None
    ip: str | None = None
    user_agent: str = ""
    # A system actor (a command, an import, another system with its API token) names itself here.
    system: str = ""
    # Another system reading through the REST API with its token: whom every record it is shown
    # is disclosed to (the token's system), recorded on each view event.
    disclosed_to: str = ""

    @classmethod
    def from_request(cls, request: Any) -> Actor:
        user = request.user if request.user.is_authenticated else None
        auth = getattr(request, "auth", None)  # another system's API token, if it sent one
        return cls(
            user=user,
            system=str(getattr(auth, "system", "") or ""),
            ip=client_ip(request),
            user_agent=(request.META.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX],
            disclosed_to=str(getattr(auth, "disclosure_to", "") or ""),
        )

    @classmethod
    def command(cls, name: str) -> Actor:
        return cls(user=None, system=name)

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        return f"system:{self.system}" if self.system else "anonymous"
