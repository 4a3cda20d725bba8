"""FHIR R4 endpoints (interop/fhir.py builds the resources)."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many
from ketacare.interop import fhir

FHIR_JSON = "application/fhir+json"


def _fhir(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type=FHIR_JSON)


def _not_found(what: str) -> HttpResponse:
    return _fhir(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "not-found", "diagnostics": what}],
        },
        status=404,
    )


@require_GET
@requires(
    "patients.view_patient",
    "measures.view_questionnaireresponse",
    "treatment_sessions.view_treatmentsession",
)
def patient_everything(request: HttpRequest, patient_id: int) -> HttpResponse:
    """`GET /fhir/Patient/{id}/$everything`: the patient's whole record as a FHIR searchset
    Bundle. Audited as a view of the patient, naming the export."""
    bundle = fhir.everything(patient_id, fhir_base(request))
    if bundle is None:
        return _not_found(f"Patient/{patient_id} is not on record")
    audit_record_many(
        actor=Actor.from_request(request),
        specs=[
            EventSpec(
                Action.VIEW,
                "patients.patient",
                str(patient_id),
                patient_id,
                {
                    "disclosure": "The whole record as FHIR (Patient/$everything)",
                    "fhir": "Patient/$everything",
                    "resources": bundle["total"],
                    "to": "downloaded by the user signed in",
                },
            )
        ],
    )
    return _fhir(bundle)


def fhir_base(request: HttpRequest) -> str:
    """The FHIR endpoint's absolute address, ending in a slash (as resources' fullUrl start)."""
    metadata = request.build_absolute_uri(reverse("interop:metadata"))
    return metadata.removesuffix("metadata")


@require_GET
def metadata(request: HttpRequest) -> HttpResponse:
    """`GET /fhir/metadata`: what this FHIR endpoint offers (a CapabilityStatement)."""
    return _fhir(fhir.capability_statement(fhir_base(request)))
