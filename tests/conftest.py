from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings

from ketacare.accounts.models import User
from ketacare.accounts.roles import Role
from ketacare.accounts.services import user_create
from ketacare.audit.context import Actor
from ketacare.patients.models import Patient
from ketacare.patients.services import patient_register

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True, scope="session")
def _audit_rows_go_with_the_flush() -> Any:
    """Between transactional tests Django empties every table; on SQLite that is a DELETE, which
    the audit tables refuse (audit/guard.py) unless allowed: allowed for the flush alone."""
    from django.core.management.commands import flush

    from ketacare.audit.guard import deletions_allowed

    original = flush.Command.handle

    def handle(self: Any, *args: Any, **options: Any) -> Any:
        with deletions_allowed():
            return original(self, *args, **options)

    flush.Command.handle = handle  # type: ignore[method-assign]
    yield
    flush.Command.handle = original  # type: ignore[method-assign]


# Each test starts with an empty in-memory cache (no files shared between tests). Argon2 is
# deliberately slow; tests create and check many passwords. Production keeps Argon2
# (tests/accounts/test_passwords.py checks the settings module itself).
TEST_CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
TEST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _test_cache(settings: Any) -> None:
    from django.core.cache import caches

    settings.CACHES = TEST_CACHES
    caches["default"].clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = TEST_PASSWORD_HASHERS


@contextlib.contextmanager
def kept_for_the_module(django_db_blocker: Any) -> Iterator[None]:
    """For a module-scoped fixture whose data many tests read: made once, inside a transaction the
    module's tests each run a savepoint of (rolled back after each), and rolled back itself at the
    module's end, as Django's TestCase.setUpTestData does. The fixture names `django_db_setup`."""
    with (
        django_db_blocker.unblock(),
        override_settings(CACHES=TEST_CACHES, PASSWORD_HASHERS=TEST_PASSWORD_HASHERS),
        transaction.atomic(),
    ):
        from django.core.cache import caches

        # What the test before left in the in-memory cache (a role's permissions, kept by user
        # id, which SQLite gives out again after a rollback) is not this module's.
        caches["default"].clear()
        yield
        transaction.set_rollback(True)


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


def sign_in(client: Client, user: User) -> Client:
    """Sign `user` in as after a password and a TOTP code (the session django-otp marks verified).
    tests/accounts/test_two_factor.py drives the real two steps."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="Authenticator", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def totp_code(user: User) -> str:
    """The code the user's authenticator shows now (a confirmed device is made if none)."""
    import time

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="Authenticator", confirmed=True
    )
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time()  # as the device reads the clock (a test may move it)
    return f"{generator.token():06d}"


def pass_second_factor(client: Client, user: User) -> Any:
    """After the password on the sign-in page: the authenticator's code on the code page."""
    return client.post("/accounts/two-factor/", {"code": totp_code(user)})


@pytest.fixture
def client_as(client: Client) -> Callable[[User], Client]:
    def login(user: User) -> Client:
        return sign_in(client, user)

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
