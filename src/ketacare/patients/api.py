"""Patient API: the same services and selectors as the web pages."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from ketacare.audit.context import Actor
from ketacare.audit.services import audit_list_view, audit_view
from ketacare.clinical.codes import DIAGNOSES
from ketacare.patients import selectors, services
from ketacare.patients.models import Patient, ReferringProvider, Sex
from ketacare.ui.api import BIGGEST_ID, NO_SUCH_PAGE, REFUSED, Cursor, ErrorSerializer

VIEW, ADD, CHANGE = ("patients.view_patient",), ("patients.add_patient",), ("patients.change_patient",)


class DiagnosisSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    display = serializers.SerializerMethodField()
    is_primary = serializers.BooleanField()

    def get_display(self, obj: Any) -> str:
        return str(obj.get_code_display())


class PatientSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    diagnoses = DiagnosisSerializer(many=True, read_only=True)
    email = serializers.CharField(read_only=True, help_text="An e-mail address, or empty")

    class Meta:
        model = Patient
        fields = ("id", "mrn", *services.PATIENT_FIELDS, "diagnoses", "created_at", "updated_at")
        read_only_fields = fields


class PatientListSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Patient
        fields = ("id", "mrn", "given_name", "family_name", "date_of_birth", "sex")
        read_only_fields = fields


class PatientWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100)
    preferred_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    date_of_birth = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.choices)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    state = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    emergency_contact_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default=""
    )
    emergency_contact_relationship = serializers.CharField(
        max_length=60, required=False, allow_blank=True, default=""
    )
    emergency_contact_phone = serializers.CharField(
        max_length=30, required=False, allow_blank=True, default=""
    )
    referring_provider = serializers.PrimaryKeyRelatedField(
        queryset=ReferringProvider.objects.all(), required=False, allow_null=True, default=None
    )
    no_known_allergies = serializers.BooleanField(required=False, default=False)
    diagnoses = serializers.ListField(
        child=serializers.ChoiceField(choices=[d.code for d in DIAGNOSES]), required=False, default=list
    )
    primary_diagnosis = serializers.ChoiceField(
        choices=[d.code for d in DIAGNOSES], required=False, allow_null=True, default=None
    )
    weight_kg = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, default=None
    )
    height_cm = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, default=None
    )


class PatientCreateSerializer(PatientWriteSerializer):
    confirm_not_duplicate = serializers.BooleanField(
        required=False,
        default=False,
        help_text=(
            "Register even though a patient with the same name and date of birth, or the same "
            "phone number, is already registered: the caller has checked they are different people "
            "(the 409 answer lists them). Their MRNs are recorded in the audit trail."
        ),
    )


class DuplicateCandidateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    mrn = serializers.CharField()
    name = serializers.CharField()
    date_of_birth = serializers.DateField()
    matched_on = serializers.ListField(
        child=serializers.ChoiceField(choices=[services.MATCH_NAME_AND_BIRTH, services.MATCH_PHONE])
    )


class PossibleDuplicateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A registration refused because the person may already be registered: nothing was saved."""

    # The fields are built here, not declared on the class: a class attribute named `errors`
    # would hide Serializer.errors.
    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        return {
            "errors": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                help_text='{"duplicate": [a message naming each candidate]}',
            ),
            "candidates": DuplicateCandidateSerializer(many=True),
            "more_not_listed": serializers.BooleanField(help_text="Others matched beyond those listed."),
        }


def _possible_duplicate_body(exc: services.PossibleDuplicateError) -> dict[str, Any]:
    return {
        "errors": exc.message_dict,
        "candidates": [
            {
                "id": d.patient.pk,
                "mrn": d.patient.mrn,
                "name": d.patient.full_name,
                "date_of_birth": d.patient.date_of_birth.isoformat(),
                "matched_on": list(d.matched_on),
            }
            for d in exc.candidates
        ],
        "more_not_listed": exc.more,
    }


PATIENT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The patient's id")
# One name in the schema for the diagnosis codes (a list's items and the primary diagnosis).
DIAGNOSIS_CODES = [d.code for d in DIAGNOSES]


class NameOrder(Cursor):
    """Patients in name order (the search's), in cursor pages."""

    ordering = ("family_name_key", "given_name_key", "id")


NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No patient with this id")


