"""Password rules beyond Django's (length, common passwords, likeness to the user's details)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

# NIST SP 800-63B, 5.1.1.2: a chosen secret is checked against "repetitive or sequential
# characters (e.g. 'aaaaaa', '1234abcd')".
KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890")


def _steps(password: str) -> int:
    """How many neighbouring pairs follow a sequence: the alphabet or digits up or down, or a
    keyboard row ("1234", "dcba", "qwer")."""
    text = password.lower()
    count = 0
    for a, b in zip(text, text[1:], strict=False):
        if abs(ord(a) - ord(b)) == 1 or any(a + b in row or b + a in row for row in KEYBOARD_ROWS):
            count += 1
    return count


def _repeated_unit(password: str) -> bool:
    """The whole password is one short piece said again and again ("abcabcabc", "aaaaaaaa")."""
    n = len(password)
    return any(n % size == 0 and password == password[:size] * (n // size) for size in range(1, n // 2 + 1))


class RepetitiveOrSequentialValidator:
    """Refuses a password made of one character or one piece repeated, or mostly a run along the
    alphabet, the digits or a keyboard row."""

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) < 2:
            return
        if _repeated_unit(password) or len(set(password.lower())) <= 3:
            raise ValidationError(
                "This password repeats the same characters: choose one that does not.",
                code="password_repetitive",
            )
        if _steps(password) >= (len(password) - 1) * 2 / 3:
            raise ValidationError(
                "This password runs along the keyboard, the alphabet or the digits: choose another.",
                code="password_sequential",
            )

    def get_help_text(self) -> str:
        return "Your password cannot be one character or piece repeated, or a run such as 1234 or qwerty."
