"""The clinic admin's staff pages: the accounts, a new account, and each account's role, switch
and sign-in lockout. Every change goes through accounts.services and is audited."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ketacare.accounts import services, signin
from ketacare.accounts.forms import RoleForm, StaffForm
from ketacare.accounts.models import User
from ketacare.accounts.permissions import requires
from ketacare.accounts.roles import Role
from ketacare.audit.context import Actor
from ketacare.web.forms import UNPROCESSABLE, apply_errors


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
    users = list(User.objects.prefetch_related("groups").order_by("-is_active", "username"))
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
            messages.success(request, f"Account {user.username} made ({Role(data['role']).label}).")
            return redirect("accounts:staff-detail", user_id=user.pk)
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render(request, "accounts/staff_form.html", {"form": form}, status=status)


def _detail(
    request: HttpRequest, user: User, role_form: RoleForm | None = None, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {
        "account": user,
        "role": user.role,
        "locked": user.username in _locked_usernames([user.username]),
        "role_form": role_form or RoleForm(initial={"role": user.role}),
        "is_self": user.pk == request.user.pk,
    }
    return render(request, "accounts/staff_detail.html", context, status=status)


@requires("accounts.view_user")
def staff_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    return _detail(request, get_object_or_404(User, pk=user_id))


ACTIONS = ("role", "switch-off", "switch-on", "unlock")


@requires("accounts.change_user")
@require_POST
def staff_action(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    user = get_object_or_404(User, pk=user_id)
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
