"""Dose calculation against worked examples from the clinical reference (section 5)."""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical import dosing, protocols
from ketacare.clinical.dosing import DoseError, calculate
from ketacare.clinical.protocols import (
    ESKETAMINE_NASAL,
    IM_KETAMINE,
    IV_KETAMINE_STANDARD,
    ProtocolCode,
    with_overrides,
)

IM_ENABLED = with_overrides({"im_ketamine": {"enabled": True}})[ProtocolCode.IM_KETAMINE]
ESKETAMINE_EU = with_overrides({"esketamine_nasal": {"older_adult_start_mg": 28}})[
    ProtocolCode.ESKETAMINE_NASAL
]


def test_reference_worked_example_80_kg():
    dose = calculate(IV_KETAMINE_STANDARD, weight_kg=D(80), bag_ml=D(100), concentration_mg_per_ml=D(10))
    assert dose.basis_weight_kg == D(80)
    assert dose.dose_mg == D(40)
    assert dose.prepared_dose_mg == D(40)
    assert dose.prepared_mg_per_kg_actual == D("0.5")
    assert dose.draw_volume_ml == D(4)
    assert dose.infused_volume_ml == D(104)
    assert dose.final_concentration_mg_per_ml == D("0.38")  # 40 mg in 104 mL
    assert dose.rate_ml_per_h == D(156)
    assert dose.warnings == ()
    assert dose.notes == ()
    assert dose.needs_verification is False
    assert (dose.injection_sites, dose.volume_per_site_ml, dose.ibw_dose_mg, dose.duration_reason) == (
        None,
        None,
        None,
        "",
    )


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
    assert dose.draw_volume_ml == D("3.75")  # the 0.01 mL graduation holds it exactly
    assert dose.prepared_dose_mg == D("37.5")
    assert dose.prepared_mg_per_kg_actual == D("0.34")  # 37.5 mg / 110 kg
    assert dose.rate_ml_per_h == D(156)  # 103.75 mL over 40 min = 155.6


def test_adjusted_weight_basis_uses_forty_percent_of_the_excess():
    dose = calculate(
        IV_KETAMINE_STANDARD, weight_kg=D(100), height_cm=D(165), sex="female", weight_basis="adjusted"
    )
    assert dose.basis_weight_kg == D("74.1")  # 56.9 + 0.4 x 43.1 = 74.14
    assert dose.dose_mg == D("37.1")  # 37.05 rounds half up
    assert dose.draw_volume_ml == D("3.71")
    assert dose.prepared_dose_mg == D("37.1")


def test_adjusted_weight_is_actual_weight_when_below_ideal():
    assert dosing.adjusted_body_weight_kg(actual_kg=D(50), ideal_kg=D(70)) == D(50)
    dose = calculate(
        IV_KETAMINE_STANDARD, weight_kg=D(50), height_cm=D(180), sex="male", weight_basis="adjusted"
    )
    assert dose.basis_weight_kg == D(50)


