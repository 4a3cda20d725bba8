from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from ketacare.clinical import instruments
from ketacare.clinical.instruments.base import Answer, Instrument
from ketacare.measures import wording
from ketacare.measures.models import Context


def item_field_name(index: int) -> str:
    return f"item_{index + 1}"


class AnswersForm(forms.Form):
    """One radio group per item; each option's value is its position on the printed form."""

    def __init__(
        self, *args: Any, instrument: Instrument, patient_facing: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        for index, item in enumerate(instrument.items):
            label = wording.item_text(instrument, index)
            self.fields[item_field_name(index)] = forms.TypedChoiceField(
                label=f"{item.number}. {label}",
                choices=list(enumerate(wording.option_labels(instrument, index))),
                coerce=int,
                empty_value=None,
                # Patients answer every question (a blank safety item cannot be followed up at
                # home); staff transcribing a paper form may leave a blank, and the scale's own
                # missing-item rule decides whether it is scored.
                required=patient_facing and item.required,
                widget=forms.RadioSelect,
                error_messages={"required": f"Please answer question {item.number}."},
            )

    def answers(self) -> list[Answer]:
        return [self.cleaned_data.get(item_field_name(i)) for i in range(len(self.instrument.items))]

    def item_fields(self) -> list[forms.BoundField]:
        return [self[item_field_name(i)] for i in range(len(self.instrument.items))]


class StaffResponseForm(AnswersForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["context"] = forms.ChoiceField(choices=Context.choices, initial=Context.FOLLOW_UP)
        self.fields["minutes_after_dose"] = forms.IntegerField(
            label="Minutes after the dose",
            required=False,
            min_value=0,
            max_value=1440,
            help_text="For a post-session rating only.",
        )
        self.fields["administered_at"] = forms.DateTimeField(
            label="Completed at",
            initial=lambda: timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("minutes_after_dose") is not None and data.get("context") != Context.POST_SESSION:
            self.add_error(
                "minutes_after_dose", "Minutes after the dose apply only to a post-session rating."
            )
        return data


class LinkForm(forms.Form):
    instrument = forms.ChoiceField(
        label="Scale",
        choices=[
            (c, instruments.get(c).name) for c in instruments.CODES if instruments.get(c).rater == "patient"
        ],
    )
    context = forms.ChoiceField(choices=Context.choices, initial=Context.FOLLOW_UP)


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label="What was done",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Write what was done (for example: called the patient, safety plan reviewed)."
        },
    )
