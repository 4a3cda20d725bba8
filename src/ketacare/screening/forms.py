from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from ketacare.clinical.antidepressants import MG_PER_UNIT, Unit
from ketacare.clinical.candidacy import DECISION_LABELS, PRESENTING_LABELS
from ketacare.clinical.contraindications import ROUTE_LABELS, Rule, checklist
from ketacare.patients.forms import DateInput
from ketacare.patients.models import ReferringProvider
from ketacare.screening import rules
from ketacare.screening.models import AntidepressantTrial, Consultation, PriorTreatment

YES_NO = [(True, "Yes"), (False, "No")]


def _yes_no(value: Any) -> bool | None:
    return {"True": True, "False": False, True: True, False: False}.get(value)


class ReferralForm(forms.Form):
    referring_provider = forms.ModelChoiceField(
        queryset=ReferringProvider.objects.all(),
        required=False,
        label="Referring clinician",
        empty_label="Self-referred, or a new clinician below",
    )
    new_provider_name = forms.CharField(label="New referring clinician: name", max_length=150, required=False)
    new_provider_practice = forms.CharField(label="Practice", max_length=200, required=False)
    new_provider_phone = forms.CharField(label="Phone", max_length=30, required=False)
    new_provider_email = forms.EmailField(label="Email", required=False)
    received_on = forms.DateField(label="Referral received", widget=DateInput(), initial=timezone.localdate)
    reason = forms.CharField(label="Reason for referral", widget=forms.Textarea(attrs={"rows": 3}))
    presenting_conditions = forms.MultipleChoiceField(
        choices=[(k.value, v) for k, v in PRESENTING_LABELS.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one presenting condition."},
    )
    consent_to_treatment = forms.BooleanField(
        label="The patient consents to assessment and treatment", required=False
    )
    consent_to_share = forms.BooleanField(
        label="The patient consents to reports being shared with the referring clinician", required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("referring_provider") and data.get("new_provider_name"):
            self.add_error("new_provider_name", "Choose a referring clinician or enter a new one, not both.")
        for extra in ("new_provider_practice", "new_provider_phone", "new_provider_email"):
            if data.get(extra) and not data.get("new_provider_name"):
                self.add_error("new_provider_name", "Enter the new referring clinician's name.")
                break
        return data

    def new_provider(self) -> dict[str, str] | None:
        if not self.cleaned_data.get("new_provider_name"):
            return None
        return {
            "name": self.cleaned_data["new_provider_name"],
            "practice": self.cleaned_data["new_provider_practice"],
            "phone": self.cleaned_data["new_provider_phone"],
            "email": self.cleaned_data["new_provider_email"],
        }


class EpisodeForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Consultation
        fields = ("episode_duration_months", "severity", "augmentation_used", "notes")
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["episode_duration_months"].required = True
        self.fields["episode_duration_months"].error_messages["required"] = (
            "Enter the episode's length in months."
        )
        self.fields["severity"].required = True
        self.fields["severity"].error_messages["required"] = "Choose the severity of the current episode."


class ChecklistForm(forms.Form):
    """Every condition on the clinic's checklist, each answered Yes or No (age is not asked: it
    comes from the date of birth)."""

    def __init__(self, *args: Any, answers: dict[str, bool] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules: tuple[Rule, ...] = checklist(rules.current().contraindications)
        for rule in self.rules:
            self.fields[rule.code] = forms.TypedChoiceField(
                label=rule.question,
                choices=YES_NO,
                coerce=_yes_no,
                widget=forms.RadioSelect,
                initial=(answers or {}).get(rule.code),
                error_messages={"required": "Answer yes or no."},
            )

    def answers(self) -> dict[str, bool]:
        return {r.code: bool(self.cleaned_data[r.code]) for r in self.rules}


class TrialForm(forms.ModelForm):  # type: ignore[type-arg]
    """A trial of a drug from the clinic's table. The dose is typed in the unit chosen beside it
    (mg, or micrograms for liothyronine) and stored in mg: the unit is explicit, never guessed."""

    drug = forms.ChoiceField(error_messages={"required": "Choose the drug."})
    dose_unit = forms.ChoiceField(
        label="Unit",
        choices=[(Unit.MG.value, "mg"), (Unit.MICROGRAM.value, "micrograms")],
        initial=Unit.MG.value,
        required=False,  # mg when not sent, as the form always was
    )

    class Meta:
        model = AntidepressantTrial
        fields = (
            "drug",
            "daily_dose_mg",
            "started_on",
            "stopped_on",
            "adherence",
            "outcome",
            "current_episode",
            "notes",
        )
        labels = {"daily_dose_mg": "Highest daily dose"}
        widgets = {"started_on": DateInput(), "stopped_on": DateInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        drugs = rules.current().drugs
        field: Any = self.fields["drug"]
        field.choices = [("", "Choose a drug")] + [(d.name, d.choice_label) for d in drugs.values()]
        self.fields["daily_dose_mg"].widget.attrs.update({"step": "any", "inputmode": "decimal"})
        self.fields["daily_dose_mg"].error_messages["invalid"] = "Enter the daily dose as a number."
        self.fields["daily_dose_mg"].help_text = "In the unit chosen beside it (liothyronine: micrograms)."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        dose = data.get("daily_dose_mg")
        if dose is not None and data.get("dose_unit") == Unit.MICROGRAM.value:
            data["daily_dose_mg"] = dose * MG_PER_UNIT[Unit.MICROGRAM]
        return data


class PriorTreatmentForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = PriorTreatment
        fields = ("kind", "description", "started_on", "sessions", "outcome", "current_episode")
        widgets = {"started_on": DateInput()}


class StrikeOutForm(forms.Form):
    reason = forms.CharField(
        label="Why strike it out",
        max_length=200,
        error_messages={"required": "Say why the trial is struck out (for example: entered twice)."},
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[(k.value, v) for k, v in DECISION_LABELS.items()],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the decision."},
    )
    routes = forms.MultipleChoiceField(
        label="Eligible for",
        choices=[(k.value, v) for k, v in ROUTE_LABELS.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    reasons = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write the reasons for the decision."},
    )
    precautions = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    plan = forms.CharField(
        label="Proposed plan (for the letter)",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="For example: six IV ketamine infusions at 0.5 mg/kg over two to three weeks, then review.",
    )
    password = forms.CharField(
        label="Your password, to sign",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password to sign."},
    )
