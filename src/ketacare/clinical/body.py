"""Body measurements: body-mass index and the plausible ranges accepted at data entry."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

# BMI = weight (kg) / height (m) squared: WHO, "Obesity: preventing and managing the global
# epidemic", Technical Report Series 894 (2000).
BMI_DECIMALS = Decimal("0.1")

# Data-entry plausibility limits for adults (not clinical cut-offs): values outside these are
# almost always a unit or typing error (lb for kg, inches for cm). Configurable per clinic later.
WEIGHT_KG_MIN = Decimal("25")
WEIGHT_KG_MAX = Decimal("350")
HEIGHT_CM_MIN = Decimal("100")
HEIGHT_CM_MAX = Decimal("250")


def bmi(*, weight_kg: Decimal, height_cm: Decimal) -> Decimal:
    """Body-mass index in kg/m2, rounded half up to one decimal place."""
    if weight_kg <= 0 or height_cm <= 0:
        raise ValueError("weight and height must be positive")
    height_m = height_cm / Decimal(100)
    return (weight_kg / (height_m * height_m)).quantize(BMI_DECIMALS, rounding=ROUND_HALF_UP)


def age_years(*, born: date, on: date) -> int:
    """Completed years of age on a date (a birthday on 29 February counts from 1 March in
    common years)."""
    if on < born:
        raise ValueError("the date is before the birth date")
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
