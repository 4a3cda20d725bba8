from __future__ import annotations

from django import forms

from ketacare.clinical import instruments
from ketacare.clinical.codes import DIAGNOSES
from ketacare.clinical.outcomes import OUTCOME_SCALES
from ketacare.clinical.protocols import ROUTE_LABELS
from ketacare.outcomes.selectors import Filters
from ketacare.ui.forms import PeriodForm


class FiltersForm(PeriodForm):
    """The dashboard's filters, read from the URL so a view can be shared."""

    backwards = "The end date must be on or after the start date."

    instrument = forms.ChoiceField(
        label="Scale",
        choices=[(c, instruments.get(c).name) for c in OUTCOME_SCALES],
        required=False,
        initial=OUTCOME_SCALES[0],
    )
    start = forms.DateField(
        label="First treatment from", required=False, widget=forms.DateInput({"type": "date"})
    )
    end = forms.DateField(
        label="First treatment to", required=False, widget=forms.DateInput({"type": "date"})
    )
    condition = forms.ChoiceField(
        label="Primary diagnosis",
        choices=[("", "Any")] + [(d.code, d.label) for d in DIAGNOSES],
        required=False,
    )
    route = forms.ChoiceField(
        label="Route",
        choices=[("", "Any")] + [(str(c), label) for c, label in ROUTE_LABELS.items()],
        required=False,
    )

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            instrument=data.get("instrument") or OUTCOME_SCALES[0],
            start=data.get("start"),
            end=data.get("end"),
            condition=data.get("condition") or "",
            route=data.get("route") or "",
        )
