from __future__ import annotations

from django import forms

from ketacare.audit.models import AuditEvent
from ketacare.audit.selectors import EventFilters
from ketacare.ui.forms import PeriodForm


class EventFilterForm(PeriodForm):
    period = ("since", "until")
    backwards = "The last day comes before the first."

    actor = forms.CharField(label="User", required=False, max_length=150)
    patient = forms.IntegerField(label="Patient id", required=False, min_value=1)
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any"), *AuditEvent.Action.choices]
    )
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> EventFilters:
        data = self.cleaned_data
        return EventFilters(
            patient_id=data.get("patient"),
            actor_label=(data.get("actor") or "").strip(),
            action=data.get("action") or "",
            since=data.get("since"),
            until=data.get("until"),
        )
