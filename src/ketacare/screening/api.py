"""Screening in the REST API: referrals and signed candidacy decisions (read only), and the
antidepressant trials (read, record, strike out), through the same services as the pages."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ketacare.audit.api import RECORD_ID, RecordViewSet, documented
from ketacare.audit.context import Actor
from ketacare.patients.models import Patient
from ketacare.screening import services
from ketacare.screening.models import AntidepressantTrial, CandidacyDecision, Referral
from ketacare.ui.api import REFUSED, ReasonSerializer, RecordField, RecordFilter


class ReferralSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    referring_provider_name = serializers.CharField(
        source="referring_provider.name", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Referral
        fields = (
            "id",
            "patient",
            "referring_provider",
            "referring_provider_name",
            "received_on",
            "reason",
            "presenting_conditions",
            "consent_to_treatment",
            "consent_to_share",
            "recorded_at",
        )
        read_only_fields = fields


class ReferralFilter(RecordFilter):
    date_field = "received_on"

    class Meta:
        model = Referral
        fields: list[str] = []


@documented(ReferralSerializer, "referrals")
class ReferralViewSet(RecordViewSet):
    """Referrals, read only: by patient and by the day received."""

    queryset = Referral.objects.select_related("referring_provider")
    serializer_class = ReferralSerializer
    filterset_class = ReferralFilter
    required_perms = {"GET": ("screening.view_referral",)}


class DecisionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    signed_by = serializers.CharField(source="signed_by.username", read_only=True)
    current = serializers.SerializerMethodField(help_text="Not yet superseded by a later decision.")

    class Meta:
        model = CandidacyDecision
        fields = (
            "id",
            "patient",
            "consultation",
            "decision",
            "routes",
            "reasons",
            "precautions",
            "plan",
            "snapshot",
            "signed_by",
            "signed_at",
            "signature",
            "supersedes",
            "current",
        )
        read_only_fields = fields

    def get_current(self, obj: CandidacyDecision) -> bool:
        return not getattr(obj, "is_superseded", False)


class DecisionFilter(RecordFilter):
    date_field = "signed_at"

    class Meta:
        model = CandidacyDecision
        fields: list[str] = []


@documented(DecisionSerializer, "candidacy decisions")
class DecisionViewSet(RecordViewSet):
    """Signed candidacy decisions, read only (a decision is never changed: a later one supersedes
    it, and `current` says which stands)."""

    serializer_class = DecisionSerializer
    filterset_class = DecisionFilter
    required_perms = {"GET": ("screening.view_candidacydecision",)}

    def get_queryset(self) -> Any:
        from django.db.models import Exists, OuterRef

        later = CandidacyDecision.objects.filter(supersedes=OuterRef("pk"))
        return CandidacyDecision.objects.select_related("signed_by").annotate(is_superseded=Exists(later))


class TrialSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    struck_out = serializers.SerializerMethodField(help_text="Entered in error: kept, and not counted.")

    class Meta:
        model = AntidepressantTrial
        fields = (
            "id",
            "patient",
            "drug",
            "daily_dose_mg",
            "started_on",
            "stopped_on",
            "adherence",
            "outcome",
            "current_episode",
            "notes",
            "recorded_at",
            "struck_out",
            "struck_out_at",
            "struck_out_reason",
        )
        read_only_fields = fields

    def get_struck_out(self, obj: AntidepressantTrial) -> bool:
        return obj.struck_out_at is not None


class TrialWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    patient = RecordField(queryset=Patient.objects.all())
    drug = serializers.CharField(
        max_length=40, help_text="A drug in the clinic's list, lower case: sertraline"
    )
    daily_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=3, min_value=0)
    started_on = serializers.DateField()
    stopped_on = serializers.DateField(required=False, allow_null=True, default=None)
    outcome = serializers.ChoiceField(choices=AntidepressantTrial.Outcome.choices)
    adherence = serializers.ChoiceField(choices=AntidepressantTrial.Adherence.choices, default="unknown")
    current_episode = serializers.BooleanField(default=True)
    notes = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class TrialFilter(RecordFilter):
    date_field = "started_on"

    class Meta:
        model = AntidepressantTrial
        fields: list[str] = []


TRIAL_EXAMPLE = {
    "patient": 1,
    "drug": "sertraline",
    "daily_dose_mg": "150",
    "started_on": "2026-01-05",
    "stopped_on": "2026-03-10",
    "outcome": "no_response",
    "adherence": "good",
}


@documented(TrialSerializer, "antidepressant trials")
class TrialViewSet(RecordViewSet):
    """Antidepressant and augmenting-agent trials: read, record one, strike one out (entered in
    error; it stays on record and stops counting toward treatment resistance)."""

    queryset = AntidepressantTrial.objects.all()
    serializer_class = TrialSerializer
    filterset_class = TrialFilter
    required_perms = {
        "GET": ("screening.view_antidepressanttrial",),
        "create": ("screening.add_antidepressanttrial",),
        "strike_out": ("screening.change_antidepressanttrial",),
    }

    @extend_schema(
        request=TrialWriteSerializer,
        responses={201: TrialSerializer, 400: REFUSED},
        examples=[OpenApiExample("A failed trial", value=TRIAL_EXAMPLE, request_only=True)],
    )
    def create(self, request: Request) -> Response:
        payload = TrialWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        trial = services.trial_record(actor=Actor.from_request(request), **payload.validated_data)
        return Response(TrialSerializer(trial).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[RECORD_ID],
        request=ReasonSerializer,
        responses={200: TrialSerializer, 400: REFUSED, 404: REFUSED},
    )
    @action(detail=True, methods=["post"], url_path="strike-out")
    def strike_out(self, request: Request, pk: str) -> Response:
        trial = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        trial = services.trial_strike_out(
            actor=Actor.from_request(request), trial=trial, reason=payload.validated_data["reason"]
        )
        return Response(TrialSerializer(trial).data)
