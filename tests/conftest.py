from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from ketacare.accounts.models import User
from ketacare.accounts.roles import Role
from ketacare.accounts.services import user_create
from ketacare.audit.context import Actor
from ketacare.patients.models import Patient
from ketacare.patients.services import patient_register

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _test_cache(settings: Any) -> None:
    # Each test starts with an empty in-memory cache (no files shared between tests).
    from django.core.cache import caches

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    caches["default"].clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Argon2 is deliberately slow; tests create and check many passwords. Production keeps Argon2
    # (tests/accounts/test_passwords.py checks the settings module itself).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_files(settings: Any) -> None:
    # The hashed-manifest storage needs collectstatic; tests serve the source files directly.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    taken: set[str] = set()

    def make(role: Role, username: str | None = None) -> User:
        name = username or f"{role.value.replace('_', '')}-user"
        if name in taken or User.objects.filter(username=name).exists():
            name = f"{name}{len(taken) + 1}"
        taken.add(name)
        return user_create(
            username=name, password=PASSWORD, role=role, first_name=role.label, last_name="Tester"
        )

    return make


@pytest.fixture
def physician(make_user: Callable[..., User]) -> User:
    return make_user(Role.PHYSICIAN)


@pytest.fixture
def nurse(make_user: Callable[..., User]) -> User:
    return make_user(Role.NURSE)


@pytest.fixture
def front_desk(make_user: Callable[..., User]) -> User:
    return make_user(Role.FRONT_DESK)


@pytest.fixture
def clinic_admin(make_user: Callable[..., User]) -> User:
    return make_user(Role.CLINIC_ADMIN)


@pytest.fixture
def client_as(client: Client) -> Callable[[User], Client]:
    def login(user: User) -> Client:
        client.force_login(user)
        return client

    return login


@pytest.fixture
def actor(front_desk: User) -> Actor:
    return Actor(user=front_desk, ip="127.0.0.1", user_agent="pytest")


def patient_details(**overrides: Any) -> dict[str, Any]:
    details: dict[str, Any] = {
        "given_name": "Anna",
        "family_name": "Smith",
        "date_of_birth": datetime.date(1980, 4, 23),
        "sex": "female",
        "phone": "(555) 201-3344",
        "email": "anna.smith@example.com",
        "emergency_contact_name": "Tom Smith",
        "emergency_contact_relationship": "Spouse",
        "emergency_contact_phone": "(555) 201-9999",
    }
    details.update(overrides)
    return details


@pytest.fixture
def register(actor: Actor) -> Callable[..., Patient]:
    def make(
        diagnoses: tuple[str, ...] = ("F33.1",),
        weight_kg: str | None = "72.5",
        height_cm: str | None = "168",
        confirm_not_duplicate: bool = True,
        **overrides: Any,
    ) -> Patient:
        # Tests register different people who share the sample phone number and often the sample
        # name: confirmed different, as a user would. tests/patients/test_duplicates.py tests the check.
        return patient_register(
            actor=actor,
            details=patient_details(**overrides),
            diagnoses=diagnoses,
            primary_diagnosis=diagnoses[0] if diagnoses else None,
            weight_kg=Decimal(weight_kg) if weight_kg else None,
            height_cm=Decimal(height_cm) if height_cm else None,
            confirm_not_duplicate=confirm_not_duplicate,
        )

    return make


@pytest.fixture
def doctor(physician: User) -> Actor:
    return Actor(user=physician, ip="127.0.0.1", user_agent="pytest")


@pytest.fixture
def nurse_actor(nurse: User) -> Actor:
    return Actor(user=nurse, ip="127.0.0.1", user_agent="pytest")


@pytest.fixture
def patient(register: Callable[..., Patient]) -> Patient:
    return register()


@pytest.fixture
def eligible(doctor: Actor, patient: Patient) -> Any:
    """A signed "eligible" candidacy decision for both routes."""
    from tests.treatment_helpers import make_eligible

    return make_eligible(doctor, patient)


@pytest.fixture
def chair(db: Any) -> Any:
    from tests.treatment_helpers import make_chair

    return make_chair()
