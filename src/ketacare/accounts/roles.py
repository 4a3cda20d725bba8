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
)

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.PHYSICIAN: _PATIENT_RECORD,
    Role.NURSE: _PATIENT_RECORD,
    Role.FRONT_DESK: _PATIENT_RECORD,
    # Clinic admins run the clinic (staff, audit) but do not read patient charts.
    Role.CLINIC_ADMIN: ("audit.view_auditevent", "accounts.view_user"),
}