def test_ideal_weight_above_actual_doses_on_actual_weight_and_says_so():
    # 185 cm male: IBW 79.5 kg, above the 60 kg he weighs: never more drug than on actual weight.
    dose = calculate(
        IV_KETAMINE_STANDARD, weight_kg=D(60), height_cm=D(185), sex="male", weight_basis="ideal"
    )
    assert (dose.basis_weight_kg, dose.dose_mg, dose.prepared_mg_per_kg_actual) == (D(60), D(30), D("0.5"))
    assert dose.warnings == (
        "Ideal body weight 79.5 kg is above the actual weight 60 kg: dosed on the actual weight "
        "(never more drug than on actual weight).",
    )


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
        ({"weight_kg": D(80), "bag_ml": D(0)}, "bag_ml"),
        ({"weight_kg": D(80), "duration_min": 19, "duration_reason": "asked"}, "duration_min"),
        ({"weight_kg": D(80), "duration_min": 30}, "duration_reason"),
        (
            {"weight_kg": D(25), "dose_mg_per_kg": D("0.1"), "concentration_mg_per_ml": D(100)},
            "concentration_mg_per_ml",
        ),
        ({"weight_kg": D(80), "age_years": -1}, "age_years"),
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
    assert (dose.injection_sites, dose.volume_per_site_ml) == (1, D("0.8"))
    assert (dose.rate_ml_per_h, dose.bag_ml, dose.final_concentration_mg_per_ml) == (None, None, None)
    assert any("not enabled" in w for w in dose.warnings)
    with pytest.raises(DoseError):
        calculate(IM_KETAMINE, weight_kg=D(80), duration_min=40)
    with pytest.raises(DoseError) as excinfo:
        calculate(IM_KETAMINE, weight_kg=D(80), duration_reason="short")
    assert excinfo.value.field == "duration_reason"


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
    # A 250 mL bag keeps every dose up to 1.0 mg/kg x 350 kg under 2 mg/mL.
    dose = calculate(
        IV_KETAMINE_STANDARD,
        weight_kg=weight,
        dose_mg_per_kg=per_kg,
        duration_min=minutes,
        bag_ml=D(250),
        duration_reason="physician's reason",
    )
    assert dose.infused_volume_ml == D(250) + dose.draw_volume_ml
    assert abs(dose.rate_ml_per_h - dose.infused_volume_ml * 60 / minutes) <= D("0.5")
    assert abs(dose.dose_mg - per_kg * weight) <= D("0.05")
    assert abs(dose.draw_volume_ml * 10 - dose.dose_mg) <= D("0.5")
    assert dose.needs_verification == (per_kg > D("0.75"))


@given(
    height=st.decimals(min_value=D("152.4"), max_value=250, places=1),
    weight=st.decimals(min_value=25, max_value=350, places=1),
)
def test_adjusted_weight_lies_between_ideal_and_actual(height, weight):
    ideal = dosing.ideal_body_weight_kg(height_cm=height, sex="female")
    adjusted = dosing.adjusted_body_weight_kg(actual_kg=weight, ideal_kg=ideal)
    if weight <= ideal:
        assert adjusted == weight
    else:
        assert ideal - D("0.05") <= adjusted <= weight


# --- Prepared dose (clinical reference section 5, "Dose preparation") ---------------------------


def iv(weight, per_kg, concentration, **kwargs):
    return calculate(
        IV_KETAMINE_STANDARD,
        weight_kg=D(weight),
        dose_mg_per_kg=D(per_kg),
        concentration_mg_per_ml=D(concentration),
        **kwargs,
    )


def refusal(protocol=IV_KETAMINE_STANDARD, **kwargs):
    with pytest.raises(DoseError) as excinfo:
        calculate(protocol, **kwargs)
    return excinfo.value


def test_70_kg_at_0_75_mg_per_kg_from_50_mg_per_ml_draws_exactly_the_ordered_52_5_mg():
    # Was: 52.5 mg ordered, 1.1 mL drawn (55 mg). The 0.01 mL graduation holds it exactly.
    dose = iv(70, "0.75", 50, bag_ml=D(100))
    assert (dose.dose_mg, dose.draw_volume_ml, dose.prepared_dose_mg) == (D("52.5"), D("1.05"), D("52.5"))
    assert dose.prepared_mg_per_kg_actual == D("0.75")
    assert dose.needs_verification is False


def test_volume_step_is_the_syringe_graduation_of_0_01_ml_for_iv_and_im():
    assert IV_KETAMINE_STANDARD.volume_step_ml == D("0.01")
    assert IM_KETAMINE.volume_step_ml == D("0.01")


def test_rounding_at_10_mg_per_ml_holds_every_tenth_of_a_mg_exactly():
    dose = iv("74.1", "0.5", 10)  # 37.05 -> 37.1 mg -> 3.71 mL
    assert (dose.dose_mg, dose.draw_volume_ml, dose.prepared_dose_mg) == (D("37.1"), D("3.71"), D("37.1"))


