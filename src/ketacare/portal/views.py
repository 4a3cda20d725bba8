"""The clinic's public pages (no sign-in) and the clinic admin's editing of them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor, client_ip
from ketacare.audit.services import Action, audit_list_view, audit_record, audit_rows_view
from ketacare.clinical import instruments
from ketacare.clinical.outcomes import OUTCOME_SCALES
from ketacare.clinical.prescreen import QUESTIONS
from ketacare.clinical.prescreen import for_staff as prescreen_lines
from ketacare.patients import consent as consent_kinds
from ketacare.patients import consent_pdf
from ketacare.patients import selectors as patient_selectors
from ketacare.patients import services as patient_services
from ketacare.patients.models import ConsentSignature
from ketacare.patients.services import PossibleDuplicateError
from ketacare.portal import limits, patient_access, selectors, services
from ketacare.portal.content import PREPARATION, PREPARATION_BY_ROUTE
from ketacare.portal.forms import (
    ConsentPublishForm,
    ConsentSignForm,
    ConsentWithdrawForm,
    DeclineForm,
    EnquiryForm,
    MoveRequestForm,
    NoteForm,
    PageForm,
    PortalCodeForm,
    PortalSignInForm,
    ReferForm,
    ShareForm,
    SiteForm,
)
from ketacare.portal.models import Enquiry
from ketacare.ui.forms import UNPROCESSABLE, apply_errors, cleaned, saved, status_of
from ketacare.ui.views import missing_as_404, require_perm

EDIT = "portal.edit_public_site"


def _public(**context: Any) -> dict[str, Any]:
    """A public page's context: what its frame shows (the clinic's details, its pages' titles)
    and the page's own `context`."""
    return {"site": selectors.site(), "pages": selectors.titles(), **context}


def public_home(request: HttpRequest) -> HttpResponse:
    """The clinic's front page for a visitor (web:home shows it to anyone not signed in)."""
    return render(request, "portal/public_home.html", _public())


@login_not_required
@require_GET
def public_page(request: HttpRequest, slug: str) -> HttpResponse:
    shown = selectors.page(slug)
    if shown is None:
        raise Http404("No such page.")
    context = _public(shown=shown)
    if slug == "evidence":
        context["published"] = selectors.published()
        context["own"] = selectors.own_figures() if context["site"].show_own_figures else None
    return render(request, "portal/public_page.html", context)


@requires(EDIT)
@require_http_methods(["GET", "POST"])
def site_edit(request: HttpRequest) -> HttpResponse:
    """The clinic admin's list of pages and the clinic's details."""
    site = selectors.site()
    form = SiteForm(request.POST if request.method == "POST" else None, instance=site)
    if request.method == "POST" and (
        done := saved(
            request,
            form,
            lambda: services.site_save(actor=Actor.from_request(request), **form.cleaned_data),
            said="The clinic's details are saved.",
            to="portal:site",
        )
    ):
        return done
    pages = [*selectors.titles(), *((p, p.title) for p in PREPARATION)]
    consents = (
        patient_selectors.consent_current_documents().values()
        if request.user.has_perm(patient_services.CONSENT_PUBLISH)
        else []
    )
    return render(
        request,
        "portal/site.html",
        {"form": form, "pages": pages, "consents": consents},
        status=status_of(request),
    )


@requires(EDIT)
@require_http_methods(["GET", "POST"])
def page_edit(request: HttpRequest, slug: str) -> HttpResponse:
    shown = selectors.page(slug)
    if shown is None:
        raise Http404("No such page.")
    initial = {"title": shown.title, "body": shown.body}
    form = PageForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and (
        done := saved(
            request,
            form,
            lambda: services.page_save(actor=Actor.from_request(request), slug=slug, **form.cleaned_data),
            said=lambda _: f"“{form.cleaned_data['title']}” is saved and shown to visitors.",
            to=reverse("portal:page-edit", args=[slug]),
        )
    ):
        return done
    return render(request, "portal/page_edit.html", {"form": form, "shown": shown}, status=status_of(request))


