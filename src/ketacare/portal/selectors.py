"""Reads for the public pages: each page's text (the clinic's, or the shipped default) as safe
HTML, the clinic's details, and the evidence: the published figures, and the clinic's own if it
chose to publish them (read from the stored outcomes, kept for ten minutes)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.core.cache import cache

from ketacare.clinical.outcomes import PUBLISHED, Published
from ketacare.portal.content import BY_SLUG, PAGES, Page
from ketacare.portal.models import Enquiry, PublicPage, PublicSite
from ketacare.ui.markdown import render

OWN_FIGURES_KEY = "ketacare:portal:own-figures"
OWN_FIGURES_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Shown:
    page: Page
    title: str
    html: str
    body: str
    edited: bool


def site() -> PublicSite:
    return PublicSite.objects.filter(pk=1).first() or PublicSite()


def page(slug: str) -> Shown | None:
    """One page as the public sees it, or None for a slug that is not a page. One query."""
    known = BY_SLUG.get(slug)
    if known is None:
        return None
    row = PublicPage.objects.filter(slug=slug).first()
    body = row.body if row else known.default_body()
    return Shown(known, row.title if row else known.title, render(body), body, row is not None)


def titles() -> list[tuple[Page, str]]:
    """Every page with the title the clinic gave it. One query."""
    given = dict(PublicPage.objects.values_list("slug", "title"))
    return [(p, given.get(p.slug, p.title)) for p in PAGES]


def published() -> list[Published]:
    """The studies' figures, then the advertising claim, named for what it is and shown last (a
    visitor must not read it as this clinic's, nor as a study's)."""
    claims = [p for p in PUBLISHED if p.definition.startswith("undefined")]
    studies = [p for p in PUBLISHED if p not in claims]
    return studies + [replace(c, source="Claim seen in clinics' advertising (not a study)") for c in claims]


def own_figures() -> dict[str, Any] | None:
    """The clinic's PHQ-9 response after the first treatment and after the course, intention to
    treat with its 95% interval, as the outcome dashboard last computed them; None until a first
    treatment has been given. Cached: an anonymous visitor never starts a computation."""
    cached = cache.get(OWN_FIGURES_KEY)
    if cached is not None:
        return cached or None
    from ketacare.outcomes.selectors import Filters, dashboard

    figures = dashboard(Filters(instrument="phq9"), with_speed=False)
    shown: dict[str, Any] = {}
    if figures.patients:
        shown = {
            "patients": figures.patients,
            "points": [
                (label, when, _percent(figures.points[point].itt))
                for point, label, when in (
                    ("first", "After the first treatment", figures.rules.first_treatment_text()),
                    ("course", "After the course", figures.rules.course_text()),
                )
            ],
            "response_text": figures.response_text,
        }
    cache.set(OWN_FIGURES_KEY, shown, OWN_FIGURES_SECONDS)
    return shown or None


def _percent(rates: Any) -> dict[str, Any]:
    """A response figure in whole percents: rate, its 95% interval, and how many it counts."""
    r = rates.response
    low, high = r.ci95 if r.ci95 else (None, None)
    return {"n": r.n, "responders": r.events, "rate": _pct(r.rate), "low": _pct(low), "high": _pct(high)}


def _pct(share: float | None) -> int | None:
    return None if share is None else round(100 * share)


def enquiry_queue(status: str = "open") -> list[Enquiry]:
    """The front desk's queue: open enquiries (new and called back), urgent first then oldest
    first; or those of one status. One query."""
    qs = Enquiry.objects.only(
        "id",
        "given_name",
        "family_name",
        "date_of_birth",
        "phone",
        "call_time",
        "seeking",
        "urgent",
        "received_at",
        "status",
        "phq9_total",
        "prescreen",
    )
    if status == "open":
        qs = qs.filter(status__in=[Enquiry.Status.NEW, Enquiry.Status.CALLED_BACK])
    else:
        qs = qs.filter(status=status)
    return list(qs.order_by("-urgent", "received_at", "id")[:200])


def enquiry_counts() -> dict[str, int]:
    """New enquiries, and the urgent ones among them (nobody has called back yet): for the home
    page. One query."""
    from django.db.models import Count, Q

    new = Q(status=Enquiry.Status.NEW)
    return Enquiry.objects.aggregate(
        new=Count("id", filter=new), urgent=Count("id", filter=new & Q(urgent=True))
    )


def consent_kinds_for(patient_id: int) -> list[str]:
    """The consents a patient is asked to sign on their page: the one for the route of their
    course (booked or under way); before a course, those for the routes their physician's signed
    decision makes them eligible for; before any decision, every route's (to read ahead of the
    consultation). A patient found not eligible is asked for none. Two queries at most."""
    from ketacare.patients.consent import KIND_OF_TREATMENT_ROUTE, KINDS
    from ketacare.screening.selectors import current_decision
    from ketacare.treatment.models import TreatmentPlan

    route = (
        TreatmentPlan.objects.active().filter(patient_id=patient_id).values_list("route", flat=True).first()
    )
    if route is not None:
        return [KIND_OF_TREATMENT_ROUTE[route]]
    decision = current_decision(patient_id=patient_id)
    if decision is None:
        return [k.code for k in KINDS]
    return [k.code for k in KINDS if decision.is_eligible and k.code in decision.routes]


def shared_documents(patient_id: int, *, shared_only: bool = False, limit: int = 100) -> list[Any]:
    """The letters and reports shared with a patient, newest first, without their PDF (read
    only when downloaded). `shared_only`: those the patient may still open (the portal). One
    query."""
    from ketacare.portal.models import SharedDocument

    qs = SharedDocument.objects.filter(patient_id=patient_id).defer("pdf")
    if shared_only:
        qs = qs.filter(withdrawn_at__isnull=True)
    else:
        qs = qs.select_related("shared_by", "withdrawn_by")
    return list(qs.order_by("-shared_at", "-id")[:limit])


def open_move_requests() -> list[Any]:
    """The patients' requests to move an appointment that nobody has closed, oldest first, with
    the patient and the appointment. One query."""
    from ketacare.portal.models import MoveRequest

    return list(
        MoveRequest.objects.filter(status=MoveRequest.Status.OPEN)
        .select_related("patient", "appointment")
        .order_by("made_at", "id")[:200]
    )


def move_requested(patient_id: int) -> set[int]:
    """The patient's appointments with a request to move them waiting. One query."""
    from ketacare.portal.models import MoveRequest

    return set(
        MoveRequest.objects.filter(patient_id=patient_id, status=MoveRequest.Status.OPEN).values_list(
            "appointment_id", flat=True
        )
    )
