from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from ketacare.clinical.protocols import ESKETAMINE_DOSES_MG, WeightBasis
from ketacare.patients.forms import DateInput
from ketacare.treatment import rules, selectors
from ketacare.treatment.models import WEEKDAY_NAMES, Appointment, Chair, TreatmentPlan

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class TimeInput(forms.TimeInput):
    input_type = "time"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value: Any) -> Any:
        if isinstance(value, datetime.datetime):
            local = timezone.localtime(value) if timezone.is_aware(value) else value
            return local.strftime("%Y-%m-%dT%H:%M")
        return value


class StaffChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


def _staff_field() -> StaffChoiceField:
    from django.contrib.auth import get_user_model

    return StaffChoiceField(
        queryset=get_user_model().objects.filter(pk__in=[u.pk for u in selectors.clinical_staff()]),
        required=False,
        label="Staff member",
        empty_label="Not assigned",
    )


def _chair_field() -> forms.ModelChoiceField[Chair]:
    active = Chair.objects.filter(active=True)
    field = forms.ModelChoiceField(queryset=active, label="Chair", empty_label=None)
    # Offered in natural order (Chair 2 before Chair 10), read when the form is drawn; the choice
    # is still checked against the active chairs.
    field.choices = lambda: [(c.pk, str(c)) for c in selectors.chairs_in_order(active=True)]
    return field


def _slot_fields() -> dict[str, forms.Field]:
    """A booking's chair and staff member, their choices read when the form is made."""
    return {"chair": _chair_field(), "clinician": _staff_field()}


def _override_reason_field() -> forms.CharField:
    return forms.CharField(
        label="Book although the clinic is closed then: why",
        required=False,
        max_length=300,
        help_text="Only for a slot on a closure day or outside opening hours; recorded with the booking.",
    )


class PlanForm(forms.Form):
    protocol = forms.ChoiceField(label="Protocol")
    start_on = forms.DateField(label="First treatment", widget=DateInput(), initial=timezone.localdate)
    start_time = forms.TimeField(label="Time", widget=TimeInput(), initial=datetime.time(9, 0))
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=[0, 2, 4],
        label="Treatment days",
        help_text="Weekdays for the induction; the protocol decides how many a week.",
    )
    dose_mg_per_kg = forms.DecimalField(
        label="Planned dose (mg/kg)",
        required=False,
        max_digits=4,
        decimal_places=2,
        help_text="Weight-based protocols; blank for the protocol's standard dose.",
    )
    dose_mg = forms.TypedChoiceField(
        label="Esketamine dose",
        required=False,
        coerce=Decimal,
        choices=[("", "Protocol start (56 mg)")] + [(str(d), f"{d} mg") for d in ESKETAMINE_DOSES_MG],
        empty_value=None,
    )
    weight_basis = forms.ChoiceField(
        label="Dose on",
        required=False,
        choices=[("", "The protocol's weight basis")]
        + [(b.value, f"{b.value} body weight") for b in WeightBasis],
    )
    booster_interval_days = forms.IntegerField(
        label="Booster interval (days)",
        required=False,
        min_value=1,
        max_value=182,
        help_text="Blank for the protocol's default.",
    )
    goals = forms.CharField(
        label="Goals of treatment", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    suicidal_ideation_indication = forms.BooleanField(
        label="Esketamine for depressive symptoms with acute suicidal ideation or behaviour "
        "(84 mg from the start)",
        required=False,
    )
    override_reason = _override_reason_field()

    def __init__(self, *args: Any, routes: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_slot_fields())
        protocol_field: Any = self.fields["protocol"]
        protocol_field.choices = [
            (p.code.value, p.name)
            for p in rules.current().values()
            if p.enabled and (routes is None or p.candidacy_route.value in routes)
        ]
        self.order_fields(["protocol", "start_on", "start_time", "weekdays", "chair", "clinician"])


class BookForm(forms.Form):
    starts_at = forms.DateTimeField(label="Starts", widget=DateTimeInput())
    kind = forms.ChoiceField(choices=Appointment.Kind.choices, initial=Appointment.Kind.BOOSTER, label="Kind")
    override_reason = _override_reason_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_slot_fields())


class RescheduleForm(forms.Form):
    starts_at = forms.DateTimeField(label="New start", widget=DateTimeInput())
    reason = forms.CharField(label="Reason", max_length=300)
    override_reason = _override_reason_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_slot_fields())
        self.order_fields(["starts_at", "chair", "clinician", "reason", "override_reason"])


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=300)


class MaintenanceForm(forms.Form):
    phase = forms.ChoiceField(choices=TreatmentPlan.Phase.choices, initial=TreatmentPlan.Phase.MAINTENANCE)
    booster_interval_days = forms.IntegerField(label="Booster interval (days)", min_value=1, max_value=182)
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 2}))


class ChairForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Chair
        fields = ["name", "room"]


class OpeningHoursForm(forms.Form):
    """A row per weekday: open or not, and the hours."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day, name in enumerate(WEEKDAY_NAMES):
            self.fields[f"open_{day}"] = forms.BooleanField(label=f"Open on {name}s", required=False)
            self.fields[f"opens_{day}"] = forms.TimeField(
                label=f"{name}: opens", required=False, widget=TimeInput()
            )
            self.fields[f"closes_{day}"] = forms.TimeField(
                label=f"{name}: closes", required=False, widget=TimeInput()
            )

    def days(self) -> list[tuple[str, Any, Any, Any]]:
        return [
            (name, self[f"open_{d}"], self[f"opens_{d}"], self[f"closes_{d}"])
            for d, name in enumerate(WEEKDAY_NAMES)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for day, name in enumerate(WEEKDAY_NAMES):
            if data.get(f"open_{day}"):
                for edge in ("opens", "closes"):
                    if data.get(f"{edge}_{day}") is None:
                        self.add_error(f"{edge}_{day}", f"Give the time the clinic {edge} on {name}s.")
        return data

    def hours(self) -> dict[int, tuple[datetime.time, datetime.time] | None]:
        data = self.cleaned_data
        return {
            day: (data[f"opens_{day}"], data[f"closes_{day}"]) if data.get(f"open_{day}") else None
            for day in range(7)
        }


class ClosureForm(forms.Form):
    date = forms.DateField(label="Date", widget=DateInput())
    reason = forms.CharField(label="Reason (shown when booking)", max_length=120)
