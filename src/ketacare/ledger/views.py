"""Ledger pages: the stock, a lot's history (with its waste, count, loss and correction forms),
receipts, inventories, the wastes waiting for a witness, and the inspector's download. Each form
calls one service; a refusal is shown beside the field with nothing written."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_list_view, audit_record_many
from ketacare.ledger import documents, selectors, services
from ketacare.ledger.forms import (
    CorrectionForm,
    CountersignForm,
    CountForm,
    ExportForm,
    Form106Form,
    InventoryForm,
    InventoryLines,
    LossForm,
    NoticeForm,
    ProductForm,
    ReceiptForm,
    RegistrationForm,
    ResolveForm,
    WasteForm,
)
from ketacare.ledger.models import Discrepancy, Entry, Incident, Lot, Registration
from ketacare.ui.forms import UNPROCESSABLE, apply_errors, saved, status_of, submit
from ketacare.ui.views import require_perm

RECORD = services.RECORD_PERMISSION


@requires("ledger.view_entry")
def stock(request: HttpRequest) -> HttpResponse:
    return render(request, "ledger/stock.html", {"page": selectors.stock()})


@requires("ledger.add_product")
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Registered locations and products."""
    actor = Actor.from_request(request)
    posted = request.POST if request.method == "POST" else None
    which = request.POST.get("which") if posted else None
    registration = RegistrationForm(posted if which == "registration" else None, prefix="registration")
    product = ProductForm(posted if which == "product" else None, prefix="product")
    if which == "registration" and (
        done := saved(
            request,
            registration,
            lambda: services.registration_create(actor=actor, **registration.cleaned_data),
            said="Location added: its ledger is open. Record its initial inventory.",
            to="ledger:setup",
        )
    ):
        return done
    if which == "product" and (
        done := saved(
            request,
            product,
            lambda: services.product_create(actor=actor, **product.cleaned_data),
            said="Product added.",
            to="ledger:setup",
        )
    ):
        return done
    page = selectors.stock()
    return render(
        request,
        "ledger/setup.html",
        {"registration_form": registration, "product_form": product, "page": page},
        status=UNPROCESSABLE if posted else 200,
    )


@requires(RECORD)
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest) -> HttpResponse:
    form = ReceiptForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and (
        done := saved(
            request,
            form,
            lambda: services.receipt_record(actor=Actor.from_request(request), **form.cleaned_data),
            said=lambda entry: f"Received {entry.quantity_text} of lot {entry.lot.number}.",  # type: ignore[union-attr]
            to=lambda entry: reverse("ledger:lot", args=[entry.lot_id]),
        )
    ):
        return done
    return render(request, "ledger/receive.html", {"form": form}, status=status_of(request))


@requires(RECORD)
@require_http_methods(["GET", "POST"])
def inventory(request: HttpRequest) -> HttpResponse:
    posted = request.POST if request.method == "POST" else None
    form = InventoryForm(posted)
    lines = InventoryLines(posted, prefix="lines")
    if posted is not None and lines.is_valid():
        counted = [
            services.InventoryLine(d["lot_number"].strip(), d["mg"], d.get("expiry"))
            for d in lines.cleaned_data
            if d and d.get("lot_number")
        ]
        done, entries = submit(
            form,
            lambda: services.inventory_record(
                actor=Actor.from_request(request),
                registration=form.cleaned_data["registration"],
                product=form.cleaned_data["product"],
                lines=counted,
                business=form.cleaned_data["business"],
                at=form.cleaned_data["at"],
            ),
        )
        if done and entries is not None:
            found = sum(1 for e in entries if hasattr(e, "discrepancy"))
            text = f"Inventory recorded: {len(counted)} lot(s)."
            if found:
                messages.warning(
                    request, f"{text} {found} differ from the book: a discrepancy is open for each."
                )
            else:
                messages.success(request, text)
            return redirect("ledger:stock")
    return render(
        request,
        "ledger/inventory.html",
        {"form": form, "lines": lines, "page": selectors.stock()},
        status=UNPROCESSABLE if posted else 200,
    )


def _lot_forms(lot: Lot, posted: Any, action: str | None) -> dict[str, BaseForm]:
    def bound(name: str) -> Any:
        return posted if action == name else None

    return {
        "waste": WasteForm(bound("waste"), lot=lot, prefix="waste"),
        "count": CountForm(bound("count"), prefix="count"),
        "loss": LossForm(bound("loss"), lot=lot, prefix="loss"),
        "correct": CorrectionForm(bound("correct"), prefix="correct"),
        "resolve": ResolveForm(bound("resolve"), prefix="resolve"),
    }


