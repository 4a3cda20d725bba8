"""Treatment plans and appointments in the REST API, through the same services as the pages:
a physician's token starts, changes and stops a course; scheduling books, moves and cancels."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from rest_framework import serializers

from ketacare.accounts.roles import Role
from ketacare.audit.api import RecordingViewSet, Writer, changing, documented
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
from ketacare.ui.api import ReasonSerializer, RecordField, RecordFilter, RecordSerializer, names

STAFF = get_user_model().objects.filter(is_active=True, groups__name__in=[Role.PHYSICIAN, Role.NURSE])
CHAIRS = Chair.objects.all()


def _optional(**kwargs: Any) -> dict[str, Any]:
    return {"required": False, "allow_null": True, "default": None, **kwargs}


class MaintenanceDecisionSerializer(RecordSerializer):
    decided_by = serializers.CharField(source="decided_by.username")

    class Meta:
        model = MaintenanceDecision
        fields = names("id phase booster_interval_days reason decided_by decided_at")


class PlanSerializer(RecordSerializer):
    created_by = serializers.CharField(source="created_by.username")
    maintenance_decisions = MaintenanceDecisionSerializer(many=True)

    class Meta:
        model = TreatmentPlan
        fields = names(
            "id patient decision protocol route dose_mg_per_kg dose_mg weight_basis induction_sessions "
            "booster_interval_days phase status started_on goals suicidal_ideation_indication created_by "
            "created_at stopped_at stop_reason maintenance_decisions"
        )


class PlanWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    patient = RecordField(queryset=Patient.objects.all())
    protocol = serializers.ChoiceField(choices=PROTOCOL_CHOICES)
    start_on = serializers.DateField(help_text="The day of the first induction treatment.")
    start_time = serializers.TimeField(help_text="The time of each induction treatment, clinic time.")
    chair = RecordField(queryset=CHAIRS)
    clinician = RecordField(queryset=STAFF, **_optional())
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        default=list,
        help_text="The weekdays of the induction (0 Monday ... 6 Sunday); empty: the protocol's spacing.",
    )
    dose_mg_per_kg = serializers.DecimalField(max_digits=4, decimal_places=2, **_optional())
    dose_mg = serializers.DecimalField(max_digits=6, decimal_places=1, **_optional())
    weight_basis = serializers.ChoiceField(choices=WEIGHT_BASIS_CHOICES, **_optional())
    booster_interval_days = serializers.IntegerField(min_value=1, max_value=32767, **_optional())
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


PLAN_EXAMPLE = {
    "patient": 1,
    "protocol": "iv_ketamine_standard",
    "start_on": "2026-12-07",
    "start_time": "09:00",
    "chair": 1,
    "weekdays": [0, 2, 4],
}


@documented(PlanSerializer, "treatment plans")
class PlanViewSet(RecordingViewSet):
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
    # Starting, changing and stopping a course are a physician's orders, given in person.
    person_only = ("create", "maintenance", "stop")
    recorder = Writer(PlanWriteSerializer, services.plan_start, PLAN_EXAMPLE)
    maintenance = changing("maintenance", MaintenanceWriteSerializer, services.maintenance_decide, "plan")
    stop = changing("stop", ReasonSerializer, services.plan_stop, "plan")


class AppointmentSerializer(RecordSerializer):
    chair_name = serializers.CharField(source="chair.name")
    clinician = serializers.CharField(source="clinician.username", default=None)

    class Meta:
        model = Appointment
        fields = names(
            "id patient plan chair chair_name clinician kind starts_at ends_at status times_rescheduled "
            "last_change_reason cancelled_at created_at"
        )


class AppointmentWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    plan = RecordField(queryset=TreatmentPlan.objects.all())
    chair = RecordField(queryset=CHAIRS)
    starts_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=Appointment.Kind.choices, default=Appointment.Kind.BOOSTER)
    clinician = RecordField(queryset=STAFF, **_optional())
    override_reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RescheduleSerializer(AppointmentWriteSerializer):
    plan = None  # type: ignore[assignment]  # the appointment's own
    kind = None  # type: ignore[assignment]
    reason = serializers.CharField(max_length=300)


class AppointmentFilter(RecordFilter):
    date_field = "starts_at"
    status = django_filters.ChoiceFilter(
        choices=Appointment.Status.choices, help_text="booked, attended or cancelled"
    )


APPOINTMENT_EXAMPLE = {"plan": 1, "chair": 1, "starts_at": "2026-12-14T09:00:00-05:00", "kind": "booster"}


@documented(AppointmentSerializer, "appointments")
class AppointmentViewSet(RecordingViewSet):
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
    recorder = Writer(AppointmentWriteSerializer, services.appointment_book, APPOINTMENT_EXAMPLE)
    reschedule = changing("reschedule", RescheduleSerializer, services.appointment_reschedule, "appointment")
    cancel = changing("cancel", ReasonSerializer, services.appointment_cancel, "appointment")
