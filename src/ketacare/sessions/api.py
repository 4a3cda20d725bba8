"""Treatment sessions in the REST API, read only, each with its readings: the dose orders, the
vital signs (struck-out readings kept and marked), the sedation ratings, the adverse events and
the rating scales given in the session. A page of sessions costs the same few queries whatever
its length."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch

from ketacare.audit.api import RecordViewSet, documented
from ketacare.sessions.models import (
    AdverseEvent,
    DoseOrder,
    SedationRating,
    SessionScale,
    TreatmentSession,
    VitalSign,
)
from ketacare.treatment.models import ROUTE_CHOICES
from ketacare.ui.api import IsSet, RecordFilter, RecordSerializer, names


class DoseOrderSerializer(RecordSerializer):
    class Meta:
        model = DoseOrder
        fields = names(
            "id ordered_at weight_basis basis_weight_kg dose_mg_per_kg dose_mg prepared_dose_mg "
            "concentration_mg_per_ml final_concentration_mg_per_ml bag_ml duration_min rate_ml_per_h "
            "devices lot_number warnings needs_verification verified_at superseded_at"
        )


class VitalSignSerializer(RecordSerializer):
    struck_out = IsSet(source="struck_by_id", help_text="Struck out by an amendment: kept, not counted.")

    class Meta:
        model = VitalSign
        fields = names(
            "id taken_at phase minutes_after_dose systolic diastolic heart_rate spo2 resp_rate alarms "
            "amendment struck_out"
        )


class SedationSerializer(RecordSerializer):
    class Meta:
        model = SedationRating
        fields = names("id rated_at minutes_after_dose moaas alarm")


class AdverseEventSerializer(RecordSerializer):
    class Meta:
        model = AdverseEvent
        fields = names("id kind description severity serious action_taken onset_at recorded_at")


class SessionScaleSerializer(RecordSerializer):
    class Meta:
        model = SessionScale
        fields = names("response purpose")


class SessionSerializer(RecordSerializer):
    orders = DoseOrderSerializer(many=True)
    vitals = VitalSignSerializer(many=True)
    sedation = SedationSerializer(many=True)
    adverse_events = AdverseEventSerializer(many=True)
    scales = SessionScaleSerializer(many=True)
    signed = IsSet(source="locked_at", help_text="Signed by the nurse and the physician, and locked.")

    class Meta:
        model = TreatmentSession
        fields = names(
            "id patient source plan appointment protocol route number checked_in_at weight_kg "
            "height_cm dose_started_at dose_stopped_at given_dose_mg infused_volume_ml stop_reason "
            "waste_mg discharged_at discharge_assessment nurse_signed_at physician_signed_at "
            "locked_at signed orders vitals sedation adverse_events scales"
        )


class SessionFilter(RecordFilter):
    date_field = "checked_in_at"
    route = django_filters.ChoiceFilter(choices=ROUTE_CHOICES, help_text="Only this route.")


@documented(SessionSerializer, "treatment sessions")
class SessionViewSet(RecordViewSet):
    """Treatment sessions with their readings, read only (a session is recorded at the chair and
    signed there; a change to a signed one is an amendment made on its page)."""

    queryset = TreatmentSession.objects.prefetch_related(
        Prefetch("orders", queryset=DoseOrder.objects.order_by("ordered_at", "id")),
        Prefetch("vitals", queryset=VitalSign.objects.order_by("taken_at", "id")),
        "sedation",
        "adverse_events",
        Prefetch("scales", queryset=SessionScale.objects.order_by("id")),
    )
    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    required_perms = {"GET": ("treatment_sessions.view_treatmentsession",)}
