"""Body measurements: body-mass index, pounds, the plausible ranges accepted at data entry and
the check-in weight that must be confirmed."""

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

# Weight at check-in (clinical reference section 5, "Dose preparation", decision): a weight that
# differs from the last one recorded within 180 days by more than 10% must be confirmed, shown in
# kg and in lb, because a pound value typed as kg is the common error (and it doubles a
# weight-based dose).
WEIGHT_CONFIRM_CHANGE_FRACTION = Decimal("0.10")
WEIGHT_CONFIRM_WITHIN_DAYS = 180

# 1 lb = 0.45359237 kg exactly (International Yard and Pound Agreement, 1959).
KG_PER_LB = Decimal("0.45359237")
LB_DECIMALS = Decimal("0.1")


def weight_change_needs_confirmation(new_kg: Decimal, last_kg: Decimal | None) -> bool:
    """True when `new_kg` differs from `last_kg` by more than 10% of `last_kg`. Pass `last_kg`
    only when it was recorded within WEIGHT_CONFIRM_WITHIN_DAYS days; None (no recent weight)
    needs no confirmation."""
    if new_kg <= 0 or (last_kg is not None and last_kg <= 0):
        raise ValueError("weights must be positive")
    if last_kg is None:
        return False
    return abs(new_kg - last_kg) > last_kg * WEIGHT_CONFIRM_CHANGE_FRACTION


def kg_to_lb(kg: Decimal) -> Decimal:
    """Kilograms in pounds, rounded half up to 0.1 lb."""
    return (kg / KG_PER_LB).quantize(LB_DECIMALS, rounding=ROUND_HALF_UP)


def bmi(weight_kg: Decimal, height_cm: Decimal) -> Decimal:
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