def _lot_action(request: HttpRequest, lot: Lot, action: str, form: Any) -> str | None:
    """Run one of the lot page's forms; the message to show, or None if refused."""
    actor = Actor.from_request(request)
    if not form.is_valid():
        return None
    d = form.cleaned_data
    try:
        if action == "waste":
            witness = services.witness_authenticate(
                actor=actor, username=d["witness"], password=d["witness_password"]
            )
            entry = services.waste_record(
                actor=actor,
                lot=lot,
                mg=d["mg"],
                manner=d["manner"],
                reason=d["reason"],
                witness=witness,
                at=d["at"],
            )
            return f"Waste of {entry.quantity_text} recorded, witnessed by {witness.get_username()}."
        if action == "count":
            witness = services.witness_authenticate(
                actor=actor, username=d["witness"], password=d["witness_password"]
            )
            entry = services.count_record(
                actor=actor, lot=lot, counted_mg=d["counted_mg"], witness=witness, at=d["at"]
            )
            if hasattr(entry, "discrepancy"):
                return "!The count differs from the book: a discrepancy is open."
            return "The count matches the book."
        if action == "loss":
            entry = services.loss_record(
                actor=actor,
                lot=lot,
                mg=d["mg"],
                reason=d["reason"],
                at=d["at"],
                loss_type=d["loss_type"],
                police_notified=bool(d["police_report"]),
                police_report=d["police_report"],
            )
            incident = entry.incident
            return (
                f"!Loss of {entry.quantity_text} recorded. Written notice to the DEA due by "
                f"{incident.notice_due:%a %d %b}; Form 106 by {incident.form_106_due:%a %d %b}."  # type: ignore[union-attr]
            )
        if action == "correct":
            original = get_object_or_404(Entry, pk=d["entry"], lot=lot)
            services.correction_record(actor=actor, entry=original, reason=d["reason"])
            return f"Entry {original.pk} reversed."
        if action == "resolve":
            discrepancy = get_object_or_404(Discrepancy, pk=request.POST.get("discrepancy"), lot=lot)
            services.discrepancy_resolve(actor=actor, discrepancy=discrepancy, resolution=d["resolution"])
            return "Discrepancy resolved."
    except ValidationError as exc:
        apply_errors(form, exc)
    return None


LOT_ACTIONS = ("waste", "count", "loss", "correct", "resolve")


@requires("ledger.view_entry")
@require_http_methods(["GET", "POST"])
def lot(request: HttpRequest, lot_id: int) -> HttpResponse:
    """A lot's history with running balances, one page at a time (`?before=` an entry id)."""
    the_lot = get_object_or_404(Lot.objects.select_related("product", "registration"), pk=lot_id)
    action = request.POST.get("action") if request.method == "POST" else None
    if request.method == "POST":
        require_perm(request, RECORD)
        if action not in LOT_ACTIONS:
            raise PermissionDenied
    forms = _lot_forms(the_lot, request.POST if action else None, action)
    if action:
        done = _lot_action(request, the_lot, action, forms[action])
        if done is not None:
            if done.startswith("!"):
                messages.warning(request, done[1:])
            else:
                messages.success(request, done)
            return redirect("ledger:lot", lot_id=the_lot.pk)
    before = request.GET.get("before")
    history = selectors.lot_history(
        lot=the_lot, before=int(before) if before and before.isdecimal() else None
    )
    _audit_patients(request, history.entries)
    return render(
        request,
        "ledger/lot.html",
        {
            "history": history,
            "forms": forms,
            "action": action,
            "on_hand": the_lot.product.describe(history.lot.on_hand_mg),
            "expired": history.lot.expiry < timezone.localdate(),
            # The entry whose reversal was refused, to show its error beside it.
            "correct_failed": request.POST.get("correct-entry") if action == "correct" else None,
        },
        status=UNPROCESSABLE if action else 200,
    )


def _audit_patients(request: HttpRequest, entries: Sequence[Entry | selectors.HistoryLine]) -> None:
    """Administrations name patients: a page showing them is a read of patient data, audited as
    one list event naming the entries and their patients."""
    named = [e for e in entries if e.patient_id is not None]
    if named:
        with transaction.atomic():
            audit_list_view(
                actor=Actor.from_request(request),
                object_type="ledger.entry",
                ids=[e.pk for e in named],
                patients=[e.patient_id for e in named if e.patient_id is not None],
            )


@requires("ledger.view_entry")
@require_http_methods(["GET", "POST"])
def countersign(request: HttpRequest) -> HttpResponse:
    """The day's administrations and wastes, and the wastes waiting for a witness."""
    form = CountersignForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        require_perm(request, RECORD)
        actor = Actor.from_request(request)

        def sign() -> Any:
            entry = get_object_or_404(Entry, pk=form.cleaned_data["entry"])
            witness = services.witness_authenticate(
                actor=actor,
                username=form.cleaned_data["witness"],
                password=form.cleaned_data["witness_password"],
            )
            return services.countersign(actor=actor, entry=entry, witness=witness)

        if done := saved(request, form, sign, said="Waste witnessed.", to="ledger:countersign"):
            return done
    page = selectors.to_countersign()
    _audit_patients(request, [*page.waiting, *page.administrations])
    return render(
        request,
        "ledger/countersign.html",
        {"page": page, "form": form, "failed": form.data.get("entry") if form.is_bound else None},
        status=status_of(request),
    )


