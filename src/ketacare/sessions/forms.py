from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from ketacare.clinical import monitoring
from ketacare.clinical.monitoring import ADVERSE_EVENT_LABELS, DISCHARGE_CRITERIA, MOAAS_LEVELS, Severity
from ketacare.clinical.protocols import ESKETAMINE_DOSES_MG, WeightBasis
from ketacare.clinical.session_checks import ChecklistItem
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


YES_NO = [("yes", "Yes"), ("no", "No")]


class ChecklistMixin(forms.Form):
    """The pre-dose checklist: one yes/no question per item the route asks, named check_<code>."""

    escort_name = forms.CharField(label="Escort's name", required=False, max_length=100)
    escort_phone = forms.CharField(
        label="Escort's phone",
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )

    def add_checklist(self, items: list[ChecklistItem], answers: dict[str, bool] | None = None) -> None:
        self.checklist_items = items
        for item in items:
            initial = (
                None
                if answers is None or item.code not in answers
                else ("yes" if answers[item.code] else "no")
            )
            self.fields[f"check_{item.code}"] = forms.ChoiceField(
                label=item.question
                + (" (only if pregnancy is possible)" if item.only_if == "pregnancy_possible" else ""),
                choices=YES_NO,
                required=False,
                initial=initial,
                widget=forms.RadioSelect(attrs={"class": "yes-no"}),
            )

    def checklist(self) -> dict[str, bool | None]:
        out: dict[str, bool | None] = {}
        for item in self.checklist_items:
            value = self.cleaned_data.get(f"check_{item.code}")
            out[item.code] = None if not value else value == "yes"
        return out

    def checklist_fields(self) -> list[forms.BoundField]:
        return [self[f"check_{item.code}"] for item in self.checklist_items]


class CheckInForm(VitalsForm, ChecklistMixin):
    weight_kg = forms.DecimalField(label="Weight today (kg)", required=False, max_digits=5, decimal_places=1)
    confirm_weight = forms.BooleanField(
        label="The weight is right (re-weighed in kg), although it differs from the last by more than 10%",
        required=False,
    )
    height_cm = forms.DecimalField(label="Height (cm)", required=False, max_digits=5, decimal_places=1)
    concomitant = forms.MultipleChoiceField(
        choices=CONCOMITANT,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Taking now (for the REMS form)",
    )

    def __init__(self, *args: Any, items: list[ChecklistItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_checklist(items)


class ChecklistForm(ChecklistMixin):
    def __init__(
        self, *args: Any, items: list[ChecklistItem], answers: dict[str, bool], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.add_checklist(items, answers)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=300)


class OrderForm(forms.Form):
    dose_mg_per_kg = forms.DecimalField(label="Dose (mg/kg)", required=False, max_digits=4, decimal_places=2)
    weight_basis = forms.ChoiceField(
        label="Dose on",
        required=False,
        choices=[("", "Plan's basis")] + [(b.value, f"{b.value} body weight") for b in WeightBasis],
    )
    concentration_mg_per_ml = forms.DecimalField(
        label="Concentration (mg/mL)", required=False, max_digits=6, decimal_places=2
    )
    bag_ml = forms.DecimalField(label="Bag (mL)", required=False, max_digits=6, decimal_places=1)
    duration_min = forms.IntegerField(label="Duration (min)", required=False)
    duration_reason = forms.CharField(label="Reason for a shorter infusion", required=False, max_length=300)
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

    override_reason = forms.CharField(
        label="Physician's reason to discharge past a failed criterion", required=False, max_length=300
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, label in DISCHARGE_CRITERIA:
            self.fields[code] = forms.BooleanField(label=label, required=False)
        self.order_fields([c for c, _ in DISCHARGE_CRITERIA] + ["ready_to_leave_at", "override_reason"])

    def criteria(self) -> dict[str, bool]:
        return {code: bool(self.cleaned_data.get(code)) for code, _ in DISCHARGE_CRITERIA}

    def criteria_fields(self) -> list[forms.BoundField]:
        return [self[c] for c, _ in DISCHARGE_CRITERIA]


class StopForm(forms.Form):
    infused_volume_ml = forms.DecimalField(
        label="Volume infused (mL, from the pump)",
        required=False,
        max_digits=7,
        decimal_places=2,
        min_value=0,
    )
    reason = forms.CharField(label="Reason for stopping early", required=False, max_length=300)


class AlarmAckForm(forms.Form):
    alarm = forms.ChoiceField(choices=[(a.value, label) for a, label in monitoring.ALARM_LABELS.items()])
    note = forms.CharField(label="Why no adverse event", max_length=300)


class SkipForm(forms.Form):
    what = forms.ChoiceField(choices=[("CADSS", "CADSS"), ("MOAA/S", "MOAA/S")])
    minutes = forms.IntegerField(min_value=0)
    reason = forms.CharField(label="Reason not done", max_length=300)


class RiskForm(forms.Form):
    assessment = forms.CharField(
        label="Risk assessment (ideation, intent, plan, protective factors, decision)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class StrikeForm(forms.Form):
    vital = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label="Why strike it out", max_length=300)


class EnrolmentForm(forms.Form):
    reference = forms.CharField(label="REMS patient enrolment number", max_length=60)
    enrolled_on = forms.DateField(label="Enrolled on", widget=forms.DateInput(attrs={"type": "date"}))


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


def _clinicians(perm: str) -> Any:
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    app, codename = perm.split(".")
    q = Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app) | Q(
        user_permissions__codename=codename, user_permissions__content_type__app_label=app
    )
    return get_user_model().objects.filter(q, is_active=True).distinct().order_by("last_name", "username")


class _StaffChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


class RemsSubmitForm(forms.Form):
    monitored_by = _StaffChoice(queryset=None, label="Clinician who monitored the patient")
    prescriber_on_site = _StaffChoice(queryset=None, label="Prescriber on site")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["monitored_by"].queryset = _clinicians("treatment_sessions.add_vitalsign")  # type: ignore[attr-defined]
        self.fields["prescriber_on_site"].queryset = _clinicians("treatment_sessions.add_doseorder")  # type: ignore[attr-defined]

    confirmation = forms.CharField(label="REMS confirmation number", required=False, max_length=60)
    setting = forms.CharField(
        label="Monitoring setting", required=False, max_length=100, initial="Outpatient clinic"
    )