class PatientViewSet(viewsets.ViewSet):
    """Patients: search, read, register and update."""

    required_perms = {"GET": VIEW, "POST": ADD, "PATCH": CHANGE}
    pagination_class = NameOrder
    parser_classes = [JSONParser]  # JSON bodies only: a form body cannot carry the nulls allowed

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Name, MRN or date of birth")],
        responses={
            200: PatientListSerializer(many=True),
            400: REFUSED,
            404: NO_SUCH_PAGE,
        },
    )
    def list(self, request: Request) -> Response:
        query, qs = selectors.patient_search(text=request.query_params.get("q", ""))
        if query.kind == "invalid":
            return Response({"errors": {"q": [query.problem]}}, status=status.HTTP_400_BAD_REQUEST)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self) or []
        audit_list_view(
            actor=Actor.from_request(request), object_type="patients.patient", ids=[p.pk for p in page]
        )
        response: Response = paginator.get_paginated_response(PatientListSerializer(page, many=True).data)
        return response

    @extend_schema(parameters=[PATIENT_ID], responses={200: PatientSerializer, 404: NOT_FOUND})
    def retrieve(self, request: Request, pk: str) -> Response:
        try:
            if not 1 <= int(pk) <= BIGGEST_ID:
                raise Patient.DoesNotExist
            chart = selectors.patient_chart(patient_id=int(pk))
        except (Patient.DoesNotExist, ValueError):
            return Response(
                {"errors": {"id": [f"no patient with id {pk}"]}}, status=status.HTTP_404_NOT_FOUND
            )
        audit_view(actor=Actor.from_request(request), obj=chart.patient)
        return Response(PatientSerializer(chart.patient).data)

    @extend_schema(
        request=PatientCreateSerializer,
        responses={
            201: PatientSerializer,
            400: REFUSED,
            409: OpenApiResponse(
                PossibleDuplicateSerializer,
                description=(
                    "A patient with the same name and date of birth, or the same phone number, is "
                    'already registered; nothing was saved. Send again with "confirm_not_duplicate": '
                    "true once they are known to be different people."
                ),
            ),
        },
    )
    def create(self, request: Request) -> Response:
        payload = PatientCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        diagnoses, primary = data.pop("diagnoses"), data.pop("primary_diagnosis")
        weight, height = data.pop("weight_kg"), data.pop("height_cm")
        confirm = data.pop("confirm_not_duplicate")
        actor = Actor.from_request(request)
        try:
            patient = services.patient_register(
                actor=actor,
                details=data,
                diagnoses=diagnoses,
                primary_diagnosis=primary,
                weight_kg=weight,
                height_cm=height,
                confirm_not_duplicate=confirm,
            )
        except services.PossibleDuplicateError as exc:
            # The answer names these patients: recorded like a search result.
            audit_list_view(
                actor=actor, object_type="patients.patient", ids=[d.patient.pk for d in exc.candidates]
            )
            return Response(_possible_duplicate_body(exc), status=status.HTTP_409_CONFLICT)
        audit_view(actor=actor, obj=patient)  # what the answer shows (to a system, disclosed)
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[PATIENT_ID],
        request=PatientWriteSerializer(partial=True),
        responses={200: PatientSerializer, 400: REFUSED, 404: NOT_FOUND},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        try:
            if not 1 <= int(pk) <= BIGGEST_ID:
                raise Patient.DoesNotExist
            patient = Patient.objects.get(pk=int(pk))
        except (Patient.DoesNotExist, ValueError):
            return Response(
                {"errors": {"id": [f"no patient with id {pk}"]}}, status=status.HTTP_404_NOT_FOUND
            )
        if not request.data:
            return Response(
                {"errors": {"non_field_errors": ["Send at least one field to change."]}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        payload = PatientWriteSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = {k: v for k, v in payload.validated_data.items() if k in request.data}
        data.pop("weight_kg", None), data.pop("height_cm", None)
        diagnoses = data.pop("diagnoses", None)
        current = list(patient.diagnoses.all())
        if "primary_diagnosis" in data:
            primary = data.pop("primary_diagnosis")
        else:
            primary = next((d.code for d in current if d.is_primary), None)
        if diagnoses is None and "primary_diagnosis" in request.data:
            diagnoses = [d.code for d in current]
        if diagnoses is not None and primary not in diagnoses:
            primary = None if "primary_diagnosis" not in request.data else primary
        actor = Actor.from_request(request)
        patient = services.patient_update(
            actor=actor,
            patient=patient,
            details=data,
            diagnoses=diagnoses,
            primary_diagnosis=primary,
        )
        patient = selectors.patient_chart(patient_id=patient.pk).patient
        audit_view(actor=actor, obj=patient)  # what the answer shows (to a system, disclosed)
        return Response(PatientSerializer(patient).data)
