"""The controlled-substance ledger (21 CFR 1304; clinical reference section 6): one book per
registered location, products and their lots, and append-only entries. Each entry that moves
stock carries the lot's balance after it, so a lot's history reads with running balances and the
stock page reads the lots alone. The database refuses to change or delete an entry (migration
0002): a correction is a new, reversing entry that names the one it corrects."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ketacare.clinical import ledger as rules
from ketacare.patients.models import Patient
from ketacare.sessions.models import TreatmentSession

_USER = settings.AUTH_USER_MODEL
SUBSTANCE_CHOICES = [(s.value, s.value.capitalize()) for s in rules.Substance]
FORM_CHOICES = [(f.value, f.value.capitalize()) for f in rules.Form]
KIND_CHOICES = [(k.value, k.value.capitalize()) for k in rules.Kind]
MG_DIGITS, MG_PLACES = 14, 4  # mg to 0.1 microgram (clinical/ledger.py MG_PLACES)


class Registration(models.Model):
    """A registered location: its DEA registration number heads its own ledger."""

    name = models.CharField(max_length=120)
    address = models.CharField(max_length=300)
    dea_number = models.CharField("DEA registration number", max_length=9, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return f"{self.name} (DEA {self.dea_number})"


class Product(models.Model):
    """A stocked presentation: a ketamine solution (mg/mL, mL per vial) or esketamine devices."""

    code = models.SlugField(max_length=40, unique=True)
    substance = models.CharField(max_length=12, choices=SUBSTANCE_CHOICES)
    form = models.CharField(max_length=12, choices=FORM_CHOICES)
    concentration_mg_per_ml = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    container_ml = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    mg_per_device = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    devices_per_container = models.PositiveSmallIntegerField(null=True, blank=True)
    # An opened multi-dose vial is used up to this many days after its first puncture (USP <797>
    # default; the product's labelling may say otherwise). None: single-use containers.
    beyond_use_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # The National Drug Code of the package, and its name as sold (DEA Form 106 lists both).
    ndc = models.CharField("NDC", max_length=13, blank=True)
    trade_name = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ("substance", "code")
        constraints = [
            models.CheckConstraint(
                # "isnull=False" as well as "> 0": a CHECK whose comparison meets a NULL is unknown,
                # and an unknown CHECK passes (SQL, and Django's full_clean alike).
                condition=(
                    Q(
                        form=rules.Form.INJECTION,
                        concentration_mg_per_ml__isnull=False,
                        concentration_mg_per_ml__gt=0,
                        container_ml__isnull=False,
                        container_ml__gt=0,
                        mg_per_device__isnull=True,
                        devices_per_container__isnull=True,
                    )
                    | Q(
                        form=rules.Form.NASAL_SPRAY,
                        concentration_mg_per_ml__isnull=True,
                        container_ml__isnull=True,
                        mg_per_device__isnull=False,
                        mg_per_device__gt=0,
                        devices_per_container__isnull=False,
                        devices_per_container__gt=0,
                    )
                ),
                name="ledger_product_units",
                violation_error_message=(
                    "A solution has a concentration and a container volume; a nasal spray has mg "
                    "per device and devices per pack."
                ),
            ),
        ]

    def __str__(self) -> str:
        if self.form == rules.Form.INJECTION:
            return (
                f"{self.substance.capitalize()} {self.concentration_mg_per_ml.normalize():f} mg/mL, "  # type: ignore[union-attr]
                f"{self.container_ml.normalize():f} mL vial"  # type: ignore[union-attr]
            )
        return (
            f"{self.substance.capitalize()} nasal spray {self.mg_per_device.normalize():f} mg/device, "  # type: ignore[union-attr]
            f"{self.devices_per_container} per pack"
        )

    @property
    def mg_per_container(self) -> Decimal:
        if self.form == rules.Form.INJECTION:
            return rules.mg(self.concentration_mg_per_ml * self.container_ml)  # type: ignore[operator]
        return rules.mg(self.mg_per_device * self.devices_per_container)  # type: ignore[operator]

    def describe(self, quantity_mg: Decimal) -> str:
        return rules.describe_quantity(quantity_mg, self.concentration_mg_per_ml, self.mg_per_device)


class Lot(models.Model):
    """One manufacturer's lot of a product at a location, with its balance on the book. The
    balance changes only with an entry, under the lot row's lock, and never goes below zero."""

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="lots")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    number = models.CharField("lot number", max_length=40)
    expiry = models.DateField()
    on_hand_mg = models.DecimalField(default=Decimal(0), max_digits=MG_DIGITS, decimal_places=MG_PLACES)
    first_punctured_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("product", "expiry", "number")
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "product", "number"],
                name="ledger_lot_unique",
                violation_error_message="This lot is already on this ledger.",
            ),
            models.CheckConstraint(
                condition=Q(on_hand_mg__gte=0),
                name="ledger_lot_never_negative",
                violation_error_message="A lot cannot hold less than nothing.",
            ),
        ]

    def __str__(self) -> str:
        return f"lot {self.number}"

    @property
    def open_vial_mg(self) -> Decimal:
        """What is left in the lot's opened vial: the part of its balance that is not whole
        containers (one vial of a lot is open at a time). 0 for devices and untouched vials."""
        if self.product.form != rules.Form.INJECTION:
            return Decimal(0)
        return self.on_hand_mg % self.product.mg_per_container

    def past_beyond_use(self, at: datetime.datetime) -> datetime.date | None:
        """The beyond-use date of the lot's open multi-dose vial if `at` is past it (USP <797>),
        else None: its remainder is to be wasted, not given."""
        days = self.product.beyond_use_days
        if not days or self.first_punctured_at is None or not self.open_vial_mg:
            return None
        last = rules.beyond_use_on(timezone.localtime(self.first_punctured_at).date(), days)
        return last if timezone.localtime(at).date() > last else None


