from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)


def validate_date_of_birth(value: datetime.date) -> None:
    if value > timezone.localdate():
        raise ValidationError("Date of birth cannot be in the future.", code="future")
    if value < EARLIEST_BIRTH_DATE:
        raise ValidationError("Date of birth must be after 1 January 1900.", code="too_early")
