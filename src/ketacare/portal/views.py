"""The clinic's public pages (no sign-in) and the clinic admin's editing of them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor
from ketacare.portal import selectors, services
from ketacare.portal.forms import PageForm, SiteForm
from ketacare.ui.forms import UNPROCESSABLE, apply_errors

EDIT = "portal.edit_public_site"


def public_home(request: HttpRequest) -> HttpResponse:
    """The clinic's front page for a visitor (web:home shows it to anyone not signed in)."""
    return render(request, "portal/public_home.html", {"site": selectors.site(), "pages": selectors.titles()})


@login_not_required
@require_GET
def public_page(request: HttpRequest, slug: str) -> HttpResponse:
    shown = selectors.page(slug)
    if shown is None:
        raise Http404("No such page.")
    site = selectors.site()
    context: dict[str, Any] = {"site": site, "pages": selectors.titles(), "shown": shown}
    if slug == "evidence":
        context["published"] = selectors.published()
        context["own"] = selectors.own_figures() if site.show_own_figures else None
    return render(request, "portal/public_page.html", context)


@requires(EDIT)
@require_http_methods(["GET", "POST"])
def site_edit(request: HttpRequest) -> HttpResponse:
    """The clinic admin's list of pages and the clinic's details."""
    site = selectors.site()
    form = SiteForm(request.POST if request.method == "POST" else None, instance=site)
    if request.method == "POST" and form.is_valid():
        try:
            services.site_save(actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "The clinic's details are saved.")
            return redirect("portal:site")
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render(request, "portal/site.html", {"form": form, "pages": selectors.titles()}, status=status)


@requires(EDIT)
@require_http_methods(["GET", "POST"])
def page_edit(request: HttpRequest, slug: str) -> HttpResponse:
    shown = selectors.page(slug)
    if shown is None:
        raise Http404("No such page.")
    initial = {"title": shown.title, "body": shown.body}
    form = PageForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.page_save(actor=Actor.from_request(request), slug=slug, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"“{form.cleaned_data['title']}” is saved and shown to visitors.")
            return redirect("portal:page-edit", slug=slug)
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render(request, "portal/page_edit.html", {"form": form, "shown": shown}, status=status)
