"""Each treated patient's outcome on each scale, read only, in the REST API: the rows the
clinic's figures are counted from (baseline, the same-day change, each time point's score,
response and remission, or why the patient is left out there). Brought up to date first, as
the outcome pages are."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from ketacare.audit.api import RecordViewSet, documented
from ketacare.measures.api import ScaleFilter
from ketacare.outcomes import services
from ketacare.outcomes.models import PatientOutcome
from ketacare.ui.api import BIGGEST_ID, RecordSerializer


class OutcomeSerializer(RecordSerializer):
    class Meta:
        model = PatientOutcome
        fields = "__all__"


class OutcomeFilter(ScaleFilter):
    date_field = "first_treatment_at"


@documented(OutcomeSerializer, "patient outcomes")
class OutcomeViewSet(RecordViewSet):
    """One row per treated patient and scale, filtered by patient, scale and the day of the first
    treatment (`since`, `until`)."""

    queryset = PatientOutcome.objects.all()
    serializer_class = OutcomeSerializer
    filterset_class = OutcomeFilter
    required_perms = {"GET": ("outcomes.view_outcomes",)}

    def list(self, request: Request) -> Response:
        patient = request.query_params.get("patient", "")
        if patient.isdecimal() and 1 <= int(patient) <= BIGGEST_ID:
            services.catch_up_patient(int(patient))
        else:
            services.catch_up()
        return super().list(request)

    def get_object(self) -> Any:
        row = super().get_object()
        if services.catch_up_patient(row.patient_id).patients:
            row = super().get_object()
        return row