class Incident(models.Model):
    """A theft or significant loss (21 CFR 1301.76(b)): the written notice to the DEA due within one
    business day of discovery, DEA Form 106 within 45 days. Open until both are recorded as done.
    Its loss entries take the stock off the book."""

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="incidents")
    loss_type = models.CharField(
        max_length=20, choices=[(t.value, t.value.capitalize()) for t in rules.LossType]
    )
    discovered_at = models.DateTimeField()
    description = models.TextField()
    police_notified = models.BooleanField(default=False)
    police_report = models.CharField("police department and report number", max_length=200, blank=True)
    recorded_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    notice_due = models.DateField()
    form_106_due = models.DateField()
    notice_sent_at = models.DateTimeField(null=True, blank=True)
    notice_sent_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    form_106_filed_at = models.DateTimeField(null=True, blank=True)
    form_106_filed_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    form_106_reference = models.CharField("Form 106 reference", max_length=60, blank=True)

    class Meta:
        ordering = ("-discovered_at",)
        permissions = [("manage_incident", "Record the DEA notice and Form 106 of a theft or loss")]
        constraints = [
            models.CheckConstraint(
                condition=Q(form_106_filed_at__isnull=True) | ~Q(form_106_reference=""),
                name="ledger_form_106_filed_with_reference",
                violation_error_message="A filed Form 106 has its reference.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_loss_type_display()} discovered {self.discovered_at:%Y-%m-%d}"

    @property
    def open(self) -> bool:
        return self.notice_sent_at is None or self.form_106_filed_at is None


class Entry(models.Model):
    """One line of the book. Stock movements are signed mg (in: receipts; out: administrations,
    waste, losses; a correction reverses the entry it names). Inventories and counts move nothing:
    they record what was on hand (`counted_mg`) beside the book (`balance_after_mg`)."""

    class Business(models.TextChoices):
        OPENING = "opening", "Opening of business"
        CLOSE = "close", "Close of business"

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="entries")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="entries")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    at = models.DateTimeField(help_text="when it happened (a receipt: the date actually received)")
    recorded_at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity_mg = models.DecimalField(default=Decimal(0), max_digits=MG_DIGITS, decimal_places=MG_PLACES)
    balance_after_mg = models.DecimalField(
        null=True, blank=True, max_digits=MG_DIGITS, decimal_places=MG_PLACES
    )
    counted_mg = models.DecimalField(null=True, blank=True, max_digits=MG_DIGITS, decimal_places=MG_PLACES)
    business = models.CharField(max_length=8, choices=Business.choices, blank=True)
    # An administration: the patient and the session (live or imported history) it belongs to.
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(
        TreatmentSession, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    # A receipt (21 CFR 1304.22(c)).
    containers = models.PositiveIntegerField(null=True, blank=True)
    supplier_name = models.CharField(max_length=120, blank=True)
    supplier_address = models.CharField(max_length=300, blank=True)
    supplier_dea = models.CharField(max_length=9, blank=True)
    invoice = models.CharField(max_length=60, blank=True)
    # Waste or destruction: how; and why for waste, losses and corrections.
    manner = models.CharField(max_length=120, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    corrects = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by"
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="losses"
    )

    class Meta:
        ordering = ("id",)
        verbose_name_plural = "entries"
        permissions = [
            ("record_entry", "Record ledger entries (receipts, waste, counts, corrections)"),
            ("witness_entry", "Witness a waste or a count"),
            ("export_ledger", "Download the ledger for an inspector"),
        ]
        indexes = [
            models.Index(fields=["lot", "id"], name="ledger_entry_lot"),
            models.Index(fields=["registration", "at"], name="ledger_entry_at"),
            # The stock page: each product's last inventory, and the wastes awaiting a witness
            # (id too: the check against the countersignatures joins on it).
            models.Index(
                fields=["registration", "product", "at"],
                condition=Q(kind=rules.Kind.INVENTORY),
                name="ledger_entry_inventory",
            ),
            models.Index(
                fields=["kind", "witness", "at", "id"],
                condition=Q(kind=rules.Kind.WASTE, witness__isnull=True),
                name="ledger_entry_awaiting_witness",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after_mg__isnull=True) | Q(balance_after_mg__gte=0),
                name="ledger_entry_balance_never_negative",
                violation_error_message="A lot cannot hold less than nothing.",
            ),
            models.CheckConstraint(
                condition=~Q(kind=rules.Kind.ADMINISTRATION)
                | Q(session__isnull=False, patient__isnull=False, quantity_mg__lt=0),
                name="ledger_administration_has_session",
                violation_error_message="An administration belongs to a patient's session.",
            ),
            models.CheckConstraint(
                condition=~Q(kind=rules.Kind.LOSS) | Q(incident__isnull=False),
                name="ledger_loss_has_incident",
                violation_error_message="A theft or loss is reported as an incident.",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=[rules.Kind.WASTE, rules.Kind.LOSS]) | Q(quantity_mg__lt=0),
                name="ledger_disposition_takes_stock_out",
                violation_error_message="A waste or loss takes stock out.",
            ),
            models.CheckConstraint(
                condition=~Q(kind=rules.Kind.RECEIPT)
                | Q(quantity_mg__gt=0, containers__isnull=False, containers__gt=0),
                name="ledger_receipt_brings_stock_in",
                violation_error_message="A receipt brings stock in.",
            ),
            models.CheckConstraint(
                condition=~Q(kind=rules.Kind.CORRECTION) | Q(corrects__isnull=False),
                name="ledger_correction_names_entry",
                violation_error_message="A correction names the entry it corrects.",
            ),
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(kind=rules.Kind.ADMINISTRATION),
                name="ledger_one_administration_per_session",
                violation_error_message="This session's administration is already on the ledger.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}"

    @property
    def quantity_text(self) -> str:
        return self.product.describe(abs(self.quantity_mg))


