"""Ledger reads, each a fixed number of queries however long the book grows: the stock page reads
the lots (their balances are kept on them), a lot's history reads one page of its entries through
the (lot, id) index, and the inspector's download streams a period's entries in order."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import CharField, Count, Max, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from ketacare.clinical import ledger as rules
from ketacare.clinical.ledger import Kind
from ketacare.ledger.models import Discrepancy, Entry, Incident, Lot, Product, Registration, WitnessDue
from ketacare.patients.models import Patient

HISTORY_PAGE = 50


@dataclass(frozen=True)
class LotLine:
    lot: Lot
    on_hand: str  # "350 mg (7.00 mL)"
    containers: str  # full containers' worth, for the count ("3.5 vials")
    expired: bool
    open_discrepancies: int
    beyond_use: datetime.date | None  # the open vial's beyond-use date, when it has passed
    open_vial: str  # what is left in the open vial


@dataclass(frozen=True)
class ProductStock:
    registration: Registration
    product: Product
    lots: list[LotLine]
    total_mg: Decimal
    total: str
    inventory: rules.InventoryDue | None  # None: no inventory yet (the initial one is needed)


@dataclass(frozen=True)
class Stock:
    registrations: list[Registration]
    products: list[Product]
    stock: list[ProductStock]
    discrepancies: list[Discrepancy]
    awaiting_witness: int
    incidents: list[IncidentLine]


def _containers(lot: Lot) -> str:
    per = lot.product.mg_per_container
    count = (lot.on_hand_mg / per).quantize(Decimal("0.01")).normalize() if per else Decimal(0)
    noun = "vial" if lot.product.form == rules.Form.INJECTION else "pack"
    return f"{count:f} {noun}{'' if count == 1 else 's'}"


def stock(*, today: datetime.date | None = None) -> Stock:
    """Every location's products and lots with their balances, the inventory each product is due,
    the open discrepancies, and how many wastes wait for a witness. Six queries."""
    today = today or timezone.localdate()
    now = timezone.now()
    registrations = list(Registration.objects.all())
    products = list(Product.objects.all())
    lots = list(
        Lot.objects.select_related("product", "registration")
        .annotate(open=Count("discrepancies", filter=Q(discrepancies__resolved_at__isnull=True)))
        .filter(Q(on_hand_mg__gt=0) | Q(open__gt=0))
        .order_by("registration_id", "product_id", "expiry", "number")
    )
    last_inventory = {
        (row["registration_id"], row["product_id"]): row["last"]
        for row in Entry.objects.filter(kind=Kind.INVENTORY)
        .values("registration_id", "product_id")
        .annotate(last=Max("at"))
    }
    out: list[ProductStock] = []
    for registration in registrations:
        for product in products:
            mine = [
                lot for lot in lots if lot.registration_id == registration.pk and lot.product_id == product.pk
            ]
            last = last_inventory.get((registration.pk, product.pk))
            if not mine and last is None:
                continue
            total = sum((lot.on_hand_mg for lot in mine), Decimal(0))
            out.append(
                ProductStock(
                    registration=registration,
                    product=product,
                    lots=[
                        LotLine(
                            lot=lot,
                            on_hand=product.describe(lot.on_hand_mg),
                            containers=_containers(lot),
                            expired=lot.expiry < today,
                            open_discrepancies=lot.open,
                            beyond_use=lot.past_beyond_use(now),
                            open_vial=product.describe(lot.open_vial_mg),
                        )
                        for lot in mine
                    ],
                    total_mg=total,
                    total=product.describe(total),
                    inventory=rules.inventory_due(timezone.localtime(last).date(), today) if last else None,
                )
            )
    discrepancies = list(
        Discrepancy.objects.filter(resolved_at__isnull=True)
        .select_related("lot__product", "entry__by", "entry__witness")
        .order_by("opened_at")
    )
    return Stock(
        registrations, products, out, discrepancies, awaiting_witness().count(), open_incidents(today=today)
    )


def awaiting_witness() -> QuerySet[Entry]:
    """Wastes posted without a witness (a dose stopped early) and not yet countersigned: the
    WitnessDue list, as long as the wastes waiting however long the book."""
    # (An IN list, not a join: SQLite's planner, without statistics, would read the whole book
    # and look each entry up in the list.)
    return Entry.objects.filter(pk__in=WitnessDue.objects.values("entry_id"))


@dataclass(frozen=True)
class Countersigning:
    waiting: list[Entry]
    administrations: list[Entry]
    day: datetime.date


def to_countersign(*, day: datetime.date | None = None) -> Countersigning:
    """The wastes waiting for a witness (whatever their day) and the day's administrations and
    wastes, for the end-of-day check. Two queries."""
    day = day or timezone.localdate()
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    related = ("product", "lot", "by", "witness", "patient", "session", "countersignature__witness")
    waiting = list(awaiting_witness().select_related(*related).order_by("at"))
    today = list(
        Entry.objects.filter(
            kind__in=[Kind.ADMINISTRATION, Kind.WASTE],
            at__gte=start,
            at__lt=start + datetime.timedelta(days=1),
        )
        .select_related(*related)
        .order_by("at", "id")
    )
    return Countersigning(waiting, today, day)


@dataclass(frozen=True)
class HistoryLine:
    """One entry of a lot's history as its page shows it: plain values worked out here (no model
    instance a row, no lookup in the template that fails, as a missing reversal's does)."""

    pk: int
    at: str  # "2025-05-03 10:23", the clinic's time
    kind: str  # "Waste"
    business: str  # "opening of business", or ""
    quantity: str  # "+1000 mg (20.00 mL)", "−25 mg (0.50 mL)", "counted 950 mg", or ""
    balance: str  # "975 mg", or ""
    by: str
    witness: str  # at the time or countersigned later, or ""
    awaiting_witness: bool  # a waste nobody has witnessed yet
    patient_id: int | None
    patient: str  # "Family, Given", or ""
    mrn: str
    session_id: int | None
    containers: int | None
    supplier_name: str
    supplier_dea: str
    invoice: str
    manner: str
    reason: str
    corrects_id: int | None
    reversed_by: int | None  # the correction that reverses this entry
    reversible: bool  # a movement other than an administration (which the session reverses)