def test_rounding_at_50_mg_per_ml_is_half_up_to_the_graduation():
    # 0.5 mg/kg x 104.5 kg = 52.25 -> 52.3 mg; 52.3 / 50 = 1.046 -> 1.05 mL = 52.5 mg (0.4% over).
    dose = iv("104.5", "0.5", 50)
    assert (dose.dose_mg, dose.draw_volume_ml, dose.prepared_dose_mg) == (D("52.3"), D("1.05"), D("52.5"))


def test_rounding_at_100_mg_per_ml_is_half_up_and_the_prepared_dose_is_what_is_checked():
    # 52.5 mg / 100 = 0.525 -> 0.53 mL = 53 mg (0.95% over the order): accepted, but 53 mg is
    # 0.76 mg/kg of 70 kg, above 0.75: a second clinician verifies.
    up = iv(70, "0.75", 100)
    assert (up.draw_volume_ml, up.prepared_dose_mg, up.prepared_mg_per_kg_actual) == (
        D("0.53"),
        D(53),
        D("0.76"),
    )
    assert up.needs_verification is True
    assert (
        "The prepared dose 53 mg is 0.76 mg/kg of the actual weight 70 kg, above 0.75 mg/kg" in up.warnings[0]
    )
    # 52.4 mg / 100 = 0.524 -> 0.52 mL = 52 mg.
    down = iv("104.8", "0.5", 100)
    assert (down.dose_mg, down.draw_volume_ml, down.prepared_dose_mg) == (D("52.4"), D("0.52"), D(52))


def test_prepared_dose_exactly_2_percent_off_is_accepted_and_just_over_is_refused():
    # A clinic stock of 5.1 mg/mL with a 0.1 mL graduation and 0.01 mg dose steps: 2.0 mL holds
    # 10.2 mg, exactly 2% over an order of 10.00 mg, and 2.1% over an order of 9.99 mg.
    odd = dataclasses.replace(
        IV_KETAMINE_STANDARD,
        concentration_mg_per_ml=D("5.1"),
        volume_step_ml=D("0.1"),
        dose_step_mg=D("0.01"),
    )
    exact = calculate(odd, weight_kg=D(25), dose_mg_per_kg=D("0.4"))
    assert (exact.dose_mg, exact.draw_volume_ml, exact.prepared_dose_mg) == (D(10), D(2), D("10.2"))
    error = refusal(odd, weight_kg=D(27), dose_mg_per_kg=D("0.37"))  # 9.99 mg
    assert error.field == "concentration_mg_per_ml"
    assert error.message == (
        "2.0 mL (the syringe's 0.1 mL graduation) of 5.1 mg/mL holds 10.2 mg, 2.11% off the ordered "
        "9.99 mg (at most 2%), and no weaker standard stock (10 mg/mL, 50 mg/mL, 100 mg/mL) gives an "
        "accurate dose: change the order"
    )


def test_just_over_2_percent_names_the_strongest_weaker_stock_that_works():
    # 24.5 mg / 100 = 0.245 -> 0.25 mL = 25 mg, 2.04% over; 50 mg/mL draws 0.49 mL = 24.5 mg.
    error = refusal(weight_kg=D(49), dose_mg_per_kg=D("0.5"), concentration_mg_per_ml=D(100))
    assert error.field == "concentration_mg_per_ml"
    assert error.message == (
        "0.25 mL (the syringe's 0.01 mL graduation) of 100 mg/mL holds 25 mg, 2.05% off the ordered "
        "24.5 mg (at most 2%): use the 50 mg/mL stock"
    )
    assert iv(49, "0.5", 50).prepared_dose_mg == D("24.5")


