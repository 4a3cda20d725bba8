"""The lockout's two limits (django-axes' database handler, with its count of failures changed)."""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def _sum(rows: Any) -> int:
    return int(rows.aggregate(n=Sum("failures_since_start"))["n"] or 0)


class LockoutHandler(AxesDatabaseHandler):  # type: ignore[misc]  # django-axes ships no types
    """A username is locked after AXES_FAILURE_LIMIT failures (5), an address only after
    SIGNIN_ADDRESS_FAILURE_LIMIT (20): a clinic's workstations often reach the server from one
    address (one router, one proxy), and one person's mistyped passwords must not lock the whole
    clinic out, while a guesser trying many usernames from one address still is."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        username = get_client_username(request, credentials)
        by_username = _sum(recent.filter(username=username)) if username else 0
        address = getattr(request, "axes_ip_address", None)
        by_address = _sum(recent.filter(ip_address=address)) if address else 0
        # On the username's scale, so axes' one limit judges both: locked when either is reached.
        user_limit, address_limit = settings.AXES_FAILURE_LIMIT, settings.SIGNIN_ADDRESS_FAILURE_LIMIT
        return max(by_username, by_address * user_limit // address_limit)

    def reset_user_attempts(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        """A successful sign-in clears that username's own failures, and only those: clearing the
        address's would let a guesser sign in to their own account between guesses at others'."""
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return int(count)