@dataclass(frozen=True)
class LotHistory:
    lot: Lot
    entries: list[HistoryLine]
    older: int | None  # the id to read the next page before, if there are older entries
    open_discrepancies: list[Discrepancy]


_HISTORY_FIELDS = (
    "id",
    "at",
    "kind",
    "business",
    "quantity_mg",
    "counted_mg",
    "balance_after_mg",
    "by_id",
    "witness_id",
    "countersignature__witness_id",
    "patient_id",
    "patient__family_name",
    "patient__given_name",
    "patient__mrn",
    "session_id",
    "containers",
    "supplier_name",
    "supplier_dea",
    "invoice",
    "manner",
    "reason",
    "corrects_id",
    "corrected_by__id",
)
_KIND_LABELS = dict(Entry._meta.get_field("kind").choices or ())
_BUSINESS_LABELS = {value: label.lower() for value, label in Entry.Business.choices}
_SIGNS = ("\u2212", "+")  # a minus sign, not a hyphen


def lot_history(*, lot: Lot, before: int | None = None) -> LotHistory:
    """One page of a lot's entries (the lot read with its product), newest first, with the
    balance after each. Three queries.

    The staff the page names (by, witness, countersigning witness: a handful of people) are read
    apart, once each: joined to every entry they made PostgreSQL's planner weighs eight tables
    for each page, which takes longer than reading the page (15 ms against 2)."""
    rows = Entry.objects.filter(lot=lot)
    if before is not None:
        rows = rows.filter(id__lt=before)
    page = list(rows.order_by("-id").values_list(*_HISTORY_FIELDS)[: HISTORY_PAGE + 1])
    staff = {pk for row in page for pk in (row[7], row[8], row[9]) if pk is not None}
    people = {user.pk: str(user) for user in get_user_model().objects.filter(pk__in=staff)}
    describe = lot.product.describe
    lines = []
    for (
        pk,
        at,
        kind,
        business,
        quantity,
        counted,
        balance,
        by_id,
        witness_id,
        countersigned_by,
        patient_id,
        family_name,
        given_name,
        mrn,
        session_id,
        containers,
        supplier_name,
        supplier_dea,
        invoice,
        manner,
        reason,
        corrects_id,
        reversed_by,
    ) in page[:HISTORY_PAGE]:
        witness = witness_id or countersigned_by
        if quantity:
            moved = f"{_SIGNS[quantity > 0]}{describe(abs(quantity))}"
        else:
            moved = f"counted {counted.normalize():f} mg" if counted is not None else ""
        lines.append(
            HistoryLine(
                pk=pk,
                at=timezone.localtime(at).strftime("%Y-%m-%d %H:%M"),
                kind=_KIND_LABELS[kind],
                business=_BUSINESS_LABELS.get(business, ""),
                quantity=moved,
                balance="" if balance is None else f"{balance.normalize():f} mg",
                by=people[by_id],
                witness=people[witness] if witness is not None else "",
                awaiting_witness=witness is None and kind == Kind.WASTE,
                patient_id=patient_id,
                patient=f"{family_name}, {given_name}" if patient_id is not None else "",
                mrn=mrn or "",
                session_id=session_id,
                containers=containers,
                supplier_name=supplier_name,
                supplier_dea=supplier_dea,
                invoice=invoice,
                manner=manner,
                reason=reason,
                corrects_id=corrects_id,
                reversed_by=reversed_by,
                reversible=bool(quantity) and kind != Kind.ADMINISTRATION,
            )
        )
    older = page[HISTORY_PAGE - 1][0] if len(page) > HISTORY_PAGE else None
    discrepancies = list(lot.discrepancies.filter(resolved_at__isnull=True).order_by("opened_at"))
    return LotHistory(lot, lines, older, discrepancies)