def test_a_draw_of_0_1_ml_is_accepted_and_0_09_ml_refused_naming_a_weaker_stock():
    assert iv(25, "0.4", 100).draw_volume_ml == D("0.10")  # 10 mg
    error = refusal(weight_kg=D(25), dose_mg_per_kg=D("0.36"), concentration_mg_per_ml=D(100))  # 9 mg
    assert (error.field, error.message) == (
        "concentration_mg_per_ml",
        "9 mg of 100 mg/mL is 0.09 mL, under the 0.1 mL that can be measured: use the 50 mg/mL stock",
    )


def test_25_kg_at_0_1_mg_per_kg_from_100_mg_per_ml_is_refused_never_drawn_as_0_0_ml():
    # Was: 0.0 mL drawn with no warning. 50 mg/mL would be 0.05 mL, still too little: 10 mg/mL.
    error = refusal(weight_kg=D(25), dose_mg_per_kg=D("0.1"), concentration_mg_per_ml=D(100))
    assert error.message == (
        "2.5 mg of 100 mg/mL is 0.03 mL, under the 0.1 mL that can be measured: use the 10 mg/mL stock"
    )
    assert iv(25, "0.1", 10).draw_volume_ml == D("0.25")


def test_a_prepared_dose_above_the_maximum_mg_per_kg_is_refused():
    # 1.0 mg/kg x 70.5 kg = 70.5 mg; at 100 mg/mL 0.71 mL = 71 mg = 1.01 mg/kg, over 1.0.
    error = refusal(weight_kg=D("70.5"), dose_mg_per_kg=D("1.0"), concentration_mg_per_ml=D(100))
    assert (error.field, error.message) == (
        "concentration_mg_per_ml",
        "the prepared dose 71 mg is 1.01 mg/kg of the actual weight 70.5 kg, above the protocol's maximum "
        "1.0 mg/kg: use the 50 mg/mL stock",
    )


# --- IV infusion: bag, concentration, duration ---------------------------------------------------


def test_an_undiluted_iv_push_is_refused():
    # Was: 100 mg/mL, no bag, 5 minutes: only warned.
    error = refusal(weight_kg=D(80), concentration_mg_per_ml=D(100), bag_ml=D(0), duration_min=5)
    assert (error.field, error.message) == (
        "bag_ml",
        "IV ketamine is always diluted: add it to a bag (at most 2 mg/mL; this dose needs at least 20 mL)",
    )


def test_a_final_concentration_of_exactly_2_mg_per_ml_is_accepted_and_over_it_refused():
    # 100 mg = 2.00 mL of 50 mg/mL; in 48 mL: 100 / 50 = 2.00 mg/mL; in 47 mL: 2.04.
    dose = iv(100, "1.0", 50, bag_ml=D(48))
    assert (dose.final_concentration_mg_per_ml, dose.infused_volume_ml) == (D(2), D(50))
    error = refusal(weight_kg=D(100), dose_mg_per_kg=D("1.0"), concentration_mg_per_ml=D(50), bag_ml=D(47))
    assert (error.field, error.message) == (
        "bag_ml",
        "100 mg in 47 mL + 2.00 mL is 2.05 mg/mL, over the 2 mg/mL an infusion may hold: use a bag of "
        "at least 48 mL",
    )


def test_the_smallest_bag_named_is_one_that_works():
    error = refusal(weight_kg=D(120), dose_mg_per_kg=D("1.0"), concentration_mg_per_ml=D(50), bag_ml=D(50))
    assert error.message.endswith("use a bag of at least 58 mL")
    assert iv(120, "1.0", 50, bag_ml=D(58)).final_concentration_mg_per_ml <= D(2)


def test_an_infusion_of_20_minutes_is_allowed_with_a_reason_and_19_is_refused():
    assert iv(80, "0.5", 10, duration_min=20, duration_reason="patient request").duration_min == 20
    error = refusal(weight_kg=D(80), duration_min=19, duration_reason="patient request")
    assert error.field == "duration_min"
    assert error.message.startswith("19 min is under the 20 minutes an infusion must take")


