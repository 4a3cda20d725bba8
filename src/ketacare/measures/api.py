"""Rating scales and safety alerts in the REST API: read the scores, record one (scored, and
its safety alert raised, exactly as on the page), read the alerts and acknowledge one."""

from __future__ import annotations

import django_filters
from rest_framework import serializers

from ketacare.audit.api import RecordingViewSet, RecordViewSet, Writer, changing, documented
from ketacare.measures import services
from ketacare.measures.models import (
    INSTRUMENT_CHOICES,
    RESPONSE_BULK_COLUMNS,
    Context,
    QuestionnaireResponse,
    SafetyAlert,
)
from ketacare.patients.models import Patient
from ketacare.ui.api import RecordField, RecordFilter, RecordSerializer, names


class ResponseSerializer(RecordSerializer):
    alert = serializers.SerializerMethodField(
        help_text="The safety alert this score raised, if any (its id)."
    )

    class Meta:
        model = QuestionnaireResponse
        fields = ("id", *RESPONSE_BULK_COLUMNS, "alert")

    def get_alert(self, obj: QuestionnaireResponse) -> int | None:
        alert = getattr(obj, "alert", None)
        return alert.pk if alert is not None else None


class ResponseWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    patient = RecordField(queryset=Patient.objects.all())
    instrument = serializers.ChoiceField(choices=INSTRUMENT_CHOICES)
    answers = serializers.ListField(
        child=serializers.IntegerField(allow_null=True, min_value=0, max_value=100),
        help_text="The position of the option chosen for each item, in item order; null: unanswered.",
    )
    context = serializers.ChoiceField(choices=Context.choices)  # type: ignore[assignment]  # a field, not .context
    administered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    minutes_after_dose = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=1440
    )


class ScaleFilter(RecordFilter):
    """Also by scale (`instrument`)."""

    instrument = django_filters.ChoiceFilter(choices=INSTRUMENT_CHOICES, help_text="Only this scale.")


class ResponseFilter(ScaleFilter):
    date_field = "administered_at"


PHQ9_EXAMPLE = {
    "patient": 1,
    "instrument": "phq9",
    "answers": [2, 2, 1, 2, 1, 1, 2, 1, 0],
    "context": "follow_up",
}


@documented(ResponseSerializer, "rating-scale responses")
class ResponseViewSet(RecordingViewSet):
    """Completed rating scales (PHQ-9, GAD-7, ...): read them by patient, scale and day; record
    one, scored by KetaCare; a positive safety item raises its alert in the same transaction."""

    queryset = QuestionnaireResponse.objects.select_related("alert")
    serializer_class = ResponseSerializer
    filterset_class = ResponseFilter
    required_perms = {
        "GET": ("measures.view_questionnaireresponse",),
        "create": ("measures.add_questionnaireresponse",),
    }
    recorder = Writer(ResponseWriteSerializer, services.response_record, PHQ9_EXAMPLE)


class AlertSerializer(RecordSerializer):
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", default=None)
    priority_label = serializers.CharField(source="get_priority_display")

    class Meta:
        model = SafetyAlert
        fields = names(
            "id patient response flags priority priority_label created_at acknowledged_at "
            "acknowledged_by acknowledgement_note"
        )


class AlertFilter(RecordFilter):
    date_field = "created_at"
    open = django_filters.BooleanFilter(
        field_name="acknowledged_at",
        lookup_expr="isnull",
        help_text="true: only alerts not yet acknowledged.",
    )


class NoteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(
        help_text="What was done (for example: called the patient, safety plan reviewed)."
    )


@documented(AlertSerializer, "safety alerts")
class AlertViewSet(RecordViewSet):
    """Safety alerts raised by scores (suicidal ideation, severe symptoms, ...): read them, open or
    all; acknowledge one with what was done (once: a second acknowledgement is refused)."""

    queryset = SafetyAlert.objects.select_related("acknowledged_by")
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    required_perms = {"GET": ("measures.view_safetyalert",), "acknowledge": ("measures.change_safetyalert",)}
    # What was done about an alert (a call, a safety plan) is a clinician's to record.
    person_only = ("acknowledge",)
    acknowledge = changing("acknowledge", NoteSerializer, services.alert_acknowledge, "alert")
