"""How long a signed-in session lasts: idle sign-out without a database write on every request,
an absolute limit from sign-in, and a cookie that ends with the browser."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

RENEW_EVERY_SECONDS = 60
# A page's own polling (the Today board, the session page) sends this header: a screen left open
# polls on its own, which is not a person at it, so it must not keep the session alive.
POLL_HEADER = "X-KetaCare-Poll"
_KEY = "_idle_renewed_at"
_STARTED = "_signed_in_at"


@receiver(user_logged_in, dispatch_uid="session-started")
def _started(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[_STARTED] = int(time.time())


class IdleTimeoutMiddleware:
    """The session's row expires SESSION_COOKIE_AGE (the idle timeout) after it was last saved, and
    any request from a signed-in user saves it, but at most once a minute: a user is signed out
    after between 14 and 15 minutes without activity, and pages cost one write fewer. The cookie
    carries no expiry (SESSION_EXPIRE_AT_BROWSER_CLOSE): closing the browser ends the session.
    Whatever the activity, a session ends SESSION_MAX_HOURS (12) after sign-in. A page's own
    polling (POLL_HEADER) is not activity: an unattended board still signs out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = int(time.time())
            started = session.setdefault(_STARTED, now)  # a session from before this limit
            if now - int(started) >= settings.SESSION_MAX_HOURS * 3600:
                logout(request)  # audited as a sign-out
                login = reverse(settings.LOGIN_URL) + "?expired=1"
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = login
                    return response
                return redirect(login)
            polled = POLL_HEADER in request.headers
            if not polled and now - int(session.get(_KEY, 0)) >= RENEW_EVERY_SECONDS:
                session[_KEY] = now  # saved: the row's expiry moves SESSION_COOKIE_AGE ahead
                if session.get("_session_expiry") is not None:
                    session.set_expiry(None)  # an older session's lasting cookie: the browser's now
        return self.get_response(request)


class LoginRequired(LoginRequiredMiddleware):
    """Deny by default (Django's LoginRequiredMiddleware), and a request from htmx (a poll, a
    form) whose session has ended takes the whole window to the sign-in page rather than
    swapping the sign-in form into a part of the page."""

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        response = super().process_view(request, view_func, view_args, view_kwargs)
        if response is not None and request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse(settings.LOGIN_URL) + "?idle=1"
        return response


# Pages a signed-in staff member reaches before the second factor: the two-factor pages
# themselves, signing out, and static files.
_BEFORE_SECOND_FACTOR = ("accounts:two-factor", "accounts:two-factor-setup", "accounts:logout")


class TwoFactorRequiredMiddleware:
    """Every staff account signs in with a password and then a TOTP (or single-use recovery) code
    before it sees any patient data (HIPAA 164.312(d) person authentication; ONC 170.315(d)(13)
    multi-factor authentication). Until `request.user.is_verified()` (django-otp), every page
    redirects to the code page, or to setting up the authenticator on a first sign-in, and the API
    answers 403."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._allowed: tuple[str, ...] | None = None

    def _allowed_paths(self) -> tuple[str, ...]:
        if self._allowed is None:
            self._allowed = tuple(reverse(name) for name in _BEFORE_SECOND_FACTOR) + (
                "/" + settings.STATIC_URL.lstrip("/"),
            )
        return self._allowed

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            settings.TWO_FACTOR_REQUIRED
            and user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(self._allowed_paths())
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": "Two-factor sign-in required: enter your authenticator code first."},
                    status=403,
                )
            target = reverse("accounts:two-factor")
            if request.method == "GET" and not request.headers.get("HX-Request"):
                target += "?" + urlencode({"next": request.get_full_path()})
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return redirect(target)
        return self.get_response(request)
