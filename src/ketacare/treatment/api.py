"""Treatment plans and appointments in the REST API, through the same services as the pages:
a physician's token starts, changes and stops a course; scheduling books, moves and cancels."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ketacare.accounts.roles import Role
from ketacare.audit.api import RECORD_ID, RecordViewSet, documented
from ketacare.audit.context import Actor
from ketacare.patients.models import Patient
from ketacare.treatment import services
from ketacare.treatment.models import (
    PROTOCOL_CHOICES,
    WEIGHT_BASIS_CHOICES,
    Appointment,
    Chair,
    MaintenanceDecision,
    TreatmentPlan,
)
from ketacare.ui.api import REFUSED, ReasonSerializer, RecordField, RecordFilter


def _clinical_staff() -> Any:
    return get_user_model().objects.filter(is_active=True, groups__name__in=[Role.PHYSICIAN, Role.NURSE])


class MaintenanceDecisionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    decided_by = serializers.CharField(source="decided_by.username", read_only=True)

    class Meta:
        model = MaintenanceDecision
        fields = ("id", "phase", "booster_interval_days", "reason", "decided_by", "decided_at")
        read_only_fields = fields


class PlanSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    maintenance_decisions = MaintenanceDecisionSerializer(many=True, read_only=True)

    class Meta:
        model = TreatmentPlan
        fields = (
            "id",
            "patient",
            "decision",
            "protocol",
            "route",
            "dose_mg_per_kg",
            "dose_mg",
            "weight_basis",
            "induction_sessions",
            "booster_interval_days",
            "phase",
            "status",
            "started_on",
            "goals",
            "suicidal_ideation_indication",
            "created_by",
            "created_at",
            "stopped_at",
            "stop_reason",
            "maintenance_decisions",
        )
        read_only_fields = fields


class PlanWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    patient = RecordField(queryset=Patient.objects.all())
    protocol = serializers.ChoiceField(choices=PROTOCOL_CHOICES)
    start_on = serializers.DateField(help_text="The day of the first induction treatment.")
    start_time = serializers.TimeField(help_text="The time of each induction treatment, clinic time.")
    chair = RecordField(queryset=Chair.objects.all())
    clinician = RecordField(queryset=_clinical_staff(), required=False, allow_null=True, default=None)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        default=list,
        help_text="The weekdays of the induction (0 Monday ... 6 Sunday); empty: the protocol's spacing.",
    )
    dose_mg_per_kg = serializers.DecimalField(
        max_digits=4, decimal_places=2, required=False, allow_null=True, default=None
    )
    dose_mg = serializers.DecimalField(
        max_digits=6, decimal_places=1, required=False, allow_null=True, default=None
    )
    weight_basis = serializers.ChoiceField(
        choices=WEIGHT_BASIS_CHOICES, required=False, allow_null=True, default=None
    )
    booster_interval_days = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1
    )
    goals = serializers.CharField(required=False, allow_blank=True, default="")
    suicidal_ideation_indication = serializers.BooleanField(required=False, default=False)
    override_reason = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="To book on a day the clinic is closed.",
    )


class MaintenanceWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    phase = serializers.ChoiceField(choices=TreatmentPlan.Phase.choices)
    booster_interval_days = serializers.IntegerField(min_value=1, max_value=32767)
    reason = serializers.CharField()


class PlanFilter(RecordFilter):
    date_field = "started_on"
    status = django_filters.ChoiceFilter(choices=TreatmentPlan.Status.choices, help_text="active or stopped")

    class Meta:
        model = TreatmentPlan
        fields: list[str] = []


PLAN_EXAMPLE = {
    "patient": 1,
    "protocol": "iv_ketamine_standard",
    "start_on": "2026-12-07",
    "start_time": "09:00",
    "chair": 1,
    "weekdays": [0, 2, 4],
}


@documented(PlanSerializer, "treatment plans")
class PlanViewSet(RecordViewSet):
    """Courses of treatment: read them; a physician starts one (with its induction appointments,
    all or none, under a signed candidacy decision), records a maintenance decision, or stops it."""

    queryset = TreatmentPlan.objects.select_related("created_by").prefetch_related(
        "maintenance_decisions__decided_by"
    )
    serializer_class = PlanSerializer
    filterset_class = PlanFilter
    required_perms = {
        "GET": ("treatment.view_treatmentplan",),
        "create": ("treatment.add_treatmentplan",),
        "maintenance": ("treatment.change_treatmentplan",),
        "stop": ("treatment.change_treatmentplan",),
    }

    def _answer(self, plan: TreatmentPlan, code: int = status.HTTP_200_OK) -> Response:
        return Response(PlanSerializer(self.get_queryset().get(pk=plan.pk)).data, status=code)

    @extend_schema(
        request=PlanWriteSerializer,
        responses={201: PlanSerializer, 400: REFUSED},
        examples=[OpenApiExample("An induction course", value=PLAN_EXAMPLE, request_only=True)],
    )
    def create(self, request: Request) -> Response:
        payload = PlanWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        plan = services.plan_start(actor=Actor.from_request(request), **payload.validated_data)
        return self._answer(plan, status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[RECORD_ID],
        request=MaintenanceWriteSerializer,
        responses={200: PlanSerializer, 400: REFUSED, 404: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def maintenance(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        payload = MaintenanceWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.maintenance_decide(actor=Actor.from_request(request), plan=plan, **payload.validated_data)
        return self._answer(plan)

    @extend_schema(
        parameters=[RECORD_ID],
        request=ReasonSerializer,
        responses={200: PlanSerializer, 400: REFUSED, 404: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str) -> Response:
        plan = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.plan_stop(
            actor=Actor.from_request(request), plan=plan, reason=payload.validated_data["reason"]
        )
        return self._answer(plan)


class AppointmentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    chair_name = serializers.CharField(source="chair.name", read_only=True)
    clinician = serializers.CharField(
        source="clinician.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Appointment
        fields = (
            "id",
            "patient",
            "plan",
            "chair",
            "chair_name",
            "clinician",
            "kind",
            "starts_at",
            "ends_at",
            "status",
            "times_rescheduled",
            "last_change_reason",
            "cancelled_at",
            "created_at",
        )
        read_only_fields = fields


class AppointmentWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    plan = RecordField(queryset=TreatmentPlan.objects.all())
    chair = RecordField(queryset=Chair.objects.all())
    starts_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=Appointment.Kind.choices, default=Appointment.Kind.BOOSTER)
    clinician = RecordField(queryset=_clinical_staff(), required=False, allow_null=True, default=None)
    override_reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RescheduleSerializer(serializers.Serializer):  # type: ignore[type-arg]
    starts_at = serializers.DateTimeField()
    chair = RecordField(queryset=Chair.objects.all())
    clinician = RecordField(queryset=_clinical_staff(), required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=300)
    override_reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AppointmentFilter(RecordFilter):
    date_field = "starts_at"
    status = django_filters.ChoiceFilter(
        choices=Appointment.Status.choices, help_text="booked, attended or cancelled"
    )

    class Meta:
        model = Appointment
        fields: list[str] = []


APPOINTMENT_EXAMPLE = {"plan": 1, "chair": 1, "starts_at": "2026-12-14T09:00:00-05:00", "kind": "booster"}


@documented(AppointmentSerializer, "appointments")
class AppointmentViewSet(RecordViewSet):
    """Appointments: read them by patient and day; book one under an active plan (it must fit
    the chair, the opening hours and the protocol's interval), move one, or cancel one."""

    queryset = Appointment.objects.select_related("chair", "clinician")
    serializer_class = AppointmentSerializer
    filterset_class = AppointmentFilter
    required_perms = {
        "GET": ("treatment.view_appointment",),
        "create": ("treatment.add_appointment",),
        "reschedule": ("treatment.change_appointment",),
        "cancel": ("treatment.change_appointment",),
    }

    def _answer(self, appointment: Appointment, code: int = status.HTTP_200_OK) -> Response:
        return Response(AppointmentSerializer(self.get_queryset().get(pk=appointment.pk)).data, status=code)

    @extend_schema(
        request=AppointmentWriteSerializer,
        responses={201: AppointmentSerializer, 400: REFUSED},
        examples=[OpenApiExample("A booster", value=APPOINTMENT_EXAMPLE, request_only=True)],
    )
    def create(self, request: Request) -> Response:
        payload = AppointmentWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        booked = services.appointment_book(actor=Actor.from_request(request), **payload.validated_data)
        return self._answer(booked, status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[RECORD_ID],
        request=RescheduleSerializer,
        responses={200: AppointmentSerializer, 400: REFUSED, 404: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: str) -> Response:
        appointment = self.get_object()
        payload = RescheduleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        moved = services.appointment_reschedule(
            actor=Actor.from_request(request), appointment=appointment, **payload.validated_data
        )
        return self._answer(moved)

    @extend_schema(
        parameters=[RECORD_ID],
        request=ReasonSerializer,
        responses={200: AppointmentSerializer, 400: REFUSED, 404: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        appointment = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        cancelled = services.appointment_cancel(
            actor=Actor.from_request(request),
            appointment=appointment,
            reason=payload.validated_data["reason"],
        )
        return self._answer(cancelled)
