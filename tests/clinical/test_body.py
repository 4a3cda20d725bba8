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


def test_bmi_takes_weight_and_height_by_position_or_by_name():
    assert body.bmi(Decimal("86.7"), Decimal("170")) == Decimal("30.0")
    assert body.bmi(weight_kg=Decimal("86.7"), height_cm=Decimal("170")) == Decimal("30.0")


@pytest.mark.parametrize(
    ("new_kg", "needs"),
    [("88", False), ("88.1", True), ("72", False), ("71.9", True), ("80", False)],
)
def test_a_weight_more_than_10_percent_from_the_last_needs_confirmation(new_kg, needs):
    # Last recorded 80 kg: exactly 10% (8 kg) either way is accepted without confirmation.
    assert body.weight_change_needs_confirmation(Decimal(new_kg), Decimal(80)) is needs


def test_a_pound_value_typed_as_kg_is_caught_and_shown_in_lb():
    # 80 kg = 176.4 lb: the nurse types the pound figure into the kg box.
    assert body.kg_to_lb(Decimal(80)) == Decimal("176.4")
    assert body.weight_change_needs_confirmation(Decimal("176.4"), Decimal(80)) is True


def test_no_recent_weight_needs_no_confirmation():
    # The caller passes last_kg only when it was recorded within 180 days.
    assert body.WEIGHT_CONFIRM_WITHIN_DAYS == 180
    assert body.WEIGHT_CONFIRM_CHANGE_FRACTION == Decimal("0.10")
    assert body.weight_change_needs_confirmation(Decimal(176), None) is False


@pytest.mark.parametrize(("new_kg", "last_kg"), [("0", "80"), ("80", "0"), ("-1", None)])
def test_weight_change_refuses_non_positive_weights(new_kg, last_kg):
    with pytest.raises(ValueError, match="positive"):
        body.weight_change_needs_confirmation(Decimal(new_kg), None if last_kg is None else Decimal(last_kg))


@pytest.mark.parametrize(
    ("kg", "lb"), [("1", "2.2"), ("45.5", "100.3"), ("0.45359237", "1.0"), ("100", "220.5")]
)
def test_kg_to_lb_to_a_tenth_of_a_pound(kg, lb):
    assert body.kg_to_lb(Decimal(kg)) == Decimal(lb)


@given(
    st.decimals(min_value=body.WEIGHT_KG_MIN, max_value=body.WEIGHT_KG_MAX, places=1),
    st.decimals(min_value=body.WEIGHT_KG_MIN, max_value=body.WEIGHT_KG_MAX, places=1),
)
def test_confirmation_is_needed_exactly_when_the_change_is_over_a_tenth(new_kg, last_kg):
    change = abs(new_kg - last_kg) / last_kg
    assert body.weight_change_needs_confirmation(new_kg, last_kg) is (change > Decimal("0.1"))