def test_39_minutes_needs_the_physicians_stated_reason_which_is_kept():
    error = refusal(weight_kg=D(80), duration_min=39)
    assert (error.field, error.message) == (
        "duration_reason",
        "39 min is shorter than the protocol's 40 min: state the physician's reason, or give it over 40 min",
    )
    dose = calculate(IV_KETAMINE_STANDARD, weight_kg=D(80), duration_min=39, duration_reason=" chair needed ")
    assert dose.duration_reason == "chair needed"
    assert dose.warnings == ("Duration 39 min is shorter than the protocol's 40 min. Reason: chair needed",)
    assert (
        calculate(IV_KETAMINE_STANDARD, weight_kg=D(80), duration_reason="not needed").duration_reason == ""
    )


def test_a_clinic_minimum_duration_is_enforced():
    strict = with_overrides({"iv_ketamine_standard": {"min_duration_min": 30}})[
        ProtocolCode.IV_KETAMINE_STANDARD
    ]
    assert refusal(strict, weight_kg=D(80), duration_min=29, duration_reason="x").field == "duration_min"
    assert calculate(strict, weight_kg=D(80), duration_min=30, duration_reason="x").duration_min == 30


# --- Weight bases (Devine from 152.4 cm; never more than on actual weight) -----------------------


def test_ideal_basis_under_60_inches_doses_on_actual_weight_and_says_so():
    # Was: 120 kg, 100 cm, female, ideal basis -> a negative dose, exit 0.
    dose = calculate(
        IV_KETAMINE_STANDARD, weight_kg=D(120), height_cm=D(100), sex="female", weight_basis="ideal"
    )
    assert (dose.weight_basis, dose.basis_weight_kg, dose.dose_mg) == ("actual", D(120), D(60))
    assert dose.warnings == (
        "Height 100 cm is under 60 inches (152.4 cm), where the Devine formula does not apply: dosed on "
        "the actual weight 120 kg.",
    )


def test_devine_applies_from_152_4_cm_exactly():
    at = calculate(
        IV_KETAMINE_STANDARD, weight_kg=D(80), height_cm=D("152.4"), sex="female", weight_basis="ideal"
    )
    assert (at.weight_basis, at.basis_weight_kg, at.warnings) == ("ideal", D("45.5"), ())
    below = calculate(
        IV_KETAMINE_STANDARD, weight_kg=D(80), height_cm=D("152.3"), sex="female", weight_basis="adjusted"
    )
    assert (below.weight_basis, below.basis_weight_kg) == ("actual", D(80))
    assert "under 60 inches" in below.warnings[0]


def test_the_devine_formula_refuses_heights_under_60_inches():
    with pytest.raises(DoseError) as excinfo:
        dosing.ideal_body_weight_kg(height_cm=D("152.3"), sex="male")
    assert excinfo.value.field == "height_cm"


def test_the_range_is_checked_on_the_actual_weight_too():
    # 160 cm female: IBW 52.4 kg; 0.1 mg/kg of it is 5.2 mg = 0.03 mg/kg of 150 kg, under 0.1.
    error = refusal(
        weight_kg=D(150), height_cm=D(160), sex="female", weight_basis="ideal", dose_mg_per_kg=D("0.1")
    )
    assert (error.field, error.message) == (
        "dose_mg_per_kg",
        "0.1 mg/kg of the ideal weight 52.4 kg is 0.03 mg/kg of the actual weight 150 kg, under the "
        "protocol's minimum 0.1 mg/kg: order at least 0.29 mg/kg, or dose on actual weight",
    )
    dose = calculate(
        IV_KETAMINE_STANDARD,
        weight_kg=D(150),
        height_cm=D(160),
        sex="female",
        weight_basis="ideal",
        dose_mg_per_kg=D("0.29"),
    )
    assert dose.prepared_mg_per_kg_actual == D("0.10")


