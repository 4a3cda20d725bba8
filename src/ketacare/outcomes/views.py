from __future__ import annotations

import csv
import io
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, audit_list_view, audit_record
from ketacare.clinical.outcomes import CLAIM_RANGE, EXCLUDED_TEXT, PUBLISHED, Excluded
from ketacare.clinical.protocols import ROUTE_LABELS
from ketacare.outcomes import plots, rules, selectors, services
from ketacare.outcomes.forms import FiltersForm
from ketacare.outcomes.report import report_pdf
from ketacare.patients.models import Patient
from ketacare.ui.documents import letterhead

BAD_FILTER = 400
SETTINGS_BROKEN = 503  # the outcome settings do not parse: the figures are unavailable


def chart_panel(request: HttpRequest, patient: Patient, *, treated: bool | None = None) -> str:
    """The chart's outcome summary: response and remission, time to response, durability, and the
    maintenance prompt when the scores rise toward relapse. `treated`: False when the caller knows
    the patient never had a dose (no outcome is kept for them: nothing to read), None if unknown."""
    user: Any = request.user
    if not user.has_perm("measures.view_questionnaireresponse") or treated is False:
        return ""
    services.catch_up_patient(patient.pk)
    rows = selectors.patient_outcomes(patient.pk)
    if not rows:
        return ""
    for row in rows:
        for point in ("first", "week", "course"):
            reason = getattr(row, f"excluded_{point}")
            setattr(row, f"{point}_reason", EXCLUDED_TEXT[Excluded(reason)] if reason else "")
    return render_to_string(
        "outcomes/_chart_panel.html",
        {
            "patient": patient,
            "rows": rows,
            "can_book": user.has_perm("treatment.add_appointment"),
            "can_report": user.has_perm("outcomes.view_outcomes"),
        },
        request=request,
    )


def _form(request: HttpRequest) -> FiltersForm:
    return FiltersForm(request.GET or {"instrument": "phq9"})


@requires("outcomes.view_outcomes")
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if not form.is_valid():
        return render(request, "outcomes/dashboard.html", {"form": form}, status=BAD_FILTER)
    filters = form.filters()
    caught_up = services.catch_up()
    if caught_up.failure and rules.problem():
        # Figures cannot be read under settings that do not parse: say so, and nothing else.
        context = {"form": form, "state": services.state()}
        return render(request, "outcomes/dashboard.html", context, status=SETTINGS_BROKEN)
    figures = selectors.dashboard(filters)
    excluded = selectors.left_out(filters)
    prompts = selectors.maintenance_prompts(filters)
    shown = selectors.ids(excluded) + selectors.ids(prompts)
    audit_list_view(actor=Actor.from_request(request), object_type="patients.patient", ids=sorted(set(shown)))
    first_itt = figures.points["first"].itt
    query = request.GET.urlencode()
    return render(
        request,
        "outcomes/dashboard.html",
        {
            "form": form,
            "figures": figures,
            "query": query,
            "claim": (int(CLAIM_RANGE[0] * 100), int(CLAIM_RANGE[1] * 100)),
            "claim_verdict": _claim_verdict(first_itt.response.ci95 if first_itt else None),
            "state": services.state() if caught_up.failure else None,
            "published": PUBLISHED,
            "excluded": excluded,
            "excluded_text": {r.value: t for r, t in EXCLUDED_TEXT.items()},
            "prompts": prompts,
            "names": request.user.has_perm("patients.view_patient"),
            "durability_svg": plots.durability_svg(_curves(figures)) if figures.durability_overall.n else "",
            "speed_svg": plots.speed_svg(figures.speed_rows) if figures.speed_rows else "",
        },
    )


def _curves(figures: selectors.Figures) -> list[Any]:
    """One curve per route, with all routes together only when there is more than one."""
    by_route = list(figures.durability)
    return by_route if len(by_route) == 1 else [figures.durability_overall, *by_route]


