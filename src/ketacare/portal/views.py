"""The clinic's public pages (no sign-in) and the clinic admin's editing of them."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor, client_ip
from ketacare.audit.services import Action, audit_list_view, audit_record
from ketacare.clinical.prescreen import QUESTIONS
from ketacare.clinical.prescreen import for_staff as prescreen_lines
from ketacare.patients.services import PossibleDuplicateError
from ketacare.portal import selectors, services
from ketacare.portal.forms import DeclineForm, EnquiryForm, NoteForm, PageForm, ReferForm, SiteForm
from ketacare.portal.models import Enquiry
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


# -- "Talk to a doctor": the public enquiry form and the front desk's queue ------------------------

ENQUIRY_VIEW, ENQUIRY_CHANGE = "portal.view_enquiry", "portal.change_enquiry"


def _address_key(request: HttpRequest) -> str:
    address = client_ip(request) or "unknown"
    return "ketacare:enquiries:" + hashlib.sha256(address.encode()).hexdigest()[:32]


def _over_the_limit(request: HttpRequest) -> bool:
    """Every form sent from one address counts for an hour; past the limit it is not read. The
    address is kept only as a digest in the cache, never logged."""
    key = _address_key(request)
    cache.add(key, 0, 3600)
    try:
        sent = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 3600)
        sent = 1
    return sent > settings.ENQUIRIES_PER_HOUR


@login_not_required
@require_http_methods(["GET", "POST"])
def enquiry_new(request: HttpRequest) -> HttpResponse:
    site = selectors.site()
    context: dict[str, Any] = {"site": site, "pages": selectors.titles()}
    if request.method == "POST" and _over_the_limit(request):
        context["limited"] = True
        return render(request, "portal/enquiry_thanks.html", context, status=429)
    form = EnquiryForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if form.trapped:  # a robot: thanked, and nothing kept
            return render(request, "portal/enquiry_thanks.html", context)
        details, phq9 = form.enquiry()
        enquiry = services.enquiry_submit(actor=Actor.from_request(request), details=details, phq9=phq9)
        context["enquiry"] = enquiry
        return render(request, "portal/enquiry_thanks.html", context)
    context["form"] = form
    return render(
        request,
        "portal/enquiry_form.html",
        context,
        status=UNPROCESSABLE if request.method == "POST" else 200,
    )


@requires(ENQUIRY_VIEW)
@require_GET
def enquiry_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    if status != "open" and status not in Enquiry.Status.values:
        status = "open"
    rows = selectors.enquiry_queue(status)
    audit_list_view(actor=Actor.from_request(request), object_type="portal.enquiry", ids=[e.pk for e in rows])
    return render(
        request,
        "portal/enquiry_list.html",
        {"rows": rows, "status": status, "statuses": Enquiry.Status.choices, "today": timezone.localdate()},
    )


def _enquiry_page(request: HttpRequest, enquiry: Enquiry, status: int = 200, **forms: Any) -> HttpResponse:
    context = {
        "enquiry": enquiry,
        "prescreen": prescreen_lines(enquiry.prescreen),
        "answers": [(q, enquiry.prescreen.get(q.code, "")) for q in QUESTIONS],
        "note_form": forms.get("note_form") or NoteForm(),
        "decline_form": forms.get("decline_form") or DeclineForm(),
        "refer_form": forms.get("refer_form") or ReferForm(),
        "duplicates": forms.get("duplicates"),
    }
    return render(request, "portal/enquiry_detail.html", context, status=status)


@requires(ENQUIRY_VIEW)
@require_GET
def enquiry_detail(request: HttpRequest, enquiry_id: int) -> HttpResponse:
    enquiry = get_object_or_404(Enquiry.objects.select_related("handled_by", "referral"), pk=enquiry_id)
    audit_record(actor=Actor.from_request(request), action=Action.VIEW, obj=enquiry)
    return _enquiry_page(request, enquiry)


ENQUIRY_ACTIONS = ("called-back", "decline", "refer")


@requires(ENQUIRY_CHANGE)
@require_POST
def enquiry_action(request: HttpRequest, enquiry_id: int, action: str) -> HttpResponse:
    if action not in ENQUIRY_ACTIONS:
        raise Http404("No such action.")
    enquiry = get_object_or_404(Enquiry, pk=enquiry_id)
    actor = Actor.from_request(request)
    form: Any = {"refer": ReferForm, "decline": DeclineForm}.get(action, NoteForm)(request.POST)
    key = {"called-back": "note_form", "decline": "decline_form", "refer": "refer_form"}[action]
    if not form.is_valid():
        return _enquiry_page(request, enquiry, UNPROCESSABLE, **{key: form})
    try:
        if action == "called-back":
            services.enquiry_called_back(actor=actor, enquiry=enquiry, note=form.cleaned_data["note"])
            done = "Noted: called back."
        elif action == "decline":
            services.enquiry_decline(actor=actor, enquiry=enquiry, reason=form.cleaned_data["note"])
            done = "The enquiry is closed as declined, with the reason."
        else:
            enquiry = services.enquiry_refer(actor=actor, enquiry=enquiry, **form.cleaned_data)
            messages.success(
                request, "Registered, with the self-referral: book the consultation from the chart."
            )
            assert enquiry.referral is not None  # noqa: S101 - set by enquiry_refer
            return redirect("patients:chart", enquiry.referral.patient_id)
    except PossibleDuplicateError as exc:
        apply_errors(form, exc)
        return _enquiry_page(request, enquiry, UNPROCESSABLE, **{key: form, "duplicates": exc.candidates})
    except ValidationError as exc:
        if action != "refer":
            exc = ValidationError({"note": exc.messages})
        apply_errors(form, exc)
        return _enquiry_page(request, enquiry, UNPROCESSABLE, **{key: form})
    messages.success(request, done)
    return redirect("portal:enquiry", enquiry_id=enquiry.pk)


@login_not_required
@require_http_methods(["GET", "POST"])
def stop_messages(request: HttpRequest, token: str) -> HttpResponse:
    """The link in every message: stop that channel (asked, then done on a button, so that a
    link previewer opening it stops nothing)."""
    from ketacare.portal import reminders
    from ketacare.portal.models import ContactPreference, Message

    channel = request.GET.get("channel", "")
    known = ContactPreference.objects.filter(token=token).exists() and channel in Message.Channel.values
    context: dict[str, Any] = {"site": selectors.site(), "pages": selectors.titles(), "known": known}
    context["channel_label"] = Message.Channel(channel).label.lower() if known else ""
    if request.method == "POST" and known:
        reminders.stop(token, channel)
        context["stopped"] = True
    return render(request, "portal/stop.html", context, status=200 if known else 404)