class Countersignature(models.Model):
    """A witness's signature added after the entry (a session's waste, posted when the infusion
    stopped early, is witnessed here). Append-only, like the entries."""

    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="countersignature")
    witness = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"countersignature of entry {self.entry_id}"


class WitnessDue(models.Model):
    """A waste posted without a witness (a dose stopped early), until one countersigns it: the
    work list the stock page counts and the countersigning page shows. Not a record itself (the
    entry and its countersignature are): a row comes with the waste and goes, in the same
    transaction, with the countersignature, so the list is as long as the wastes waiting and not
    as long as the book (which the entries and countersignatures alone could only answer by
    reading every waste ever countersigned)."""

    entry = models.OneToOneField(
        Entry, on_delete=models.PROTECT, primary_key=True, related_name="witness_due"
    )

    def __str__(self) -> str:
        return f"entry {self.entry_id} waits for a witness"


class Discrepancy(models.Model):
    """A count or inventory that differs from the book, open until a clinician resolves it (a
    correction, or a loss reported)."""

    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="discrepancy")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="discrepancies")
    book_mg = models.DecimalField(max_digits=MG_DIGITS, decimal_places=MG_PLACES)
    counted_mg = models.DecimalField(max_digits=MG_DIGITS, decimal_places=MG_PLACES)
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("-opened_at",)
        verbose_name_plural = "discrepancies"

    def __str__(self) -> str:
        return f"discrepancy on lot {self.lot_id}"

    @property
    def difference_mg(self) -> Decimal:
        return rules.discrepancy_mg(self.book_mg, self.counted_mg)
