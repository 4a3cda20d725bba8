"""Passwords a guesser tries first are refused (NIST SP 800-63B 5.1.1.2)."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from ketacare.accounts.roles import Role
from ketacare.accounts.services import user_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaaaa",  # one character
        "abcabcabcabc",  # one piece repeated
        "ababababab12",  # three characters
        "123456789012",  # the digits in a row
        "abcdefghijkl",  # the alphabet
        "qwertyuiopas",  # a keyboard row
        "zyxwvutsrqpo",  # the alphabet backwards
        "password1234",  # a common password
    ],
)
def test_a_guessable_password_is_refused_and_no_account_is_made(password):
    with pytest.raises(ValidationError):
        validate_password(password)
    with pytest.raises(ValidationError):
        user_create(username="new.nurse", password=password, role=Role.NURSE)


@pytest.mark.parametrize("password", ["correct horse battery", "Ketamine-Chair-7-Blue", "tulip42river"])
def test_an_ordinary_strong_password_is_accepted(password):
    validate_password(password)
