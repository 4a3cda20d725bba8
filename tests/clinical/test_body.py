from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical import body


def test_bmi_worked_example():
    # 70 kg, 175 cm: 70 / 1.75^2 = 22.857 -> 22.9
    assert body.bmi(weight_kg=Decimal("70"), height_cm=Decimal("175")) == Decimal("22.9")


def test_bmi_rounds_half_up():
    # 72.25 / 1.7^2 = 25.0 exactly; 72.395 / 1.7^2 = 25.05 -> 25.1 (half up)
    assert body.bmi(weight_kg=Decimal("72.25"), height_cm=Decimal("170")) == Decimal("25.0")
    assert body.bmi(weight_kg=Decimal("72.3945"), height_cm=Decimal("170")) == Decimal("25.1")


@pytest.mark.parametrize(("w", "h"), [("0", "170"), ("70", "0"), ("-1", "170")])
def test_bmi_refuses_non_positive_input(w, h):
    with pytest.raises(ValueError, match="positive"):
        body.bmi(weight_kg=Decimal(w), height_cm=Decimal(h))


@given(
    st.decimals(min_value=body.WEIGHT_KG_MIN, max_value=body.WEIGHT_KG_MAX, places=1),
    st.decimals(min_value=body.HEIGHT_CM_MIN, max_value=body.HEIGHT_CM_MAX, places=1),
)
def test_bmi_of_plausible_adults_is_within_physiological_bounds(w, h):
    value = body.bmi(weight_kg=w, height_cm=h)
    assert Decimal("4") <= value <= Decimal("350")
    assert value == value.quantize(Decimal("0.1"))


@pytest.mark.parametrize(
    ("born", "on", "years"),
    [
        (date(1980, 4, 23), date(2026, 4, 22), 45),
        (date(1980, 4, 23), date(2026, 4, 23), 46),
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
        (date(2026, 1, 1), date(2026, 1, 1), 0),
    ],
)
def test_age_in_completed_years(born, on, years):
    assert body.age_years(born=born, on=on) == years


def test_age_before_birth_is_refused():
    with pytest.raises(ValueError, match="before the birth"):
        body.age_years(born=date(2000, 1, 2), on=date(2000, 1, 1))