# -- "Talk to a doctor": the public enquiry form and the front desk's queue ------------------------

ENQUIRY_VIEW, ENQUIRY_CHANGE = "portal.view_enquiry", "portal.change_enquiry"


def _over_the_limit(request: HttpRequest, what: str, limit: int) -> bool:
    """Each form sent from one address counts for an hour; past the limit it is not read."""
    return limits.count(what, client_ip(request)) > limit


@login_not_required
@require_http_methods(["GET", "POST"])
def enquiry_new(request: HttpRequest) -> HttpResponse:
    context = _public()
    if request.method == "POST" and _over_the_limit(request, "enquiries", settings.ENQUIRIES_PER_HOUR):
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
        status=status_of(request),
    )


@requires(ENQUIRY_VIEW)
@require_GET
def enquiry_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    if status != "open" and status not in Enquiry.Status.values:
        status = "open"
    rows = selectors.enquiry_queue(status)
    actor = Actor.from_request(request)
    audit_list_view(actor=actor, object_type="portal.enquiry", ids=[e.pk for e in rows])
    user: Any = request.user
    moves = selectors.open_move_requests() if user.has_perm("portal.view_moverequest") else None
    if moves:
        audit_rows_view(actor=actor, object_type="portal.moverequest", rows=moves)
    return render(
        request,
        "portal/enquiry_list.html",
        {
            "rows": rows,
            "status": status,
            "statuses": Enquiry.Status.choices,
            "today": timezone.localdate(),
            "moves": moves,
        },
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
    context = _public(known=known)
    context["channel_label"] = Message.Channel(channel).label.lower() if known else ""
    if request.method == "POST" and known:
        reminders.stop(token, channel)
        context["stopped"] = True
    return render(request, "portal/stop.html", context, status=200 if known else 404)


# -- The patient portal: sign-in by a one-time code, then the patient's own page ----------------

PORTAL_IDLE_SECONDS = 15 * 60  # as the staff's idle sign-out


def _portal_actor(request: HttpRequest, mrn: str = "") -> Actor:
    actor = Actor.from_request(request)
    return Actor(
        user=None,
        ip=actor.ip,
        user_agent=actor.user_agent,
        system=f"patient-portal:{mrn}" if mrn else "patient-portal",
    )


def _portal_patient(request: HttpRequest) -> Any:
    """The signed-in patient, or None (never signed in, signed out, or idle too long)."""
    from ketacare.patients.models import Patient

    pk, seen = request.session.get(patient_access.SESSION_KEY), request.session.get("ketacare_portal_seen", 0)
    now = int(timezone.now().timestamp())
    if pk is None or now - int(seen) > PORTAL_IDLE_SECONDS:
        request.session.pop(patient_access.SESSION_KEY, None)
        return None
    request.session["ketacare_portal_seen"] = now
    return Patient.objects.filter(pk=pk).first()


def signed_in_patient(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A portal page: the signed-in patient is handed to the view; anyone else goes to sign in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patient = _portal_patient(request)
        if patient is None:
            return redirect("portal:portal-sign-in")
        return view(request, patient, *args, **kwargs)

    return wrapped


@login_not_required
@require_http_methods(["GET", "POST"])
def portal_sign_in(request: HttpRequest) -> HttpResponse:
    context = _public()
    form = PortalSignInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if _over_the_limit(
            request, "portal-codes", patient_access.CODE_REQUESTS_PER_HOUR
        ) or patient_access.paused(client_ip(request)):
            context["limited"] = True
            return render(request, "portal/portal_sign_in.html", {**context, "form": form}, status=429)
        code_id = patient_access.code_send(
            actor=_portal_actor(request),
            contact=form.cleaned_data["contact"],
            born=form.cleaned_data["date_of_birth"],
        )
        request.session["ketacare_portal_code"] = code_id
        return redirect("portal:portal-code")
    context["form"] = form
    return render(
        request,
        "portal/portal_sign_in.html",
        context,
        status=status_of(request),
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def portal_code(request: HttpRequest) -> HttpResponse:
    context = _public()
    form = PortalCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if patient_access.paused(client_ip(request)):
            context["limited"] = True
            return render(request, "portal/portal_code.html", {**context, "form": form}, status=429)
        checked = patient_access.code_check(
            actor=_portal_actor(request),
            code_id=request.session.get("ketacare_portal_code"),
            typed=form.cleaned_data["code"],
        )
        if checked.patient_id is not None:
            request.session.cycle_key()
            request.session.pop("ketacare_portal_code", None)
            request.session[patient_access.SESSION_KEY] = checked.patient_id
            request.session["ketacare_portal_seen"] = int(timezone.now().timestamp())
            return redirect("portal:portal-home")
        form.add_error("code", checked.problem)
    context["form"] = form
    return render(request, "portal/portal_code.html", context, status=status_of(request))


@login_not_required
@require_GET
@signed_in_patient
def portal_home(request: HttpRequest, patient: Any) -> HttpResponse:
    from ketacare.measures import plots
    from ketacare.measures import selectors as measures
    from ketacare.treatment.models import Appointment

    upcoming = list(
        Appointment.objects.filter(
            patient=patient, status=Appointment.Status.BOOKED, starts_at__gte=timezone.now()
        )
        .select_related("plan")
        .order_by("starts_at")[:10]
    )
    routes = {a.plan.route for a in upcoming}
    preparation = [
        selectors.page(PREPARATION_BY_ROUTE[r]) for r in sorted(routes) if r in PREPARATION_BY_ROUTE
    ]
    # The patient's own questionnaires (outcome scales they fill in), not the clinician's ratings
    # made in the session (dissociation, the MADRS).
    scales = [
        t
        for t in measures.trajectories(patient_id=patient.pk)
        if t.instrument in OUTCOME_SCALES and instruments.get(t.instrument).rater == "patient"
    ]
    states = _consent_states(patient.pk)
    asked = selectors.consent_kinds_for(patient.pk)
    context = {
        "patient": patient,
        "upcoming": upcoming,
        "preparation": preparation,
        "scales": scales,
        "plot": plots.trajectory_svg_cached(patient.pk, scales) if scales else "",
        # A consent the patient withdrew is not asked of them again (they may sign it again from
        # "What you signed").
        "to_sign": [s for s in states if s.kind.code in asked and s.signed is None and s.withdrawn is None],
        "move_requested": selectors.move_requested(patient.pk) if upcoming else set(),
        "questionnaires": measures.open_links(patient_id=patient.pk),
        "documents": selectors.shared_documents(patient.pk, shared_only=True, limit=20),
        "signed": _signed_rows(states),
    }
    audit_record(
        actor=_portal_actor(request, patient.mrn), action=Action.VIEW, obj=patient, detail={"portal": True}
    )
    return _portal_page(request, "portal/portal_home.html", context)


@login_not_required
@require_POST
def portal_sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(patient_access.SESSION_KEY, None)
    request.session.cycle_key()
    return redirect("portal:portal-sign-in")


# -- Consent: the patient reads and signs, keeps a copy, may withdraw ------------------------------


def _consent_states(patient_id: int) -> list[patient_selectors.ConsentState]:
    """The patient's consents, each counted from their current eligible decision covering its
    route (before it, a consent is there to read, not to sign). Three queries."""
    from ketacare.screening.selectors import eligible_since

    return patient_selectors.consent_states(
        patient_id=patient_id, decided=eligible_since(patient_id=patient_id)
    )


def _consent_state(patient_id: int, kind: str) -> patient_selectors.ConsentState:
    return next(s for s in _consent_states(patient_id) if s.kind.code == kind)


def _signed_rows(states: list[patient_selectors.ConsentState]) -> list[tuple[ConsentSignature, bool]]:
    """Every consent the patient signed, newest first, and whether it is the one that counts now."""
    rows = [(s, patient_selectors.is_current(s, states)) for state in states for s in state.signatures]
    return sorted(rows, key=lambda row: (row[0].signed_at, row[0].pk), reverse=True)


def _portal_page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    response = render(request, template, _public(**context), status=status)
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
@require_http_methods(["GET", "POST"])
@signed_in_patient
def portal_consent(request: HttpRequest, patient: Any, kind: str) -> HttpResponse:
    """One consent document to read, and to sign by typing one's full name once the patient's
    signed candidacy decision covers its route (before, to read only); once signed, when it was
    signed, the copy to download, and the way to withdraw."""
    if kind not in consent_kinds.BY_CODE:
        raise Http404("No such consent.")
    actor = _portal_actor(request, patient.mrn)
    form = ConsentSignForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        from ketacare.screening.selectors import eligible_since

        decided_at = eligible_since(patient_id=patient.pk).get(kind)
        done = saved(
            request,
            form,
            lambda: patient_services.consent_sign(
                actor=actor,
                patient=patient,
                kind=kind,
                **cleaned(form, SIGN_FIELDS),
                decided_at=decided_at,
            ),
            place=lambda exc: (
                ValidationError({"typed_name": exc.messages}) if not hasattr(exc, "error_dict") else exc
            ),
            said=None,
            to=reverse("portal:portal-consent", args=[kind]),
        )
        if done:
            return done
    audit_record(actor=actor, action=Action.VIEW, obj=patient, detail={"portal": True, "consent": kind})
    return _consent_page(
        request, patient, kind, status_of(request), sign=form if request.method == "POST" else None
    )


def _consent_page(
    request: HttpRequest,
    patient: Any,
    kind: str,
    status: int,
    *,
    sign: ConsentSignForm | None = None,
    withdraw: ConsentWithdrawForm | None = None,
) -> HttpResponse:
    """The consent document with its forms: to sign (of the version shown) and to withdraw, or
    the one posted (`sign`, `withdraw`) shown again with its errors."""
    state = _consent_state(patient.pk, kind)
    return _portal_page(
        request,
        "portal/portal_consent.html",
        {
            "patient": patient,
            "state": state,
            "form": sign if sign is not None else ConsentSignForm(initial={"version": state.current.version}),
            "withdraw_form": withdraw if withdraw is not None else ConsentWithdrawForm(),
        },
        status=status,
    )


# The signing form's fields consent_sign takes by the same name.
SIGN_FIELDS = ("version", "typed_name", "understood")


def _own_signature(patient: Any, signature_id: int) -> ConsentSignature:
    """One of the signed-in patient's own signatures; anyone else's is a 404, as no such one."""
    return get_object_or_404(
        ConsentSignature.objects.select_related("document", "patient", "witness", "withdrawn_by"),
        pk=signature_id,
        patient=patient,
    )


@login_not_required
@require_POST
@signed_in_patient
def portal_consent_withdraw(request: HttpRequest, patient: Any, signature_id: int) -> HttpResponse:
    signature = _own_signature(patient, signature_id)
    kind = signature.document.kind
    form = ConsentWithdrawForm(request.POST)
    actor = _portal_actor(request, patient.mrn)
    done = saved(
        request,
        form,
        lambda: patient_services.consent_withdraw(
            actor=actor, signature=signature, reason=form.cleaned_data["reason"], by_patient=True
        ),
        place=lambda exc: ValidationError({"confirm": exc.messages}),
        said=None,
        to=reverse("portal:portal-consent", args=[kind]),
    )
    return done or _consent_page(request, patient, kind, UNPROCESSABLE, withdraw=form)


@login_not_required
@require_GET
@signed_in_patient
def portal_consent_copy(request: HttpRequest, patient: Any, signature_id: int) -> HttpResponse:
    signature = _own_signature(patient, signature_id)
    pdf = consent_pdf.copy_pdf(signature)
    audit_record(
        actor=_portal_actor(request, patient.mrn),
        action=Action.VIEW,
        obj=signature,
        detail={"portal": True, "copy": "pdf"},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{consent_pdf.copy_filename(signature)}"'
    response["Cache-Control"] = "no-store"
    return response


# -- The clinic admin publishes the consent documents ----------------------------------------------


@requires(patient_services.CONSENT_PUBLISH)
@require_http_methods(["GET", "POST"])
def consent_edit(request: HttpRequest, kind: str) -> HttpResponse:
    """A consent document's current version, the form to publish a new one (it starts from the
    current text), and every version published, with how many signed each."""
    if kind not in consent_kinds.BY_CODE:
        raise Http404("No such consent.")
    current = patient_selectors.consent_current(kind)
    form = ConsentPublishForm(
        request.POST if request.method == "POST" else None,
        initial={"title": current.title, "body": current.body},
    )
    if request.method == "POST" and (
        done := saved(
            request,
            form,
            lambda: patient_services.consent_publish(
                actor=Actor.from_request(request), kind=kind, **cleaned(form, ("title", "body"))
            ),
            said=lambda document: (
                f"Version {document.version} is published: patients are asked to sign it, and a new "
                "course by this route starts only once they have."
            ),
            to=reverse("portal:consent-edit", args=[kind]),
        )
    ):
        return done
    return render(
        request,
        "portal/consent_edit.html",
        {"current": current, "form": form, "versions": patient_selectors.consent_versions(kind)},
        status=status_of(request),
    )


# -- The patient asks to move an appointment, fills in a questionnaire due, opens a document -------


@login_not_required
@require_http_methods(["GET", "POST"])
@signed_in_patient
def portal_move(request: HttpRequest, patient: Any, appointment_id: int) -> HttpResponse:
    """Ask the front desk to move one of one's own upcoming appointments (it stays booked until
    they move it on the calendar)."""
    from ketacare.treatment.models import Appointment

    appointment = get_object_or_404(
        Appointment, pk=appointment_id, patient_id=patient.pk, status=Appointment.Status.BOOKED
    )
    form = MoveRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and (
        done := saved(
            request,
            form,
            lambda: services.move_request_make(
                actor=_portal_actor(request, patient.mrn),
                patient=patient,
                appointment_id=appointment.pk,
                preferred=form.cleaned_data["preferred"],
            ),
            said="Your request is with the front desk: they will contact you.",
            to="portal:portal-home",
        )
    ):
        return done
    return _portal_page(
        request,
        "portal/portal_move.html",
        {"appointment": appointment, "form": form},
        status=status_of(request),
    )


@login_not_required
@require_http_methods(["GET", "POST"])
@signed_in_patient
def portal_questionnaire(request: HttpRequest, patient: Any, link_id: int) -> HttpResponse:
    """A questionnaire the care team asked for, answered from the patient's page: the same
    questions and the same single use as the link sent by e-mail or text."""
    from ketacare.measures import services as measures
    from ketacare.measures import wording
    from ketacare.measures.forms import AnswersForm

    try:
        link = measures.self_report_link_own(link_id=link_id, patient_id=patient.pk)
    except measures.LinkUnusable as exc:
        return _portal_page(request, "portal/portal_questionnaire.html", {"closed": exc}, status=410)
    scale = instruments.get(link.instrument)
    form = AnswersForm(
        request.POST if request.method == "POST" else None, instrument=scale, patient_facing=True
    )
    context: dict[str, Any] = {"scale": scale, "form": form, "stem": wording.stem(scale)}
    if request.method == "POST" and form.is_valid():
        try:
            context["done"] = measures.self_report_submit_own(
                actor=_portal_actor(request, patient.mrn),
                link_id=link.pk,
                patient_id=patient.pk,
                answers=form.answers(),
            )
        except measures.LinkUnusable as exc:
            return _portal_page(request, "portal/portal_questionnaire.html", {"closed": exc}, status=410)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            context["crisis_text"] = settings.CRISIS_TEXT
            return _portal_page(request, "portal/portal_questionnaire.html", context)
    return _portal_page(
        request,
        "portal/portal_questionnaire.html",
        context,
        status=status_of(request),
    )


@login_not_required
@require_GET
@signed_in_patient
def portal_document(request: HttpRequest, patient: Any, document_id: int) -> HttpResponse:
    """A letter or report the clinic shared with the patient, as it was when shared."""
    from ketacare.portal.models import SharedDocument

    with missing_as_404(SharedDocument.DoesNotExist, "No such document."):
        document = services.document_open(
            actor=_portal_actor(request, patient.mrn), patient=patient, document_id=document_id
        )
    response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{document.kind.replace("_", "-")}-{document.pk}.pdf"'
    )
    response["Cache-Control"] = "no-store"
    return response


# -- Staff: the requests to move an appointment, and what is shared with the patient ---------------

MOVE_ACTIONS = {"moved": True, "not-moved": False}


@requires("portal.change_moverequest")
@require_POST
def move_request_action(request: HttpRequest, request_id: int, action: str) -> HttpResponse:
    from ketacare.portal.models import MoveRequest

    if action not in MOVE_ACTIONS:
        raise Http404("No such action.")
    move = get_object_or_404(MoveRequest, pk=request_id)
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        services.move_request_close(
            actor=Actor.from_request(request),
            request=move,
            moved=MOVE_ACTIONS[action],
            note=form.cleaned_data.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, "The request is closed." if MOVE_ACTIONS[action] else "Closed as not moved."
        )
    return redirect("portal:enquiries")


@requires("portal.view_shareddocument", "patients.view_patient")
@require_http_methods(["GET", "POST"])
def shared_documents(request: HttpRequest, patient_id: int) -> HttpResponse:
    """What the patient was given in the portal (when, by whom, whether they opened it), and a
    physician's sharing of a letter or the progress report."""
    from ketacare.patients.models import Patient

    patient = get_object_or_404(Patient, pk=patient_id)
    actor = Actor.from_request(request)
    form = ShareForm(request.POST if request.method == "POST" else None, patient_id=patient.pk)
    if request.method == "POST":
        require_perm(request, "portal.share_document")
        done = saved(
            request,
            form,
            lambda: services.document_share(actor=actor, patient=patient, **form.choice()),
            said=lambda shared: f"Shared with the patient: {shared.title}.",
            to=reverse("portal:shared", args=[patient.pk]),
        )
        if done:
            return done
    rows = selectors.shared_documents(patient.pk)
    audit_list_view(
        actor=actor, object_type="portal.shareddocument", ids=[d.pk for d in rows], patients=[patient.pk]
    )
    return render(
        request,
        "portal/shared_documents.html",
        {"patient": patient, "rows": rows, "form": form},
        status=status_of(request),
    )


@requires("portal.change_shareddocument")
@require_POST
def shared_document_stop(request: HttpRequest, patient_id: int, document_id: int) -> HttpResponse:
    from ketacare.portal.models import SharedDocument

    document = get_object_or_404(SharedDocument, pk=document_id, patient_id=patient_id)
    try:
        services.document_unshare(actor=Actor.from_request(request), document=document)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"No longer shared: {document.title}.")
    return redirect("portal:shared", patient_id=patient_id)


def chart_panel(request: HttpRequest, patient: Any) -> str:
    """The chart's section on what the patient was given in the portal (composed in
    web/chart.py), for staff who may see it. One query."""
    user: Any = request.user
    if not user.has_perm("portal.view_shareddocument"):
        return ""
    return render_to_string(
        "portal/_chart_panel.html",
        {
            "patient": patient,
            "documents": selectors.shared_documents(patient.pk, limit=5),
            "can_share": user.has_perm("portal.share_document"),
        },
        request=request,
    )
