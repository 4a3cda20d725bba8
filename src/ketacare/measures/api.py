"""Rating scales and safety alerts in the REST API: read the scores, record one (scored, and
its safety alert raised, exactly as on the page), read the alerts and acknowledge one."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ketacare.audit.api import RECORD_ID, RecordViewSet, documented
from ketacare.audit.context import Actor
from ketacare.measures import services
from ketacare.measures.models import INSTRUMENT_CHOICES, Context, QuestionnaireResponse, SafetyAlert
from ketacare.patients.models import Patient
from ketacare.ui.api import REFUSED, RecordField, RecordFilter


class ResponseSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    alert = serializers.SerializerMethodField(
        help_text="The safety alert this score raised, if any (its id)."
    )

    class Meta:
        model = QuestionnaireResponse
        fields = (
            "id",
            "patient",
            "instrument",
            "answers",
            "item_scores",
            "total",
            "band",
            "flags",
            "complete",
            "prorated",
            "context",
            "minutes_after_dose",
            "administered_at",
            "source",
            "created_at",
            "alert",
        )
        read_only_fields = fields

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


class ResponseFilter(RecordFilter):
    date_field = "administered_at"
    instrument = django_filters.ChoiceFilter(choices=INSTRUMENT_CHOICES, help_text="Only this scale.")

    class Meta:
        model = QuestionnaireResponse
        fields: list[str] = []


PHQ9_EXAMPLE = {
    "patient": 1,
    "instrument": "phq9",
    "answers": [2, 2, 1, 2, 1, 1, 2, 1, 0],
    "context": "follow_up",
}


@documented(ResponseSerializer, "rating-scale responses")
class ResponseViewSet(RecordViewSet):
    """Completed rating scales (PHQ-9, GAD-7, ...): read them by patient, scale and day; record
    one, scored by KetaCare; a positive safety item raises its alert in the same transaction."""

    queryset = QuestionnaireResponse.objects.select_related("alert")
    serializer_class = ResponseSerializer
    filterset_class = ResponseFilter
    required_perms = {
        "GET": ("measures.view_questionnaireresponse",),
        "create": ("measures.add_questionnaireresponse",),
    }

    @extend_schema(
        request=ResponseWriteSerializer,
        responses={201: ResponseSerializer, 400: REFUSED},
        examples=[OpenApiExample("A PHQ-9", value=PHQ9_EXAMPLE, request_only=True)],
    )
    def create(self, request: Request) -> Response:
        payload = ResponseWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        response = services.response_record(actor=Actor.from_request(request), **payload.validated_data)
        created = QuestionnaireResponse.objects.select_related("alert").get(pk=response.pk)
        return Response(ResponseSerializer(created).data, status=status.HTTP_201_CREATED)


class AlertSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", read_only=True, default=None, allow_null=True
    )
    priority_label = serializers.CharField(source="get_priority_display", read_only=True)

    class Meta:
        model = SafetyAlert
        fields = (
            "id",
            "patient",
            "response",
            "flags",
            "priority",
            "priority_label",
            "created_at",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledgement_note",
        )
        read_only_fields = fields


class AlertFilter(RecordFilter):
    date_field = "created_at"
    open = django_filters.BooleanFilter(
        field_name="acknowledged_at",
        lookup_expr="isnull",
        help_text="true: only alerts not yet acknowledged.",
    )

    class Meta:
        model = SafetyAlert
        fields: list[str] = []


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

    @extend_schema(
        parameters=[RECORD_ID],
        request=NoteSerializer,
        responses={200: AlertSerializer, 400: REFUSED, 404: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        alert = self.get_object()
        payload = NoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.alert_acknowledge(
            actor=Actor.from_request(request), alert=alert, note=payload.validated_data["note"]
        )
        return Response(AlertSerializer(self.get_queryset().get(pk=alert.pk)).data)
