from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from ketacare.clinical import monitoring
from ketacare.clinical.monitoring import ADVERSE_EVENT_LABELS, DISCHARGE_CRITERIA, MOAAS_LEVELS, Severity
from ketacare.clinical.protocols import ESKETAMINE_DOSES_MG, WeightBasis
from ketacare.sessions.models import CONCOMITANT
from ketacare.treatment.forms import DateTimeInput

_NUMBER = {"inputmode": "numeric", "autocomplete": "off"}


def _int(label: str) -> forms.IntegerField:
    # The plausible entry ranges are checked by the service (clinical.monitoring.ENTRY_RANGES),
    # which names the field; the form only asks for whole numbers.
    return forms.IntegerField(label=label, required=False, widget=forms.NumberInput(attrs=_NUMBER))


class VitalsForm(forms.Form):
    systolic = _int("Systolic (mmHg)")
    diastolic = _int("Diastolic (mmHg)")
    heart_rate = _int("Heart rate (/min)")
    spo2 = _int("SpO2 (%)")
    resp_rate = _int("Resp. rate (/min)")

    def vitals(self) -> monitoring.Vitals:
        d = self.cleaned_data
        return monitoring.Vitals(
            d.get("systolic"), d.get("diastolic"), d.get("heart_rate"), d.get("spo2"), d.get("resp_rate")
        )


class CheckInForm(VitalsForm):
    weight_kg = forms.DecimalField(label="Weight today (kg)", required=False, max_digits=5, decimal_places=1)
    height_cm = forms.DecimalField(label="Height (cm)", required=False, max_digits=5, decimal_places=1)
    concomitant = forms.MultipleChoiceField(
        choices=CONCOMITANT,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Taking now (for the REMS form)",
    )
    fasting_confirmed = forms.BooleanField(
        required=False, label="No food for 2 hours and no drink for 30 minutes (esketamine)"
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=300)


class OrderForm(forms.Form):
    dose_mg_per_kg = forms.DecimalField(label="Dose (mg/kg)", required=False, max_digits=4, decimal_places=2)
    weight_basis = forms.ChoiceField(
        label="Dose on",
        required=False,
        choices=[("", "The plan's weight basis")]
        + [(b.value, f"{b.value} body weight") for b in WeightBasis],
    )
    concentration_mg_per_ml = forms.DecimalField(
        label="Concentration (mg/mL)", required=False, max_digits=6, decimal_places=2
    )
    bag_ml = forms.DecimalField(label="Bag (mL)", required=False, max_digits=6, decimal_places=1)
    duration_min = forms.IntegerField(label="Duration (min)", required=False)
    dose_mg = forms.TypedChoiceField(
        label="Esketamine dose",
        required=False,
        coerce=Decimal,
        empty_value=None,
        choices=[("", "—")] + [(str(d), f"{d} mg") for d in ESKETAMINE_DOSES_MG],
    )
    lot_number = forms.CharField(label="Lot number", required=False, max_length=40)


class VerifyForm(forms.Form):
    username = forms.CharField(label="Second clinician's username", max_length=150)
    password = forms.CharField(label="Their password", widget=forms.PasswordInput)


class SedationForm(forms.Form):
    moaas = forms.TypedChoiceField(
        label="MOAA/S", coerce=int, choices=[(score, f"{score} · {label}") for score, label in MOAAS_LEVELS]
    )


class AdverseEventForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k.value, v) for k, v in ADVERSE_EVENT_LABELS.items()], label="Event")
    description = forms.CharField(label="Description", required=False, max_length=300)
    severity = forms.ChoiceField(choices=[(s.value, s.value.capitalize()) for s in Severity])
    serious = forms.BooleanField(label="Serious adverse event", required=False)
    action_taken = forms.CharField(label="Action taken", max_length=300)

    def data_for_service(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {k: d[k] for k in ("kind", "description", "severity", "serious", "action_taken")}


class DischargeForm(forms.Form):
    ready_to_leave_at = forms.DateTimeField(
        label="Would have been ready to leave at (esketamine REMS)", required=False, widget=DateTimeInput()
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, label in DISCHARGE_CRITERIA:
            self.fields[code] = forms.BooleanField(label=label, required=False)
        self.order_fields([c for c, _ in DISCHARGE_CRITERIA] + ["ready_to_leave_at"])

    def criteria(self) -> dict[str, bool]:
        return {code: bool(self.cleaned_data.get(code)) for code, _ in DISCHARGE_CRITERIA}

    def criteria_fields(self) -> list[forms.BoundField]:
        return [self[c] for c, _ in DISCHARGE_CRITERIA]


class SignForm(forms.Form):
    password = forms.CharField(label="Your password", widget=forms.PasswordInput)


class AmendForm(forms.Form):
    reason = forms.CharField(label="Reason for the amendment", max_length=300)
    text = forms.CharField(label="Amendment", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    add_event = forms.BooleanField(label="Add a late adverse event", required=False)
    kind = forms.ChoiceField(
        choices=[(k.value, v) for k, v in ADVERSE_EVENT_LABELS.items()], required=False, label="Event"
    )
    severity = forms.ChoiceField(choices=[(s.value, s.value.capitalize()) for s in Severity], required=False)
    action_taken = forms.CharField(label="Action taken", max_length=300, required=False)
    onset_at = forms.DateTimeField(label="Onset", required=False, widget=DateTimeInput())


class RemsSubmitForm(forms.Form):
    confirmation = forms.CharField(label="REMS confirmation number", required=False, max_length=60)
    setting = forms.CharField(
        label="Monitoring setting", required=False, max_length=100, initial="Outpatient clinic"
    )