def test_bmi_of_exactly_30_shows_the_apa_note_with_the_ibw_dose():
    # 86.7 kg / 1.70 m^2 = 30.0; IBW (male, 170 cm) 65.9 kg -> 0.5 mg/kg = 32.95 -> 33.0 mg.
    dose = calculate(IV_KETAMINE_STANDARD, weight_kg=D("86.7"), height_cm=D(170), sex="male")
    assert dose.dose_mg == D("43.4")  # still on actual weight, the protocol's basis
    assert dose.ibw_dose_mg == D("33.0")
    assert dose.notes == (
        "BMI 30.0 (30 or more): the APA consensus (Sanacora et al., JAMA Psychiatry 2017) suggests "
        "considering ideal body weight for dosing. On ideal body weight 65.9 kg this order would be 33.0 mg.",
    )
    assert dose.warnings == ()
    under = calculate(IV_KETAMINE_STANDARD, weight_kg=D("86.5"), height_cm=D(170), sex="male")  # 29.9
    assert (under.notes, under.ibw_dose_mg) == ((), None)


def test_the_apa_note_without_sex_or_height_has_no_ibw_dose():
    dose = calculate(IV_KETAMINE_STANDARD, weight_kg=D(100), height_cm=D(170))
    assert dose.ibw_dose_mg is None
    assert "Ideal body weight needs sex female or male" in dose.notes[0]
    assert calculate(IV_KETAMINE_STANDARD, weight_kg=D(150)).notes == ()


# --- Intramuscular: sites ------------------------------------------------------------------------


def test_im_of_exactly_5_ml_is_one_site():
    dose = calculate(IM_ENABLED, weight_kg=D(100), concentration_mg_per_ml=D(10))  # 50 mg
    assert (dose.draw_volume_ml, dose.injection_sites, dose.volume_per_site_ml) == (D(5), 1, D(5))
    assert dose.warnings == ()


def test_im_over_5_ml_is_split_across_two_sites_and_says_so():
    dose = calculate(IM_ENABLED, weight_kg=D(80), dose_mg_per_kg=D("0.7"), concentration_mg_per_ml=D(10))
    assert (dose.draw_volume_ml, dose.injection_sites, dose.volume_per_site_ml) == (D("5.6"), 2, D("2.8"))
    assert dose.warnings == (
        "5.60 mL is more than 5 mL for one injection site: split it across 2 sites, at most 2.80 mL each.",
    )


def test_im_needing_three_sites_is_refused_naming_a_stronger_stock():
    error = refusal(IM_ENABLED, weight_kg=D(120), dose_mg_per_kg=D("1.0"), concentration_mg_per_ml=D(10))
    assert (error.field, error.message) == (
        "concentration_mg_per_ml",
        "12.00 mL needs 3 injection sites of at most 5 mL (at most 2 sites): use the 50 mg/mL stock",
    )


def test_im_site_limits_are_clinic_settings():
    clinic = with_overrides({"im_ketamine": {"enabled": True, "im_max_ml_per_site": 2, "im_max_sites": 3}})[
        ProtocolCode.IM_KETAMINE
    ]
    dose = calculate(clinic, weight_kg=D(100), concentration_mg_per_ml=D(10))  # 5 mL
    assert (dose.injection_sites, dose.volume_per_site_ml) == (3, D("1.67"))
    error = refusal(clinic, weight_kg=D(140), concentration_mg_per_ml=D(10))  # 7 mL: 4 sites
    assert error.message.endswith("use the 50 mg/mL stock")


# --- Esketamine ----------------------------------------------------------------------------------


def esketamine(protocol=ESKETAMINE_NASAL, **kwargs):
    return calculate(protocol, weight_kg=None, **kwargs)


