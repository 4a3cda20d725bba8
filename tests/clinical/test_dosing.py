"""Dose calculation against worked examples from the clinical reference (section 5)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical import dosing, protocols
from ketacare.clinical.dosing import DoseError, calculate
from ketacare.clinical.protocols import ESKETAMINE_NASAL, IM_KETAMINE, IV_KETAMINE_STANDARD, with_overrides


def test_reference_worked_example_80_kg():
    dose = calculate(IV_KETAMINE_STANDARD, weight_kg=D(80), bag_ml=D(100), concentration_mg_per_ml=D(10))
    assert dose.basis_weight_kg == D(80)
    assert dose.dose_mg == D(40)
    assert dose.draw_volume_ml == D(4)
    assert dose.infused_volume_ml == D(104)
    assert dose.rate_ml_per_h == D(156)
    assert dose.warnings == ()
    assert dose.needs_verification is False


def test_devine_ideal_body_weight_for_each_sex():
    # 180 cm = 70.87 in: 50 + 2.3 x 10.87 = 75.0 kg; 165 cm female: 45.5 + 2.3 x 4.96 = 56.9 kg.
    assert dosing.ideal_body_weight_kg(height_cm=D(180), sex="male") == D("75.0")
    assert dosing.ideal_body_weight_kg(height_cm=D(165), sex="female") == D("56.9")
    assert dosing.ideal_body_weight_kg(height_cm=D("152.4"), sex="female") == D("45.5")


def test_ideal_weight_basis_doses_on_ibw():
    dose = calculate(
        IV_KETAMINE_STANDARD, weight_kg=D(110), height_cm=D(180), sex="male", weight_basis="ideal"
    )
    assert dose.basis_weight_kg == D("75.0")
    assert dose.dose_mg == D("37.5")
    assert dose.draw_volume_ml == D("3.8")  # 3.75 rounds half up
    assert dose.rate_ml_per_h == D(156)  # 103.8 mL over 40 min = 155.7


def test_adjusted_weight_basis_uses_forty_percent_of_the_excess():
    dose = calculate(
        IV_KETAMINE_STANDARD, weight_kg=D(100), height_cm=D(165), sex="female", weight_basis="adjusted"
    )
    assert dose.basis_weight_kg == D("74.1")  # 56.9 + 0.4 x 43.1 = 74.14
    assert dose.dose_mg == D("37.1")  # 37.05 rounds half up
    assert dose.draw_volume_ml == D("3.7")


def test_adjusted_weight_is_actual_weight_when_below_ideal():
    assert dosing.adjusted_body_weight_kg(actual_kg=D(50), ideal_kg=D(70)) == D(50)
    dose = calculate(
        IV_KETAMINE_STANDARD, weight_kg=D(50), height_cm=D(180), sex="male", weight_basis="adjusted"
    )
    assert dose.basis_weight_kg == D(50)


def test_ideal_weight_above_actual_is_warned():
    dose = calculate(
        IV_KETAMINE_STANDARD, weight_kg=D(60), height_cm=D(185), sex="male", weight_basis="ideal"
    )
    assert dose.basis_weight_kg > D(60)
    assert any("above the actual weight" in w for w in dose.warnings)


def test_dose_cap_limits_the_dose_and_says_so():
    capped = with_overrides({"iv_ketamine_standard": {"max_dose_mg": 50}})[
        protocols.ProtocolCode.IV_KETAMINE_STANDARD
    ]
    dose = calculate(capped, weight_kg=D(120))
    assert dose.dose_mg == D(50)
    assert dose.capped is True
    assert dose.draw_volume_ml == D(5)
    assert any("Capped" in w for w in dose.warnings)
    under = calculate(capped, weight_kg=D(100))
    assert (under.dose_mg, under.capped) == (D(50), False)


def test_dose_above_verification_threshold_needs_second_clinician():
    assert (
        calculate(IV_KETAMINE_STANDARD, weight_kg=D(70), dose_mg_per_kg=D("0.75")).needs_verification is False
    )
    high = calculate(IV_KETAMINE_STANDARD, weight_kg=D(70), dose_mg_per_kg=D("0.8"))
    assert high.needs_verification is True
    assert high.dose_mg == D(56)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"weight_kg": D(80), "dose_mg_per_kg": D("1.1")}, "dose_mg_per_kg"),
        ({"weight_kg": D(80), "dose_mg_per_kg": D("0.05")}, "dose_mg_per_kg"),
        ({"weight_kg": D(80), "weight_basis": "ideal", "sex": "male"}, "height_cm"),
        ({"weight_kg": D(80), "weight_basis": "ideal", "height_cm": D(170), "sex": "other"}, "sex"),
        ({"weight_kg": D(800)}, "weight_kg"),
        ({"weight_kg": None}, "weight_kg"),
        ({"weight_kg": D(80), "height_cm": D(30)}, "height_cm"),
        ({"weight_kg": D(80), "duration_min": 1}, "duration_min"),
        ({"weight_kg": D(80), "concentration_mg_per_ml": D(0)}, "concentration_mg_per_ml"),
        ({"weight_kg": D(80), "bag_ml": D(-1)}, "bag_ml"),
        ({"weight_kg": D(80), "weight_basis": "lean"}, "weight_basis"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(DoseError) as excinfo:
        calculate(IV_KETAMINE_STANDARD, **kwargs)
    assert excinfo.value.field == field


def test_other_duration_changes_the_rate_and_warns():
    dose = calculate(IV_KETAMINE_STANDARD, weight_kg=D(80), duration_min=60)
    assert dose.rate_ml_per_h == D(104)
    assert any("differs" in w for w in dose.warnings)


def test_intramuscular_has_a_drawn_volume_but_no_rate():
    dose = calculate(IM_KETAMINE, weight_kg=D(80))
    assert dose.dose_mg == D(40)
    assert dose.draw_volume_ml == D("0.8")  # 50 mg/mL stock
    assert dose.rate_ml_per_h is None
    assert any("not enabled" in w for w in dose.warnings)
    with pytest.raises(DoseError):
        calculate(IM_KETAMINE, weight_kg=D(80), duration_min=40)


def test_esketamine_fixed_doses_and_devices():
    dose = calculate(ESKETAMINE_NASAL, weight_kg=D(80))
    assert (dose.dose_mg, dose.devices, dose.basis_weight_kg, dose.rate_ml_per_h) == (D(56), 2, None, None)
    assert calculate(ESKETAMINE_NASAL, weight_kg=None, dose_mg=D(84)).devices == 3
    with pytest.raises(DoseError, match="first dose is 56"):
        calculate(ESKETAMINE_NASAL, weight_kg=None, dose_mg=D(84), first_dose=True)
    with pytest.raises(DoseError) as excinfo:
        calculate(ESKETAMINE_NASAL, weight_kg=None, dose_mg=D(70))
    assert excinfo.value.field == "dose_mg"
    with pytest.raises(DoseError):
        calculate(ESKETAMINE_NASAL, weight_kg=D(80), dose_mg_per_kg=D("0.5"))


@given(
    weight=st.decimals(min_value=25, max_value=350, places=1),
    per_kg=st.decimals(min_value=D("0.1"), max_value=D("1.0"), places=2),
    minutes=st.integers(min_value=20, max_value=120),
)
def test_rate_always_delivers_the_bag_and_draw_in_the_duration(weight, per_kg, minutes):
    dose = calculate(IV_KETAMINE_STANDARD, weight_kg=weight, dose_mg_per_kg=per_kg, duration_min=minutes)
    assert dose.infused_volume_ml == D(100) + dose.draw_volume_ml
    assert abs(dose.rate_ml_per_h - dose.infused_volume_ml * 60 / minutes) <= D("0.5")
    assert abs(dose.dose_mg - per_kg * weight) <= D("0.05")
    assert abs(dose.draw_volume_ml * 10 - dose.dose_mg) <= D("0.5")
    assert dose.needs_verification == (per_kg > D("0.75"))


@given(
    height=st.decimals(min_value=100, max_value=250, places=1),
    weight=st.decimals(min_value=25, max_value=350, places=1),
)
def test_adjusted_weight_lies_between_ideal_and_actual(height, weight):
    ideal = dosing.ideal_body_weight_kg(height_cm=height, sex="female")
    adjusted = dosing.adjusted_body_weight_kg(actual_kg=weight, ideal_kg=ideal)
    if weight <= ideal:
        assert adjusted == weight
    else:
        assert ideal - D("0.05") <= adjusted <= weight
