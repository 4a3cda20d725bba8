"""The clinic admin's staff pages: the accounts, a new account, and each account's role, switch
and sign-in lockout. Every change goes through accounts.services and is audited."""

from __future__ import annotations

import hashlib
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from ketacare.accounts import services, signin, twofactor
from ketacare.accounts.forms import ApiTokenForm, CodeForm, RoleForm, StaffForm
from ketacare.accounts.models import ApiToken, User
from ketacare.accounts.permissions import requires
from ketacare.accounts.roles import Role
from ketacare.audit.context import Actor
from ketacare.ui.forms import UNPROCESSABLE, apply_errors, status_of
from ketacare.ui.views import require_perm


def _locked_usernames(usernames: list[str]) -> set[str]:
    """The usernames refused at sign-in now (django-axes' records within the lockout time)."""
    from axes.models import AccessAttempt

    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return set(
        AccessAttempt.objects.filter(
            username__in=usernames,
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            attempt_time__gte=since,
        ).values_list("username", flat=True)
    )


@requires("accounts.view_user")
def staff_list(request: HttpRequest) -> HttpResponse:
    # Staff only: a system's account is listed with its API token.
    users = list(
        User.objects.filter(api_token__isnull=True)
        .prefetch_related("groups")
        .order_by("-is_active", "username")
    )
    locked = _locked_usernames([u.username for u in users])
    rows = [{"user": u, "role": u.role, "locked": u.username in locked} for u in users]
    return render(request, "accounts/staff_list.html", {"rows": rows})