EXPORT_PIECE_ROWS = 500


def _audit_download(request: HttpRequest, registration: Registration, detail: dict[str, str]) -> None:
    """A location's ledger or inventory handed out (`detail`: what, and for which period) is a read
    of the location's records, audited as one view of the registration."""
    with transaction.atomic():
        audit_record_many(
            actor=Actor.from_request(request),
            specs=[
                EventSpec(Action.VIEW, "ledger.registration", object_id=str(registration.pk), detail=detail)
            ],
        )


@requires("ledger.export_ledger")
def export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The ledger of a location for a period as CSV, for an inspector (21 CFR 1304.04: readily
    retrievable). The download itself is audited."""
    form = ExportForm(request.GET or None)
    if not request.GET or not form.is_valid():
        return render(
            request,
            "ledger/export.html",
            {"form": form, "registrations": Registration.objects.all()},
            status=UNPROCESSABLE if request.GET else 200,
        )
    d = form.cleaned_data
    registration = d["registration"]
    as_pdf = request.GET.get("format") == "pdf"
    if as_pdf and documents.too_long(registration=registration, start=d["start"], end=d["end"]):
        form.add_error(
            "start",
            f"More than {documents.PDF_MAX_ENTRIES} entries in this period: "
            "print a shorter one, or download the CSV.",
        )
        return render(
            request,
            "ledger/export.html",
            {"form": form, "registrations": Registration.objects.all()},
            status=UNPROCESSABLE,
        )
    _audit_download(
        request,
        registration,
        {"download": "pdf" if as_pdf else "csv", "from": d["start"].isoformat(), "to": d["end"].isoformat()},
    )
    if as_pdf:
        pdf = HttpResponse(
            documents.ledger_pdf(registration=registration, start=d["start"], end=d["end"]),
            content_type="application/pdf",
        )
        pdf["Content-Disposition"] = (
            f'inline; filename="ledger-{registration.dea_number}-{d["start"]:%Y%m%d}-{d["end"]:%Y%m%d}.pdf"'
        )
        return pdf

    def lines() -> Iterator[str]:
        # A few hundred lines a piece: one piece per line would cost more than writing the lines.
        rows = selectors.export_lines(registration=registration, start=d["start"], end=d["end"])
        while piece := "".join(islice(rows, EXPORT_PIECE_ROWS)):
            yield piece

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = f"ledger-{registration.dea_number}-{d['start']:%Y%m%d}-{d['end']:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@requires("ledger.export_ledger")
def inventory_record(request: HttpRequest, registration_id: int) -> HttpResponse:
    """The location's latest inventory of every product, printed for an inspector (the biennial
    inventory, 21 CFR 1304.11). Audited as a download."""
    registration = get_object_or_404(Registration, pk=registration_id)
    _audit_download(request, registration, {"download": "inventory"})
    response = HttpResponse(
        documents.inventory_pdf(registration=registration), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="inventory-{registration.dea_number}.pdf"'
    return response


@requires("ledger.view_entry")
def incidents(request: HttpRequest) -> HttpResponse:
    """Every theft or loss, open ones first, with their DEA deadlines."""
    return render(request, "ledger/incidents.html", {"lines": selectors.incidents()})


@requires("ledger.view_entry")
@require_http_methods(["GET", "POST"])
def incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    """DEA Form 106 filled from the ledger, and the notice and the form recorded as done."""
    get_object_or_404(Incident, pk=incident_id)
    action = request.POST.get("action") if request.method == "POST" else None
    notice = NoticeForm(request.POST if action == "notice" else None, prefix="notice")
    filed = Form106Form(request.POST if action == "form106" else None, prefix="form106")
    if action:
        require_perm(request, services.INCIDENT_PERMISSION)
        actor = Actor.from_request(request)
        the = Incident.objects.get(pk=incident_id)
        if action == "notice":
            done, _ = submit(
                notice,
                lambda: services.incident_notice_sent(
                    actor=actor, incident=the, at=notice.cleaned_data["at"]
                ),
            )
        elif action == "form106":
            done, _ = submit(
                filed,
                lambda: services.incident_form_106_filed(
                    actor=actor,
                    incident=the,
                    reference=filed.cleaned_data["reference"],
                    at=filed.cleaned_data["at"],
                ),
            )
        else:
            raise PermissionDenied
        if done:
            messages.success(request, "Recorded.")
            return redirect("ledger:incident", incident_id=incident_id)
    form = selectors.form_106(incident_id=incident_id)
    return render(
        request,
        "ledger/incident.html",
        {"form": form, "notice": notice, "filed": filed},
        status=UNPROCESSABLE if action else 200,
    )