EXPORT_COLUMNS = (
    "entry",
    "recorded_at",
    "at",
    "business",
    "kind",
    "substance",
    "form",
    "concentration_mg_per_ml",
    "units_per_container",
    "lot",
    "expiry",
    "quantity_mg",
    "quantity_ml",
    "containers",
    "balance_after_mg",
    "counted_mg",
    "patient_name",
    "patient_address",
    "by",
    "witness",
    "supplier_name",
    "supplier_address",
    "supplier_dea",
    "invoice",
    "manner",
    "reason",
    "corrects",
)


def _units(product: Product) -> str:
    if product.form == rules.Form.INJECTION:
        return f"{product.container_ml.normalize():f} mL"  # type: ignore[union-attr]
    return f"{product.devices_per_container} devices"


def _address(patient: Any) -> str:
    parts = [patient.address_line1, patient.address_line2, patient.city, patient.state, patient.postal_code]
    return ", ".join(p for p in parts if p)


def _name(user: Any) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())


def mg_text(text: str | None) -> str:
    """A quantity as the database writes it as text (SQLite: "987.6544", "950", "-0.5";
    PostgreSQL to the column's places: "950.0000") as the ledger writes it: "950", "-0.5"."""
    if text is None:
        return ""
    if "." in text:
        return text.rstrip("0").rstrip(".")
    return text


class LocalTimes:
    """UTC times, as the database writes them as text ("2025-05-03 14:23:11.123456", with "+00"
    after it from PostgreSQL), read as ISO text in the clinic's zone, as
    `timezone.localtime(t).isoformat(timespec="seconds")` reads them, at a fraction of the cost:
    the zone is looked up once for each hour of UTC, and where it holds a whole number of hours
    through that hour, the minutes and seconds are copied across."""

    def __init__(self, tz: datetime.tzinfo) -> None:
        self.tz = tz
        self.hours: dict[str, tuple[str, str] | None] = {}

    def __call__(self, utc: str) -> str:
        hour = utc[:13]  # "2025-05-03 14"
        try:
            known = self.hours[hour]
        except KeyError:
            known = self._hour(hour)
        if known is None:
            instant = datetime.datetime.fromisoformat(utc[:19]).replace(tzinfo=datetime.UTC)
            return instant.astimezone(self.tz).isoformat(timespec="seconds")
        return known[0] + utc[13:19] + known[1]

    def _hour(self, hour: str) -> tuple[str, str] | None:
        """The local date and hour ("2025-05-03T10") and the offset ("-04:00") for one hour of
        UTC, or None where the clocks change within it or the offset is not whole hours."""
        if len(self.hours) > EXPORT_CACHE:
            self.hours.clear()
        start = datetime.datetime.fromisoformat(f"{hour}:00:00+00:00")
        local = start.astimezone(self.tz)
        last = (start + datetime.timedelta(seconds=3599)).astimezone(self.tz)
        offset = local.utcoffset() or datetime.timedelta(0)
        whole = offset == last.utcoffset() and not offset.total_seconds() % 3600
        text = local.isoformat(timespec="seconds")
        known = self.hours[hour] = (text[:13], text[19:]) if whole else None
        return known