def test_esketamine_first_dose_of_84_mg_only_with_acute_suicidal_ideation():
    with pytest.raises(DoseError, match="first dose is 56"):
        esketamine(dose_mg=D(84), first_dose=True)
    dose = esketamine(dose_mg=D(84), first_dose=True, suicidal_ideation=True)
    assert (dose.dose_mg, dose.prepared_dose_mg, dose.devices) == (D(84), D(84), 3)
    assert "84 mg twice weekly for 4 weeks" in dose.notes[0]
    assert esketamine(first_dose=True, suicidal_ideation=True).dose_mg == D(56)


def test_esketamine_is_refused_under_18_and_allowed_at_18():
    error = refusal(ESKETAMINE_NASAL, weight_kg=None, age_years=17)
    assert (error.field, error.message) == (
        "age_years",
        "esketamine is not approved under 18 years (the patient is 17): it cannot be ordered; consider "
        "other treatment",
    )
    assert esketamine(age_years=18).dose_mg == D(56)


def test_esketamine_older_adults_start_at_56_mg_under_the_us_label():
    assert esketamine(age_years=70, first_dose=True).dose_mg == D(56)
    assert refusal(ESKETAMINE_NASAL, weight_kg=None, age_years=70, dose_mg=D(28)).field == "dose_mg"


def test_esketamine_older_adults_start_at_28_mg_where_the_clinic_follows_the_eu_smpc():
    first = esketamine(ESKETAMINE_EU, age_years=65, first_dose=True)
    assert (first.dose_mg, first.devices) == (D(28), 1)
    error = refusal(ESKETAMINE_EU, weight_kg=None, age_years=65, first_dose=True, dose_mg=D(56))
    assert (error.field, error.message) == (
        "dose_mg",
        "the first dose for a patient 65 or older is 28 mg (clinic setting, EU SmPC)",
    )
    # The SmPC gives the 84 mg emergency start for adults under 65 only.
    assert (
        refusal(
            ESKETAMINE_EU,
            weight_kg=None,
            age_years=70,
            first_dose=True,
            suicidal_ideation=True,
            dose_mg=D(84),
        ).field
        == "dose_mg"
    )
    # Later doses: 28, 56 or 84 mg for 65 and older; 28 mg is not a dose for younger patients.
    assert [esketamine(ESKETAMINE_EU, age_years=70, dose_mg=D(d)).devices for d in (28, 56, 84)] == [1, 2, 3]
    assert refusal(ESKETAMINE_EU, weight_kg=None, age_years=64, dose_mg=D(28)).field == "dose_mg"
    assert refusal(ESKETAMINE_EU, weight_kg=None, dose_mg=D(28)).field == "age_years"
    # Under 65 the label start applies.
    assert esketamine(ESKETAMINE_EU, age_years=64, first_dose=True).dose_mg == D(56)
    unknown = esketamine(ESKETAMINE_EU, first_dose=True)
    assert unknown.dose_mg == D(56)
    assert "Age not given" in unknown.warnings[0]


def test_dose_as_json_keeps_the_old_keys_and_adds_the_new():
    out = calculate(IV_KETAMINE_STANDARD, weight_kg=D(80)).as_json()
    old = {
        "protocol", "weight_basis", "basis_weight_kg", "dose_mg_per_kg", "dose_mg", "capped",
        "needs_verification", "concentration_mg_per_ml", "draw_volume_ml", "bag_ml", "infused_volume_ml",
        "duration_min", "rate_ml_per_h", "devices", "warnings",
    }  # fmt: skip
    new = {
        "prepared_dose_mg", "prepared_mg_per_kg_actual", "final_concentration_mg_per_ml", "injection_sites",
        "volume_per_site_ml", "ibw_dose_mg", "notes", "duration_reason",
    }  # fmt: skip
    assert set(out) == old | new
    keys = list(out)
    assert keys.index("prepared_dose_mg") == keys.index("dose_mg") + 1
    assert (out["prepared_dose_mg"], out["final_concentration_mg_per_ml"], out["notes"]) == (40.0, 0.38, [])


# --- Properties: every accepted order ------------------------------------------------------------

