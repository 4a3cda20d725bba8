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