@requires("accounts.add_user")
@require_http_methods(["GET", "POST"])
def staff_new(request: HttpRequest) -> HttpResponse:
    form = StaffForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(
                username=data["username"],
                password=data["password"],
                role=Role(data["role"]),
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                actor=Actor.from_request(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            code = twofactor.enrolment_code(actor=Actor.from_request(request), user=user)
            return _one_time_code_page(request, user, code, made=True)
    status = status_of(request)
    return render(request, "accounts/staff_form.html", {"form": form}, status=status)


def _one_time_code_page(request: HttpRequest, user: User, code: str, *, made: bool) -> HttpResponse:
    """The one-time code, shown once to the clinic admin, to hand to the person in person."""
    return render(request, "accounts/one_time_code.html", {"account": user, "code": code, "made": made})


def _detail(
    request: HttpRequest, user: User, role_form: RoleForm | None = None, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {
        "account": user,
        "role": user.role,
        "locked": user.username in _locked_usernames([user.username]),
        "role_form": role_form or RoleForm(initial={"role": user.role}),
        "is_self": user.pk == request.user.pk,
        "authenticator": twofactor.confirmed_authenticator(user),
        "recovery_codes_left": twofactor.recovery_codes_left(user),
    }
    return render(request, "accounts/staff_detail.html", context, status=status)


def _staff_member(user_id: int) -> User:
    """A member of staff: not a system's account (that is managed on its API token), 404."""
    return get_object_or_404(User, pk=user_id, api_token__isnull=True)


@requires("accounts.view_user")
def staff_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    return _detail(request, _staff_member(user_id))


ACTIONS = ("role", "switch-off", "switch-on", "unlock", "reset-two-factor")


@requires("accounts.change_user")
@require_POST
def staff_action(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    user = _staff_member(user_id)
    actor = Actor.from_request(request)
    form = RoleForm(request.POST) if action == "role" else None
    try:
        if action == "role":
            if form is None or not form.is_valid():
                return _detail(request, user, form, UNPROCESSABLE)
            services.user_set_role(user=user, role=Role(form.cleaned_data["role"]), actor=actor)
            done = f"{user.username} is now {Role(form.cleaned_data['role']).label.lower()}."
        elif action in ("switch-off", "switch-on"):
            if user.pk == request.user.pk:
                raise ValidationError("You cannot switch your own account off.")
            services.user_set_active(user=user, active=action == "switch-on", actor=actor)
            done = f"{user.username} is switched {'on' if action == 'switch-on' else 'off'}."
        elif action == "reset-two-factor":
            code = twofactor.two_factor_reset(actor=actor, user=user)
            return _one_time_code_page(request, user, code, made=False)
        else:
            signin.unlock(actor=actor, username=user.username)
            done = f"{user.username} can sign in again."
    except ValidationError as exc:
        if form is None:  # the page's one form carries the message, above its field
            form = RoleForm({"role": user.role or ""})
            form.is_valid()
        apply_errors(form, exc)
        return _detail(request, user, form, UNPROCESSABLE)
    messages.success(request, done)
    return redirect("accounts:staff-detail", user_id=user.pk)


# -- Other systems' API tokens --------------------------------------------------------------------


def _tokens_page(request: HttpRequest, form: ApiTokenForm, status: int = 200) -> HttpResponse:
    tokens = list(ApiToken.objects.select_related("created_by", "revoked_by", "account"))
    context = {"tokens": tokens, "form": form, "today": timezone.localdate()}
    return render(request, "accounts/api_tokens.html", context, status=status)


@requires("accounts.view_apitoken")
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The systems that may call the REST API, and a form to let one more in."""
    if request.method == "GET":
        return _tokens_page(request, ApiTokenForm())
    require_perm(request, "accounts.add_apitoken")
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, secret = services.api_token_create(actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            response = render(request, "accounts/api_token_made.html", {"token": token, "secret": secret})
            response["Cache-Control"] = "no-store"  # the secret is shown once and kept nowhere
            return response
    return _tokens_page(request, form, UNPROCESSABLE)


@requires("accounts.change_apitoken")
@require_POST
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id)
    services.api_token_revoke(actor=Actor.from_request(request), token=token)
    messages.success(
        request, f"The token of {token.system} is revoked: the system can no longer call the API."
    )
    return redirect("accounts:api-tokens")


# -- Two-factor sign-in and the user's own account ------------------------------------------------


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _with_next(name: str, request: HttpRequest) -> str:
    from urllib.parse import urlencode

    target = request.POST.get("next") or request.GET.get("next")
    return reverse(name) + ("?" + urlencode({"next": target}) if target else "")


@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """After the password: the authenticator's code (or a recovery code)."""
    user = cast(User, request.user)  # signed in (LoginRequiredMiddleware)
    if user.is_verified():  # type: ignore[attr-defined]
        return redirect(_next(request))
    if twofactor.confirmed_authenticator(user) is None and not twofactor.recovery_codes_left(user):
        return redirect(_with_next("accounts:two-factor-setup", request))
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            used = twofactor.second_factor_verify(request=request, code=form.cleaned_data["code"])
        except twofactor.SecondFactorLockedOut:
            logout(request)
            return cast(HttpResponse, signin.lockout_response(request))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if used == "recovery code":
                if twofactor.confirmed_authenticator(user) is None:  # a one-time code from the admin
                    return redirect(_with_next("accounts:two-factor-setup", request))
                left = twofactor.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You signed in with a recovery code: {left} left. "
                    "Set up your authenticator again or make new codes under Your account.",
                )
            return redirect(_next(request))
    status = status_of(request)
    return render(
        request,
        "accounts/two_factor.html",
        {"form": form, "next": request.GET.get("next", "")},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Setting up an authenticator: at the first sign-in, or to replace one from a session that has
    passed both factors. A password alone never sets up a new authenticator."""
    user = cast(User, request.user)  # signed in (LoginRequiredMiddleware)
    has_factor = (
        twofactor.confirmed_authenticator(user) is not None or twofactor.recovery_codes_left(user) > 0
    )
    if has_factor and not user.is_verified():  # type: ignore[attr-defined]
        return redirect(_with_next("accounts:two-factor", request))
    # Replacing an authenticator (not setting up the first) asks for the password again too.
    replacing = twofactor.confirmed_authenticator(user) is not None
    form = CodeForm(request.POST if request.method == "POST" else None)
    device = twofactor.pending_authenticator(user) if request.method == "POST" else None
    if device is None:
        device = twofactor.authenticator_start(user)
        form = CodeForm()
    elif form.is_valid():
        try:
            if replacing:
                _own_password(request, "replacing the authenticator")
            codes = twofactor.authenticator_confirm(
                request=request, device=device, code=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "next": _next(request), "first": not replacing},
            )
    status = status_of(request)
    context = {
        "form": form,
        "enrolment": twofactor.enrolment(device),
        "next": request.GET.get("next", ""),
        "replacing": replacing,
    }
    return render(request, "accounts/two_factor_setup.html", context, status=status)


OWN_PASSWORD_FAILED = "That password cannot confirm it is you: nothing was changed. Check it and try again."  # noqa: S105


def _own_password(request: HttpRequest, purpose: str) -> None:
    """The signed-in user's password again, before a change to their second factor: a session left
    open on a shared workstation does not let someone else take the account's factors over."""
    signin.reauthenticate_self(
        actor=Actor.from_request(request),
        user=request.user,
        password=request.POST.get("password", ""),
        permission=None,
        purpose=purpose,
        failure=OWN_PASSWORD_FAILED,
    )


def account(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own account: password, authenticator, recovery codes."""
    return _account_page(request)


def _account_page(request: HttpRequest, renew_error: str = "", status: int = 200) -> HttpResponse:
    user = cast(User, request.user)  # signed in (LoginRequiredMiddleware)
    context = {
        "authenticator": twofactor.confirmed_authenticator(user),
        "recovery_codes_left": twofactor.recovery_codes_left(user),
        "renew_error": renew_error,
    }
    return render(request, "accounts/account.html", context, status=status)


@require_POST
def recovery_codes_renew(request: HttpRequest) -> HttpResponse:
    try:
        _own_password(request, "new recovery codes")
    except ValidationError as exc:
        return _account_page(request, renew_error=" ".join(exc.messages), status=UNPROCESSABLE)
    codes = twofactor.recovery_codes_renew(request=request)
    return render(
        request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("accounts:account")}
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    """Changing one's own password (the old one first), audited; the session stays signed in."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:account")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.password_changed(actor=Actor.from_request(self.request), user=form.user, how="changed")
        messages.success(self.request, "Your password is changed.")
        return response


RESETS_PER_HOUR = 5  # per address and per e-mail address


class PasswordResetView(auth_views.PasswordResetView):
    """Asking for a reset link. The page answers the same whatever was typed; past
    RESETS_PER_HOUR requests from one address, or for one e-mail address, in an hour, no more mail
    goes out (a mailbox is not flooded, accounts are not probed). A request for an account's
    address is audited."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-sent")

    def form_valid(self, form: Any) -> HttpResponse:
        from django.core.cache import cache
        from django.shortcuts import redirect as go

        from ketacare.audit.context import client_ip

        email = form.cleaned_data["email"].strip().lower()
        keys = [
            f"reset:ip:{client_ip(self.request)}",
            f"reset:email:{hashlib.sha256(email.encode()).hexdigest()}",
        ]
        counts = []
        for key in keys:
            cache.add(key, 0, timeout=3600)
            counts.append(cache.incr(key))
        if max(counts) > RESETS_PER_HOUR:
            return go(self.success_url)
        for user in form.get_users(email):
            services.password_reset_requested(actor=Actor.from_request(self.request), user=user)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Setting a new password from the e-mailed link, audited. The second factor is still asked
    at the next sign-in: a reset by e-mail never bypasses it."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.password_changed(
            actor=Actor.from_request(self.request), user=form.user, how="reset by e-mail link"
        )
        return response