STOCKS = st.sampled_from([D(10), D(50), D(100)])
BASES = st.sampled_from(["actual", "ideal", "adjusted"])
WEIGHTS = st.decimals(min_value=25, max_value=350, places=1)
MG_PER_KG = st.decimals(min_value=D("0.1"), max_value=D("1.0"), places=2)


def outcome(protocol, **kwargs):
    """The dose, or the refusal."""
    try:
        return calculate(protocol, **kwargs)
    except DoseError as exc:
        return exc


def assert_safe_preparation(dose, protocol, weight):
    assert dose.draw_volume_ml >= D("0.1")
    assert abs(dose.prepared_dose_mg - dose.dose_mg) <= dose.dose_mg * D("0.02")
    assert dose.prepared_dose_mg == dose.draw_volume_ml * dose.concentration_mg_per_ml
    assert dose.prepared_mg_per_kg_actual <= protocol.max_mg_per_kg
    assert dose.prepared_mg_per_kg_actual == (dose.prepared_dose_mg / weight).quantize(
        D("0.01"), rounding=ROUND_HALF_UP
    )
    assert dose.basis_weight_kg <= weight


@given(
    weight=WEIGHTS,
    height=st.decimals(min_value=100, max_value=250, places=1),
    sex=st.sampled_from(["female", "male"]),
    basis=BASES,
    per_kg=MG_PER_KG,
    concentration=STOCKS,
    bag=st.sampled_from([D(50), D(100), D(250), D(500)]),
)
def test_every_accepted_iv_order_is_prepared_within_2_percent_and_the_protocol_maximum(
    weight, height, sex, basis, per_kg, concentration, bag
):
    dose = outcome(
        IV_KETAMINE_STANDARD,
        weight_kg=weight,
        height_cm=height,
        sex=sex,
        weight_basis=basis,
        dose_mg_per_kg=per_kg,
        concentration_mg_per_ml=concentration,
        bag_ml=bag,
    )
    if isinstance(dose, DoseError):
        assert dose.field in {"concentration_mg_per_ml", "bag_ml", "dose_mg_per_kg"}
        return
    assert_safe_preparation(dose, IV_KETAMINE_STANDARD, weight)
    assert dose.final_concentration_mg_per_ml <= D(2)
    assert dose.prepared_dose_mg / (dose.bag_ml + dose.draw_volume_ml) <= D(2)
    assert dose.prepared_mg_per_kg_actual >= D("0.1")


@given(weight=WEIGHTS, per_kg=MG_PER_KG, concentration=STOCKS)
def test_every_accepted_im_order_is_prepared_within_2_percent_and_fits_two_sites(
    weight, per_kg, concentration
):
    dose = outcome(IM_ENABLED, weight_kg=weight, dose_mg_per_kg=per_kg, concentration_mg_per_ml=concentration)
    if isinstance(dose, DoseError):
        assert dose.field == "concentration_mg_per_ml"
        return
    assert_safe_preparation(dose, IM_ENABLED, weight)
    assert dose.injection_sites <= 2
    assert dose.volume_per_site_ml <= D(5)
    assert dose.volume_per_site_ml * dose.injection_sites >= dose.draw_volume_ml


@given(weight=WEIGHTS, per_kg=MG_PER_KG, concentration=STOCKS)
def test_a_refused_preparation_names_a_weaker_stock_that_works(weight, per_kg, concentration):
    result = outcome(
        IV_KETAMINE_STANDARD,
        weight_kg=weight,
        dose_mg_per_kg=per_kg,
        concentration_mg_per_ml=concentration,
        bag_ml=D(500),
    )
    if isinstance(result, DoseError):
        assert result.field == "concentration_mg_per_ml"
        suggested = D(result.message.rsplit("use the ", 1)[1].removesuffix(" mg/mL stock"))
        assert suggested < concentration
        assert_safe_preparation(iv(weight, per_kg, suggested, bag_ml=D(500)), IV_KETAMINE_STANDARD, weight)
