from __future__ import annotations

from typing import Any, cast

from django import forms

from ketacare.clinical import body
from ketacare.clinical.codes import DIAGNOSES
from ketacare.patients.models import Allergy, Patient, ReferringProvider
from ketacare.patients.services import PATIENT_FIELDS, PossibleDuplicate, possible_duplicates
from ketacare.ui.forms import refuse_overlong

DIAGNOSIS_CHOICES = [(d.code, d.label) for d in DIAGNOSES]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _body_field(
    label: str, low: Any, high: Any, messages: dict[str, str], **kwargs: Any
) -> forms.DecimalField:
    """A body measurement to one decimal, optional, between the plausible bounds (`low`, `high`),
    with `messages` that say which unit is meant."""
    return forms.DecimalField(
        label=label,
        max_digits=5,
        decimal_places=1,
        required=False,
        min_value=low,
        max_value=high,
        error_messages=messages,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
        **kwargs,
    )


def weight_field(**kwargs: Any) -> forms.DecimalField:
    low, high = body.WEIGHT_KG_MIN, body.WEIGHT_KG_MAX
    return _body_field(
        "Weight (kg)",
        low,
        high,
        {
            "min_value": f"Weight must be at least {low} kg (is it in pounds?).",
            "max_value": f"Weight must be at most {high} kg (is it in pounds?).",
            "invalid": "Enter the weight as a number of kilograms, e.g. 72.5.",
        },
        **kwargs,
    )


def height_field(**kwargs: Any) -> forms.DecimalField:
    low, high = body.HEIGHT_CM_MIN, body.HEIGHT_CM_MAX
    return _body_field(
        "Height (cm)",
        low,
        high,
        {
            "min_value": f"Height must be at least {low} cm (is it in inches?).",
            "max_value": f"Height must be at most {high} cm.",
            "invalid": "Enter the height as a number of centimetres, e.g. 170.",
        },
        **kwargs,
    )


def typed_name_field(*, label: str, help_text: str, **kwargs: Any) -> forms.CharField:
    """The name typed as a consent's signature. Blank or not, it goes to the service, which says
    what the name must be, with every other error."""
    return forms.CharField(label=label, max_length=200, required=False, help_text=help_text, **kwargs)


class PatientForm(forms.ModelForm):  # type: ignore[type-arg]
    diagnoses = forms.MultipleChoiceField(
        choices=DIAGNOSIS_CHOICES,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Hold Ctrl (or Cmd) to choose more than one.",
    )
    primary_diagnosis = forms.ChoiceField(choices=[("", "None")] + DIAGNOSIS_CHOICES, required=False)

    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        widgets = {
            "date_of_birth": DateInput(),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "emergency_contact_phone": forms.TextInput(attrs={"type": "tel"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }
        error_messages = {
            "given_name": {"required": "Enter the patient's given (first) name."},
            "family_name": {"required": "Enter the patient's family (last) name."},
            "date_of_birth": {
                "required": "Enter the date of birth.",
                "invalid": "Enter a real date, e.g. 1980-04-23.",
            },
            "sex": {"required": "Choose the patient's sex."},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        provider_field = cast(forms.ModelChoiceField, self.fields["referring_provider"])  # type: ignore[type-arg]
        provider_field.queryset = ReferringProvider.objects.order_by("name")
        self.fields["given_name"].widget.attrs["autofocus"] = True
        refuse_overlong(self)
        if self.instance.pk:
            dxs = list(self.instance.diagnoses.all())
            self.initial.setdefault("diagnoses", [d.code for d in dxs])
            self.initial.setdefault("primary_diagnosis", next((d.code for d in dxs if d.is_primary), ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        primary = data.get("primary_diagnosis")
        if primary and primary not in (data.get("diagnoses") or []):
            self.add_error("primary_diagnosis", "The primary diagnosis must be one of the diagnoses chosen.")
        return data

    def details(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in PATIENT_FIELDS}

    def validate_unique(self) -> None:
        # The MRN, the only unique field, is assigned by the service; the form's model validation
        # still runs field rules (date of birth, phone), so every error shows on the first submit.
        pass


class PatientRegisterForm(PatientForm):
    weight_kg = weight_field()
    height_cm = height_field()
    # Shown only once a registration was refused as a possible duplicate, with the MRNs it named.
    not_duplicate = forms.BooleanField(required=False, label="This is a different person: register anyway")
    duplicates_shown = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.duplicates: list[PossibleDuplicate] = []

    def confirms_not_duplicate(self) -> bool:
        """The box is ticked and every patient who may be this one was among those shown: a tick
        given for them does not cover someone who matches only after an edit (a new phone)."""
        if not self.cleaned_data.get("not_duplicate"):
            return False
        shown = set(self.cleaned_data.get("duplicates_shown", "").split())
        return {d.patient.mrn for d in possible_duplicates(self.details())} <= shown

    def ask_about(self, duplicates: list[PossibleDuplicate]) -> None:
        """Show these possible duplicates and ask again, the box unticked, about exactly them."""
        self.duplicates = duplicates
        data = cast(Any, self.data).copy()  # a QueryDict from a request, or a dict
        data.pop(self.add_prefix("not_duplicate"), None)
        data[self.add_prefix("duplicates_shown")] = " ".join(d.patient.mrn for d in duplicates)
        self.data = data


class MeasurementForm(forms.Form):
    weight_kg = weight_field()
    height_cm = height_field()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and data.get("weight_kg") is None and data.get("height_cm") is None:
            raise forms.ValidationError("Enter a weight, a height, or both.")
        return data


class AllergyForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Allergy
        fields = ("substance", "reaction", "severity")
        error_messages = {"substance": {"required": "Name the substance the patient is allergic to."}}


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class ConsentPaperForm(forms.Form):
    """A paper signature, recorded by the nurse or physician who saw it made. `version` is the
    version the page showed: a newer one published since is refused, not signed in its place."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    typed_name = typed_name_field(
        label="Name as the patient signed it", help_text="Their first and last name, as on record."
    )
    signed_at = forms.DateTimeField(
        label="Signed at",
        required=False,
        widget=DateTimeInput(),
        help_text="Leave empty for now.",
    )
    witnessed = forms.BooleanField(
        label="I saw the patient sign this version of the document", required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        refuse_overlong(self)


class ConsentWithdrawForm(forms.Form):
    reason = forms.CharField(
        label="How the patient withdrew, and why if they said",
        max_length=300,
        help_text="For example: by phone, no reason given.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        refuse_overlong(self)
