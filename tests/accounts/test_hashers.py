"""Passwords are stored with Argon2id at OWASP's parameters, and a password stored under Django's
heavier default is re-stored under them at the next sign-in."""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import Argon2PasswordHasher, identify_hasher, make_password

from ketacare.accounts import hashers
from ketacare.accounts.roles import Role

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase"


@pytest.fixture
def real_hashers(settings):
    from ketacare.config import settings as project

    settings.PASSWORD_HASHERS = project.PASSWORD_HASHERS


def test_the_stored_hash_is_argon2id_at_owasps_parameters(real_hashers):
    assert django_settings.PASSWORD_HASHERS[0] == "ketacare.accounts.hashers.Argon2idHasher"
    encoded = make_password(PASSWORD)
    assert encoded.startswith("argon2$argon2id$v=19$m=47104,t=2,p=1$")
    assert (hashers.MEMORY_KIB, hashers.TIME_COST, hashers.PARALLELISM) == (47104, 2, 1)
    assert identify_hasher(encoded).verify(PASSWORD, encoded)


def test_a_password_under_djangos_default_is_restored_at_sign_in(real_hashers, make_user, client):
    user = make_user(Role.NURSE, username="oldhash")
    user.password = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    user.save(update_fields=["password"])
    assert "m=102400,t=2,p=8" in user.password
    response = client.post("/accounts/login/", {"username": "oldhash", "password": PASSWORD})
    assert response.status_code == 302  # on to the second factor
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=47104,t=2,p=1$")