def csv_field(text: str) -> str:
    """One CSV field as the csv module writes it (its excel dialect, minimal quoting): quoted when
    it holds a comma, a quote or a line break, a quote doubled inside."""
    if any(c in text for c in _CSV_SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


_CSV_SPECIAL = (",", '"', "\r", "\n")


def export_lines(*, registration: Registration, start: datetime.date, end: datetime.date) -> Iterator[str]:
    """The ledger of one location for a period as CSV lines (the header first), every entry as the
    records rule asks (21 CFR 1304.22): substance, form, concentration, units per container, the
    quantity, the person, the patient's name and address for an administration, the supplier for a
    receipt, the manner of a waste. Streamed in chunks: a year of a busy clinic is not held in
    memory.

    Written for a year of a few hundred thousand entries: they are read as the database's own
    values through a chunked cursor (no model instance and no field converter per row), times are
    put in the clinic's zone an hour of UTC at a time, quantities read as the database writes them as text,
    and each line is joined here from parts quoted once: a product's, a lot's, a person's, a
    patient's (the free text of an entry, its supplier, manner and reason, is quoted as it
    comes)."""
    since = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    until = timezone.make_aware(
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min)
    )
    yield ",".join(EXPORT_COLUMNS) + "\r\n"
    q = csv_field
    products = {
        p.pk: (
            ",".join(
                q(part)
                for part in (
                    p.substance,
                    p.form,
                    f"{p.concentration_mg_per_ml.normalize():f}" if p.concentration_mg_per_ml else "",
                    _units(p),
                )
            ),
            p.concentration_mg_per_ml,
        )
        for p in Product.objects.all()
    }
    lots = {lot.pk: f"{q(lot.number)},{lot.expiry:%Y-%m-%d}" for lot in Lot.objects.only("number", "expiry")}
    people: dict[int, str] = {}
    patients: dict[int, str] = {}
    amounts: dict[tuple[int, Any], str] = {}
    when = LocalTimes(timezone.get_current_timezone())

    query = (
        Entry.objects.filter(registration=registration, at__gte=since, at__lt=until)
        .order_by("at", "id")
        .values_list(
            "id",
            Cast("recorded_at", CharField()),
            Cast("at", CharField()),
            "business",
            "kind",
            "product_id",
            "lot_id",
            Cast("quantity_mg", CharField()),
            "containers",
            Cast("balance_after_mg", CharField()),
            Cast("counted_mg", CharField()),
            "patient_id",
            "by_id",
            "witness_id",
            "countersignature__witness_id",
            "supplier_name",
            "supplier_address",
            "supplier_dea",
            "invoice",
            "manner",
            "reason",
            "corrects_id",
        )
        .query
    )
    sql, params = query.sql_with_params()
    compiler = query.get_compiler(using=Entry.objects.db)
    with compiler.connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(EXPORT_CHUNK):
            _remember_people(chunk, people, patients)
            if len(amounts) > EXPORT_CACHE:
                amounts.clear()
            for (
                pk,
                recorded_at,
                at,
                business,
                kind,
                product_id,
                lot_id,
                quantity,
                containers,
                balance,
                counted,
                patient_id,
                by_id,
                witness_id,
                countersigned_by,
                supplier_name,
                supplier_address,
                supplier_dea,
                invoice,
                manner,
                reason,
                corrects_id,
            ) in chunk:
                product, mg_per_ml = products[product_id]
                # A quantity and its volume, worked out once per product and value (doses repeat).
                moved = amounts.get((product_id, quantity))
                if moved is None:
                    exact = Decimal(quantity)
                    ml = rules.ml_of(abs(exact), mg_per_ml) if exact else None  # a count moves nothing
                    moved = amounts[(product_id, quantity)] = (
                        f"{mg_text(quantity)},{'' if ml is None else ml}"
                    )
                witness = witness_id or countersigned_by
                free_text = (
                    f"{q(supplier_name)},{q(supplier_address)},{q(supplier_dea)},{q(invoice)},{q(manner)},{q(reason)}"
                    if supplier_name or supplier_address or supplier_dea or invoice or manner or reason
                    else ",,,,,"
                )
                yield (
                    f"{pk},{when(recorded_at)},{when(at)},{business},{kind},{product},"
                    f"{lots[lot_id] if lot_id is not None else ','},{moved},{containers or ''},"
                    f"{mg_text(balance)},{mg_text(counted)},"
                    f"{patients[patient_id] if patient_id is not None else ','},{people[by_id]},"
                    f"{people[witness] if witness is not None else ''},{free_text},{corrects_id or ''}\r\n"
                )