def _claim_verdict(ci95: tuple[float, float] | None) -> str:
    """How the clinic's own response after one treatment reads against the advertised 50-70%."""
    if ci95 is None:
        return "Not enough data to compare."
    lo, hi = CLAIM_RANGE
    if ci95[1] < lo:
        return "Below the advertised range: even the top of the interval is under 50%."
    if ci95[0] > hi:
        return "Above the advertised range."
    if ci95[0] >= lo and ci95[1] <= hi:
        return "Within the advertised range."
    return "The interval overlaps the advertised range: the data cannot confirm or rule it out."


CSV_FIGURES = ("rates", "breakdown", "durability", "speed", "excluded", "prompts")


@requires("outcomes.view_outcomes")
@require_GET
def figure_csv(request: HttpRequest, figure: str) -> HttpResponse:
    if figure not in CSV_FIGURES:
        raise Http404("No such figure.")
    form = _form(request)
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items())
        return HttpResponse(errors, status=BAD_FILTER, content_type="text/plain; charset=utf-8")
    filters = form.filters()
    services.catch_up()
    out = io.StringIO()
    writer = csv.writer(out)
    shown: list[int] = []
    if figure == "rates":
        figures = selectors.dashboard(filters, with_speed=False)
        writer.writerow(
            ["time_point", "analysis", "measure", "n", "patients", "rate", "ci95_low", "ci95_high"]
        )
        for point, rates in [*figures.points.items(), ("same_day", figures.same_day)]:
            for analysis, r in _analyses(rates):
                for name, p in (("response", r.response), ("remission", r.remission)):
                    writer.writerow([point, analysis, name, p.n, p.events, *_rate_cells(p.rate, p.ci95)])
    elif figure == "breakdown":
        figures = selectors.dashboard(filters, with_speed=False)
        writer.writerow(
            ["by", "group", "time_point", "analysis", "n", "responders", "rate", "ci95_low", "ci95_high"]
        )
        for b in figures.breakdowns:
            for group, first, course in b.rows:
                for point, rates in (("first", first), ("course", course)):
                    for analysis, a in _analyses(rates):
                        resp = a.response
                        writer.writerow(
                            [
                                b.by,
                                group,
                                point,
                                analysis,
                                resp.n,
                                resp.events,
                                *_rate_cells(resp.rate, resp.ci95),
                            ]
                        )
    elif figure == "durability":
        figures = selectors.dashboard(filters, with_speed=False)
        writer.writerow(["curve", "day", "still_responding", "ci95_low", "ci95_high"])
        for curve in [figures.durability_overall, *figures.durability]:
            for t, s, lo, hi in zip(curve.times, curve.survival, curve.lower, curve.upper, strict=True):
                writer.writerow(
                    [
                        curve.label,
                        round(float(t), 3),
                        round(float(s), 4),
                        round(float(lo), 4),
                        round(float(hi), 4),
                    ]
                )
    elif figure == "speed":
        writer.writerow(["patient_mrn", "weeks_on_trials_before_ketamine", "days_to_response_on_ketamine"])
        rows = selectors.speed_rows(selectors.cohort(filters))
        mrns = dict(Patient.objects.filter(pk__in=[r[0] for r in rows]).values_list("id", "mrn"))
        for pid, weeks, days in rows:
            writer.writerow([mrns[pid], weeks, days])
        shown = [r[0] for r in rows]
    elif figure == "excluded":
        writer.writerow(["patient_mrn", "time_point", "reason", "first_treatment_at", "treatments"])
        for point in ("first", "week", "course"):
            for row in selectors.excluded_patients(filters, point, limit=None):
                writer.writerow(
                    [
                        row["patient"].mrn,
                        point,
                        row["reason"],
                        row["first_treatment_at"].isoformat(),
                        row["treatments"],
                    ]
                )
                shown.append(row["patient"].pk)
    else:
        writer.writerow(
            [
                "patient_mrn",
                "status",
                "latest_total",
                "latest_at",
                "baseline_total",
                "baseline_context",
                "baseline_at",
                "next_appointment",
            ]
        )
        for o in selectors.maintenance_prompts(filters, limit=None):
            nxt = o.next_appointment  # type: ignore[attr-defined]
            writer.writerow(
                [
                    o.patient.mrn,
                    o.trend,
                    o.latest_total,
                    o.latest_at.isoformat() if o.latest_at else "",
                    o.baseline_total,
                    o.baseline_context,
                    o.baseline_at.isoformat() if o.baseline_at else "",
                    nxt.isoformat() if nxt else "",
                ]
            )
            shown.append(o.patient_id)
    if shown:
        audit_list_view(
            actor=Actor.from_request(request), object_type="patients.patient", ids=sorted(set(shown))
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"ketacare-{figure}-{filters.instrument}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _analyses(rates: selectors.Rates) -> list[tuple[str, selectors.Rates]]:
    """The completers' figure, then the intention-to-treat figure beside it (when it has one)."""
    return [("completers", rates)] + ([("intention_to_treat", rates.itt)] if rates.itt else [])


def _rate_cells(rate: float | None, ci95: tuple[float, float] | None) -> list[Any]:
    if rate is None or ci95 is None:
        return ["", "", ""]
    return [round(rate, 4), round(ci95[0], 4), round(ci95[1], 4)]


@requires("outcomes.view_outcomes")
@require_GET
def clinic_report(request: HttpRequest) -> HttpResponse:
    """The dashboard's response and remission figures as a PDF (no patient named): completers'
    and intention to treat at each time point, the same-day change, the claim and the sources."""
    form = _form(request)
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items())
        return HttpResponse(errors, status=BAD_FILTER, content_type="text/plain; charset=utf-8")
    caught_up = services.catch_up()
    if caught_up.failure and rules.problem():
        return HttpResponse(
            caught_up.failure, status=SETTINGS_BROKEN, content_type="text/plain; charset=utf-8"
        )
    figures = selectors.dashboard(form.filters(), with_speed=False)
    first_itt = figures.points["first"].itt
    html = render_to_string(
        "outcomes/clinic_report.html",
        {
            "clinic": letterhead(),
            "today": timezone.localdate(),
            "f": figures,
            "itt_text": selectors.ITT_TEXT,
            "route_label": {str(c): label for c, label in ROUTE_LABELS.items()}.get(
                figures.filters.route, figures.filters.route
            ),
            "points": [
                ("After the first treatment", figures.rules.first_treatment_text(), figures.points["first"]),
                ("One week after the first treatment", figures.rules.one_week_text(), figures.points["week"]),
                ("After the induction course", figures.rules.course_text(), figures.points["course"]),
            ],
            "caveats": [
                (label, figures.caveats[p])
                for p, label in (
                    ("first", "After the first treatment"),
                    ("week", "One week after the first treatment"),
                    ("course", "After the induction course"),
                )
                if figures.caveats[p]
            ],
            "claim": (int(CLAIM_RANGE[0] * 100), int(CLAIM_RANGE[1] * 100)),
            "claim_verdict": _claim_verdict(first_itt.response.ci95 if first_itt else None),
            "published": PUBLISHED,
        },
    )
    from weasyprint import HTML  # imported here: it loads Pango, which only documents need

    response = HttpResponse(bytes(HTML(string=html).write_pdf() or b""), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="ketacare-outcomes-{figures.filters.instrument}.pdf"'
    return response


@requires("outcomes.view_outcomes", "patients.view_patient")
@require_GET
def patient_report(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.select_related("referring_provider"), pk=patient_id)
    pdf = report_pdf(patient)
    audit_record(
        actor=Actor.from_request(request), action=Action.VIEW, obj=patient, detail={"report": "progress"}
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="progress-{patient.mrn}.pdf"'
    return response
