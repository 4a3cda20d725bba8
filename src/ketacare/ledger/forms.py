"""Ledger forms: they parse what was typed; the services decide what may be recorded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from ketacare.clinical import ledger as rules
from ketacare.ledger.models import Entry, Lot, Product, Registration
from ketacare.patients.forms import DateInput
from ketacare.ui.forms import PeriodForm

WHEN = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _when_field(label: str = "When", help_text: str = "Leave empty for now.") -> forms.DateTimeField:
    return forms.DateTimeField(label=label, required=False, widget=WHEN, help_text=help_text)


class RegistrationForm(forms.Form):
    name = forms.CharField(label="Location name", max_length=120)
    address = forms.CharField(max_length=300)
    dea_number = forms.CharField(label="DEA registration number", max_length=9, strip=True)


class ProductForm(forms.Form):
    code = forms.SlugField(max_length=40, help_text="A short name, such as ketamine-50-10")
    substance = forms.ChoiceField(choices=[(s.value, s.value.capitalize()) for s in rules.Substance])
    form = forms.ChoiceField(choices=[(f.value, f.value.capitalize()) for f in rules.Form])
    concentration_mg_per_ml = forms.DecimalField(
        label="Concentration (mg/mL)",
        required=False,
        min_value=Decimal("0.001"),
        max_digits=7,
        decimal_places=3,
    )
    container_ml = forms.DecimalField(
        label="Vial volume (mL)", required=False, min_value=Decimal("0.01"), max_digits=7, decimal_places=2
    )
    devices_per_container = forms.IntegerField(
        label="Devices per pack", required=False, min_value=1, max_value=50
    )
    trade_name = forms.CharField(max_length=60, required=False, help_text="Ketalar, Spravato...")
    ndc = forms.CharField(
        label="NDC", max_length=13, required=False, help_text="The package's National Drug Code"
    )
    beyond_use_days = forms.IntegerField(
        label="Days usable after first puncture",
        required=False,
        min_value=1,
        max_value=365,
        help_text=(
            f"Multi-dose vials: {rules.MULTI_DOSE_BEYOND_USE_DAYS} (USP 797) unless the label says otherwise."
        ),
    )


class _Located(forms.Form):
    registration = forms.ModelChoiceField(Registration.objects.all(), label="Location", empty_label=None)
    product = forms.ModelChoiceField(Product.objects.all(), empty_label=None)


class ReceiptForm(_Located):
    lot_number = forms.CharField(max_length=40)
    expiry = forms.DateField(widget=DateInput())
    containers = forms.IntegerField(label="Containers received", min_value=1, max_value=10000)
    supplier_name = forms.CharField(max_length=120)
    supplier_address = forms.CharField(max_length=300)
    supplier_dea = forms.CharField(label="Supplier's DEA number", max_length=9)
    invoice = forms.CharField(label="Invoice or DEA Form 222 number", max_length=60, required=False)
    at = _when_field("Date actually received", "Leave empty for now.")


class InventoryForm(_Located):
    business = forms.ChoiceField(choices=Entry.Business.choices, label="Taken at")
    at = _when_field()


class InventoryLineForm(forms.Form):
    lot_number = forms.CharField(max_length=40, required=False)
    expiry = forms.DateField(widget=DateInput(), required=False, help_text="For a lot not yet on the book.")
    mg = forms.DecimalField(
        label="On hand (mg)", min_value=0, max_digits=14, decimal_places=4, required=False
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("lot_number") and data.get("mg") is None:
            self.add_error("mg", "Give what is on hand of this lot, in mg (0 if none).")
        if data.get("mg") is not None and not data.get("lot_number"):
            self.add_error("lot_number", "Name the lot counted.")
        return data


InventoryLines = forms.formset_factory(InventoryLineForm, extra=4, max_num=200)


class _Quantity(forms.Form):
    """A quantity typed in mg or, for a solution, in mL (converted at the lot's concentration)."""

    mg = forms.DecimalField(
        label="Quantity (mg)", required=False, min_value=0, max_digits=14, decimal_places=4
    )
    ml = forms.DecimalField(label="or (mL)", required=False, min_value=0, max_digits=9, decimal_places=2)

    def __init__(self, *args: Any, lot: Lot, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lot = lot
        if lot.product.concentration_mg_per_ml is None:
            del self.fields["ml"]
        else:
            self.fields["ml"].help_text = f"at {lot.product.concentration_mg_per_ml.normalize():f} mg/mL"

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        mg, ml = data.get("mg"), data.get("ml")
        if mg is None and ml is None and not self.errors:
            self.add_error("mg", "Give the quantity in mg or mL.")
        elif mg is not None and ml is not None:
            self.add_error("ml", "Give the quantity once: in mg or in mL.")
        elif ml is not None:
            data["mg"] = rules.mg(ml * self.lot.product.concentration_mg_per_ml)
        return data


class _Witnessed(forms.Form):
    witness = forms.CharField(label="Witness (username)", max_length=150)
    witness_password = forms.CharField(
        label="Witness's password", widget=forms.PasswordInput(attrs={"autocomplete": "off"}), strip=False
    )


class WasteForm(_Quantity, _Witnessed):
    manner = forms.CharField(max_length=120, initial="Rendered unrecoverable in a drug waste container")
    reason = forms.CharField(max_length=300)
    at = _when_field()

    field_order = ["mg", "ml", "manner", "reason", "at", "witness", "witness_password"]


class CountForm(_Witnessed):
    counted_mg = forms.DecimalField(label="Counted (mg)", min_value=0, max_digits=14, decimal_places=4)
    at = _when_field()

    field_order = ["counted_mg", "at", "witness", "witness_password"]


class CorrectionForm(forms.Form):
    entry = forms.IntegerField(widget=forms.HiddenInput())
    reason = forms.CharField(label="Why is this entry wrong?", max_length=300)


class LossForm(_Quantity):
    loss_type = forms.ChoiceField(
        label="Type of theft or loss", choices=[(t.value, t.value.capitalize()) for t in rules.LossType]
    )
    reason = forms.CharField(label="What happened", max_length=300)
    police_report = forms.CharField(
        label="Police department and report number", max_length=200, required=False, help_text="If reported."
    )
    at = _when_field("Discovered")


class NoticeForm(forms.Form):
    at = _when_field("Sent", "Leave empty for now.")


class Form106Form(forms.Form):
    reference = forms.CharField(label="Form 106 reference", max_length=60)
    at = _when_field("Filed", "Leave empty for now.")


class CountersignForm(_Witnessed):
    entry = forms.IntegerField(widget=forms.HiddenInput())


class ResolveForm(forms.Form):
    resolution = forms.CharField(label="What was found", max_length=300)


class ExportForm(PeriodForm):
    registration = forms.ModelChoiceField(Registration.objects.all(), label="Location", empty_label=None)
    start = forms.DateField(label="From", widget=DateInput())
    end = forms.DateField(label="To", widget=DateInput(), initial=timezone.localdate)
