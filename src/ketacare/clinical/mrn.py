"""Medical record numbers: a clinic prefix, a serial and a Luhn check digit.

The check digit (ISO/IEC 7812-1 Luhn algorithm) catches every single-digit typo and most
transpositions when an MRN is typed in from a paper form or read over the phone.
"""

from __future__ import annotations

import re

PREFIX = "KC"
SERIAL_DIGITS = 7
MRN_PATTERN = re.compile(rf"^{PREFIX}(\d{{{SERIAL_DIGITS}}})(\d)$")


def luhn_check_digit(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def format_mrn(serial: int) -> str:
    if not 0 < serial < 10**SERIAL_DIGITS:
        raise ValueError(f"MRN serial {serial} is outside 1..{10**SERIAL_DIGITS - 1}")
    digits = f"{serial:0{SERIAL_DIGITS}d}"
    return f"{PREFIX}{digits}{luhn_check_digit(digits)}"


def is_valid_mrn(value: str) -> bool:
    match = MRN_PATTERN.match(value.strip().upper())
    return bool(match) and luhn_check_digit(match.group(1)) == int(match.group(2))  # type: ignore[union-attr]


def normalise_mrn(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()