EXPORT_CHUNK = 2000
# The people an export names are read once each, and each quantity formatted once; past this
# many, a cache starts afresh.
EXPORT_CACHE = 20_000
_PATIENT_FIELDS = (
    "given_name",
    "family_name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
)


def _remember_people(chunk: list[tuple[Any, ...]], people: dict[int, str], patients: dict[int, str]) -> None:
    """Read the staff and the patients a chunk of export rows names that are not read yet: one
    query for each kind, only when one is missing. Kept as their CSV fields: a person's name, a
    patient's name and address."""
    if len(patients) > EXPORT_CACHE:
        patients.clear()
    staff = {pk for row in chunk for pk in (row[12], row[13], row[14]) if pk is not None} - people.keys()
    if staff:
        for user in get_user_model().objects.filter(pk__in=staff):
            people[user.pk] = csv_field(_name(user))
    missing = {row[11] for row in chunk if row[11] is not None} - patients.keys()
    if missing:
        for patient in Patient.objects.filter(pk__in=missing).only(*_PATIENT_FIELDS):
            patients[patient.pk] = f"{csv_field(patient.full_name)},{csv_field(_address(patient))}"


@dataclass(frozen=True)
class IncidentLine:
    incident: Incident
    notice_overdue: bool
    form_106_overdue: bool


def _incident_line(incident: Incident, today: datetime.date) -> IncidentLine:
    return IncidentLine(
        incident,
        notice_overdue=incident.notice_sent_at is None and today > incident.notice_due,
        form_106_overdue=incident.form_106_filed_at is None and today > incident.form_106_due,
    )


def open_incidents(*, today: datetime.date | None = None) -> list[IncidentLine]:
    """Thefts and losses whose DEA notice or Form 106 is not yet recorded, the nearest deadline
    first. One query."""
    today = today or timezone.localdate()
    rows = Incident.objects.filter(Q(notice_sent_at__isnull=True) | Q(form_106_filed_at__isnull=True))
    return [
        _incident_line(i, today)
        for i in rows.select_related("registration").order_by("notice_due", "form_106_due", "id")
    ]


def incidents(*, today: datetime.date | None = None) -> list[IncidentLine]:
    """Every incident, open ones first. One query."""
    today = today or timezone.localdate()
    rows = Incident.objects.select_related("registration", "recorded_by").order_by("-discovered_at", "-id")
    lines = [_incident_line(i, today) for i in rows]
    return sorted(lines, key=lambda line: not line.incident.open)


@dataclass(frozen=True)
class Form106Line:
    entry: Entry
    product: Product
    quantity: str
    containers: str


@dataclass(frozen=True)
class Form106:
    """What DEA Form 106 asks that the ledger knows, filled in for the clinician filing it."""

    incident: IncidentLine
    registration: Registration
    lines: list[Form106Line]
    incidents_in_24_months: int  # this one included


def form_106(*, incident_id: int, today: datetime.date | None = None) -> Form106:
    """The incident with its losses (substance, strength, form, NDC, quantity) and how many
    thefts or losses this location reported in the 24 months before it. Three queries."""
    incident = Incident.objects.select_related(
        "registration", "recorded_by", "notice_sent_by", "form_106_filed_by"
    ).get(pk=incident_id)
    losses = list(incident.losses.select_related("product", "lot").order_by("product__code", "lot__number"))
    since = incident.discovered_at - datetime.timedelta(days=730)
    earlier = Incident.objects.filter(
        registration=incident.registration_id,
        discovered_at__gte=since,
        discovered_at__lte=incident.discovered_at,
    ).count()
    lines = []
    for e in losses:
        lost = -e.quantity_mg
        per = e.product.mg_per_container
        lines.append(
            Form106Line(
                e,
                e.product,
                e.product.describe(lost),
                f"{(lost / per).quantize(Decimal('0.01')).normalize():f}" if per else "",
            )
        )
    return Form106(
        _incident_line(incident, today or timezone.localdate()), incident.registration, lines, earlier
    )
