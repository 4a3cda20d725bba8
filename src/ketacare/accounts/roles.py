"""Roles and what each may do. Access is denied unless a permission here allows it."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    PHYSICIAN = "physician", "Physician"
    NURSE = "nurse", "Nurse"
    FRONT_DESK = "front_desk", "Front desk"
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"


_PATIENT_RECORD = (
    "patients.view_patient",
    "patients.add_patient",
    "patients.change_patient",
    "patients.add_bodymeasurement",
    "patients.add_allergy",
    "patients.view_referringprovider",
    "patients.add_referringprovider",
    # What the patient signed, and when: everyone who opens the chart (the front desk books the
    # course it gates).
    "patients.view_consentsignature",
)
# A paper consent signed in the clinic is recorded by the nurse or physician who witnessed it; a
# withdrawal told to staff is recorded by a nurse or physician.
_CONSENT_CLINICAL = ("patients.add_consentsignature", "patients.change_consentsignature")

# Scores, alerts and self-report links are clinical: physicians and nurses read and act on them.
# The front desk may send a patient a self-report link (a scheduling task) but not read scores.
_MEASURES_CLINICAL = (
    "measures.view_questionnaireresponse",
    "measures.add_questionnaireresponse",
    "measures.view_safetyalert",
    "measures.change_safetyalert",
    "measures.add_selfreportlink",
)

# Referral intake is front-desk work; the consultation (history, checklist, staging) is clinical;
# only a physician signs the candidacy decision.
_REFERRAL = (
    "screening.view_referral",
    "screening.add_referral",
    # Enquiries from the public "talk to a doctor" form: the queue they are called back from.
    "portal.view_enquiry",
    "portal.change_enquiry",
)
_SCREENING_CLINICAL = _REFERRAL + (
    "screening.view_consultation",
    "screening.add_consultation",
    "screening.change_consultation",
    "screening.view_antidepressanttrial",
    "screening.add_antidepressanttrial",
    "screening.change_antidepressanttrial",
    "screening.view_priortreatment",
    "screening.add_priortreatment",
    "screening.view_candidacydecision",
)
_SIGN_DECISION = ("screening.add_candidacydecision",)

# Scheduling is shared with the front desk; starting, changing and stopping a course is a
# physician's order.
_SCHEDULE = (
    "treatment.view_appointment",
    "treatment.add_appointment",
    "treatment.change_appointment",
    "treatment.view_treatmentplan",
    "treatment.view_chair",
    "treatment.view_openinghours",
    # A patient's request from the portal to move an appointment: the same queue's work.
    "portal.view_moverequest",
    "portal.change_moverequest",
)
_PLAN_ORDERS = ("treatment.add_treatmentplan", "treatment.change_treatmentplan")
# The session at the chair: nurses and physicians record it; only a physician orders the dose,
# overrides the blood-pressure gate and signs as the physician. Either may verify a dose that
# someone else ordered.
_SESSIONS_CLINICAL = (
    "treatment_sessions.view_treatmentsession",
    "treatment_sessions.add_treatmentsession",
    "treatment_sessions.change_treatmentsession",
    "treatment_sessions.add_vitalsign",
    "treatment_sessions.add_sedationrating",
    "treatment_sessions.add_adverseevent",
    "treatment_sessions.add_sessionamendment",
    "treatment_sessions.verify_dose",
    "treatment_sessions.view_remsrecord",
    "treatment_sessions.change_remsrecord",
    "treatment_sessions.add_devicedose",
    "treatment_sessions.add_alarmacknowledgement",
    "treatment_sessions.add_remsenrolment",
)
_SESSIONS_PHYSICIAN = (
    "treatment_sessions.add_doseorder",
    "treatment_sessions.override_bp_gate",
    "treatment_sessions.assess_risk",
    "treatment_sessions.override_discharge",
    "treatment_sessions.sign_medical",
)

# The controlled-substance ledger (21 CFR 1304): nurses and physicians record and witness; the
# clinic admin reads it and downloads it for an inspector; physicians and the clinic admin set up
# the registered locations and products and record a theft's DEA notice and Form 106. The front
# desk has no access.
_LEDGER_CLINICAL = ("ledger.view_entry", "ledger.record_entry", "ledger.witness_entry")
_LEDGER_SETUP = ("ledger.add_registration", "ledger.add_product", "ledger.manage_incident")

# The clinic's outcome figures: physicians and clinic admins (admins see MRNs in the lists, not
# names, and cannot open a chart or a report).
_OUTCOMES = ("outcomes.view_outcomes",)

# Letters and reports shared with the patient in the portal: a physician shares (and may stop
# sharing); nurses see what the patient was given.
_SHARED_VIEW = ("portal.view_shareddocument",)
_SHARE = ("portal.share_document", "portal.change_shareddocument")

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.PHYSICIAN: _PATIENT_RECORD
    + _CONSENT_CLINICAL
    + _MEASURES_CLINICAL
    + _SCREENING_CLINICAL
    + _SIGN_DECISION
    + _SCHEDULE
    + _PLAN_ORDERS
    + _SESSIONS_CLINICAL
    + _SESSIONS_PHYSICIAN
    + _LEDGER_CLINICAL
    + _LEDGER_SETUP
    + _OUTCOMES
    + _SHARED_VIEW
    + _SHARE,
    Role.NURSE: _PATIENT_RECORD
    + _CONSENT_CLINICAL
    + _MEASURES_CLINICAL
    + _SCREENING_CLINICAL
    + _SCHEDULE
    + _SESSIONS_CLINICAL
    + ("treatment_sessions.sign_nursing",)
    + _LEDGER_CLINICAL
    + _SHARED_VIEW,
    Role.FRONT_DESK: _PATIENT_RECORD + ("measures.add_selfreportlink",) + _REFERRAL + _SCHEDULE,
    # Clinic admins run the clinic (staff, chairs, audit) but do not read patient charts.
    Role.CLINIC_ADMIN: (
        "audit.view_auditevent",
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        # Other systems' API tokens: made, listed and revoked by the clinic admin.
        "accounts.view_apitoken",
        "accounts.add_apitoken",
        "accounts.change_apitoken",
        # The clinic's public pages: their text and the clinic's details.
        "portal.edit_public_site",
        # The consent documents patients sign: a new version published (never an old one changed).
        "patients.view_consentdocument",
        "patients.add_consentdocument",
        "treatment.view_chair",
        "treatment.add_chair",
        # Opening hours and closures: the clinic's calendar, which booking respects.
        "treatment.view_openinghours",
        "treatment.change_openinghours",
        "treatment.add_closure",
        "treatment.delete_closure",
        "ledger.view_entry",
        "ledger.export_ledger",
    )
    + _LEDGER_SETUP
    + _OUTCOMES,
}
