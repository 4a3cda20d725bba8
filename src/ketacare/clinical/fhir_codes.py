"""Code systems and codes a FHIR R4 export of a ketamine clinic's records uses.

Sources:
- Code system URIs: FHIR R4 "Using Codes in Resources", terminologies page
  (hl7.org/fhir/R4/terminologies-systems.html): LOINC, SNOMED CT, RxNorm, UCUM, ICD-10-CM.
- Vital signs: clinical reference section 4 (LOINC) and the FHIR R4 vital signs profile
  (hl7.org/fhir/R4/observation-vitalsigns.html): the blood pressure panel 85354-9 with systolic
  8480-6 and diastolic 8462-4 as components, heart rate 8867-4, respiratory rate 9279-1, oxygen
  saturation 2708-6 with 59408-5 (by pulse oximetry); units in UCUM as the profile binds them.
- Route of administration: FHIR R4 SNOMED CT Route Codes value set
  (hl7.org/fhir/R4/valueset-route-codes.html): 47625008 intravenous, 78421000 intramuscular,
  46713006 nasal.
- Observation categories: FHIR R4 observation-category code system (vital-signs, survey).
- Adverse event seriousness and severity: FHIR R4 code systems adverse-event-seriousness
  (serious, non-serious) and adverse-event-severity (mild, moderate, severe).
- Consent: FHIR R4 Consent (hl7.org/fhir/R4/consent.html): scope `treatment` from the
  consentscope code system, category LOINC 59284-0 "Patient Consent" (the consent-category value
  set), status from consent-state-codes (`active`; `inactive` once withdrawn).
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"  # MR: medical record number
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"  # AMB: ambulatory
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"


@dataclass(frozen=True, slots=True)
class Coded:
    code: str
    display: str
    unit: str = ""  # UCUM

    def coding(self, system: str = LOINC) -> dict[str, str]:
        return {"system": system, "code": self.code, "display": self.display}


BP_PANEL = Coded("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = Coded("8480-6", "Systolic blood pressure", "mm[Hg]")
DIASTOLIC = Coded("8462-4", "Diastolic blood pressure", "mm[Hg]")
HEART_RATE = Coded("8867-4", "Heart rate", "/min")
RESP_RATE = Coded("9279-1", "Respiratory rate", "/min")
SPO2 = Coded("2708-6", "Oxygen saturation in Arterial blood", "%")
SPO2_PULSE_OXIMETRY = Coded("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%")

ROUTES = {
    "iv_ketamine": Coded("47625008", "Intravenous route"),
    "im_ketamine": Coded("78421000", "Intramuscular route"),
    "esketamine": Coded("46713006", "Nasal route"),
}

CONSENT_TREATMENT = Coded("treatment", "Treatment")  # in CONSENT_SCOPE
PATIENT_CONSENT = Coded("59284-0", "Patient Consent")  # LOINC
