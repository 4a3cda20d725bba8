"""Screening in the REST API: referrals and signed candidacy decisions (read only), and the
antidepressant trials (read, record, strike out), through the same services as the pages."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Exists, OuterRef
from rest_framework import serializers

from ketacare.audit.api import RecordingViewSet, RecordViewSet, Writer, changing, documented
from ketacare.patients.models import Patient
from ketacare.screening import services
from ketacare.screening.models import AntidepressantTrial, CandidacyDecision, Referral
from ketacare.ui.api import IsSet, ReasonSerializer, RecordField, RecordFilter, RecordSerializer, names


class ReferralSerializer(RecordSerializer):
    referring_provider_name = serializers.CharField(source="referring_provider.name", default=None)

    class Meta:
        model = Referral
        fields = names(
            "id patient referring_provider referring_provider_name received_on reason "
            "presenting_conditions consent_to_treatment consent_to_share recorded_at"
        )


class ReferralFilter(RecordFilter):
    date_field = "received_on"


@documented(ReferralSerializer, "referrals")
class ReferralViewSet(RecordViewSet):
    """Referrals, read only: by patient and by the day received."""

    queryset = Referral.objects.select_related("referring_provider")
    serializer_class = ReferralSerializer
    filterset_class = ReferralFilter
    required_perms = {"GET": ("screening.view_referral",)}


class DecisionSerializer(RecordSerializer):
    signed_by = serializers.CharField(source="signed_by.username")
    current = serializers.SerializerMethodField(help_text="Not yet superseded by a later decision.")

    class Meta:
        model = CandidacyDecision
        fields = names(
            "id patient consultation decision routes reasons precautions plan snapshot signed_by "
            "signed_at signature supersedes current"
        )

    def get_current(self, obj: CandidacyDecision) -> bool:
        return not getattr(obj, "is_superseded", False)


class DecisionFilter(RecordFilter):
    date_field = "signed_at"


@documented(DecisionSerializer, "candidacy decisions")
class DecisionViewSet(RecordViewSet):
    """Signed candidacy decisions, read only (a decision is never changed: a later one supersedes
    it, and `current` says which stands)."""

    queryset = CandidacyDecision.objects.select_related("signed_by").annotate(
        is_superseded=Exists(CandidacyDecision.objects.filter(supersedes=OuterRef("pk")))
    )
    serializer_class = DecisionSerializer
    filterset_class = DecisionFilter
    required_perms = {"GET": ("screening.view_candidacydecision",)}


class TrialSerializer(RecordSerializer):
    daily_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=3)
    struck_out = IsSet(source="struck_out_at", help_text="Entered in error: kept, and not counted.")

    class Meta:
        model = AntidepressantTrial
        fields = names(
            "id patient drug daily_dose_mg started_on stopped_on adherence outcome current_episode "
            "notes recorded_at struck_out struck_out_at struck_out_reason"
        )


class TrialWriteSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A trial as recorded: the service checks the drug against the clinic's list and the dose
    against its plausible range."""

    patient = RecordField(queryset=Patient.objects.all())
    drug = serializers.CharField(
        max_length=40, help_text="A drug in the clinic's list, lower case: sertraline"
    )
    daily_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=3, min_value=Decimal("0.001"))

    class Meta:
        model = AntidepressantTrial
        fields = names(
            "patient drug daily_dose_mg started_on stopped_on adherence outcome current_episode notes"
        )
        extra_kwargs = {"stopped_on": {"default": None}}


class TrialFilter(RecordFilter):
    date_field = "started_on"


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
class TrialViewSet(RecordingViewSet):
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
    recorder = Writer(TrialWriteSerializer, services.trial_record, TRIAL_EXAMPLE)
    strike_out = changing(
        "strike_out", ReasonSerializer, services.trial_strike_out, "trial", url_path="strike-out"
    )
