"""The ledger's printed records for an inspector (PDF, WeasyPrint): a location's ledger for a
period, lot by lot with running balances, and its latest inventory of every product (the biennial
inventory, 21 CFR 1304.11: date, opening or close of business, substance, form, concentration,
units per container, containers on hand)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from ketacare.clinical import ledger as rules
from ketacare.clinical.ledger import Kind
from ketacare.ledger.models import Entry, Product, Registration
from ketacare.ui.documents import letterhead

# A printed ledger is for a period an inspector reads page by page; a longer one is the CSV.
PDF_MAX_ENTRIES = 3000


class TooLong(Exception):
    """The period holds more entries than a printed ledger should."""


def _pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango, which only documents need

    return bytes(HTML(string=html).write_pdf() or b"")


def _bounds(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    since = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    until = timezone.make_aware(
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min)
    )
    return since, until


def _units(product: Product) -> str:
    if product.form == rules.Form.INJECTION:
        return f"{product.container_ml.normalize():f} mL vials"  # type: ignore[union-attr]
    return f"packs of {product.devices_per_container} devices"


def too_long(*, registration: Registration, start: datetime.date, end: datetime.date) -> bool:
    since, until = _bounds(start, end)
    return (
        Entry.objects.filter(registration=registration, at__gte=since, at__lt=until).count() > PDF_MAX_ENTRIES
    )


def ledger_pdf(*, registration: Registration, start: datetime.date, end: datetime.date) -> bytes:
    """The location's ledger for the period, grouped by product and lot in time order. Raises
    TooLong past PDF_MAX_ENTRIES (the CSV has no limit; the page asks `too_long` first)."""
    since, until = _bounds(start, end)
    rows = Entry.objects.filter(registration=registration, at__gte=since, at__lt=until)
    if rows.count() > PDF_MAX_ENTRIES:
        raise TooLong
    entries = list(
        rows.select_related(
            "product", "lot", "by", "witness", "patient", "countersignature__witness"
        ).order_by("product__code", "lot__number", "at", "id")
    )
    groups: list[dict[str, Any]] = []
    for entry in entries:
        key = (entry.product_id, entry.lot_id)
        if not groups or groups[-1]["key"] != key:
            groups.append(
                {
                    "key": key,
                    "product": entry.product,
                    "units": _units(entry.product),
                    "lot": entry.lot,
                    "entries": [],
                }
            )
        groups[-1]["entries"].append(entry)
    html = render_to_string(
        "ledger/ledger_pdf.html",
        {
            "clinic": letterhead(),
            "today": timezone.localdate(),
            "registration": registration,
            "start": start,
            "end": end,
            "groups": groups,
            "count": len(entries),
        },
    )
    return _pdf(html)


@dataclass(frozen=True)
class InventoryLine:
    product: Product
    units: str
    lot: str
    expiry: datetime.date | None
    counted_mg: Decimal
    quantity: str
    containers: str
    book_mg: Decimal | None


@dataclass(frozen=True)
class InventoryRecord:
    product: Product
    at: datetime.datetime
    business: str
    by: Any
    lines: list[InventoryLine]


def latest_inventories(registration: Registration) -> list[InventoryRecord]:
    """The most recent inventory of each product at the location, lot by lot. Two queries."""
    latest: dict[int, datetime.datetime] = {}
    for product_id, at in (
        Entry.objects.filter(registration=registration, kind=Kind.INVENTORY)
        .order_by("product_id", "-at")
        .values_list("product_id", "at")
        .distinct()
    ):
        latest.setdefault(product_id, at)
    if not latest:
        return []
    entries = (
        Entry.objects.filter(registration=registration, kind=Kind.INVENTORY, at__in=set(latest.values()))
        .select_related("product", "lot", "by")
        .order_by("product__code", "lot__number")
    )
    records: dict[int, InventoryRecord] = {}
    for e in entries:
        if e.at != latest[e.product_id]:
            continue
        record = records.setdefault(
            e.product_id, InventoryRecord(e.product, e.at, e.get_business_display(), e.by, [])
        )
        counted = e.counted_mg or Decimal(0)
        per = e.product.mg_per_container
        record.lines.append(
            InventoryLine(
                product=e.product,
                units=_units(e.product),
                lot=e.lot.number if e.lot else "",
                expiry=e.lot.expiry if e.lot else None,
                counted_mg=counted,
                quantity=e.product.describe(counted),
                containers=f"{(counted / per).quantize(Decimal('0.01')).normalize():f}" if per else "0",
                book_mg=e.balance_after_mg,
            )
        )
    return list(records.values())


def inventory_pdf(*, registration: Registration) -> bytes:
    html = render_to_string(
        "ledger/inventory_pdf.html",
        {
            "clinic": letterhead(),
            "today": timezone.localdate(),
            "registration": registration,
            "records": latest_inventories(registration),
        },
    )
    return _pdf(html)
