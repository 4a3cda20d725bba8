from __future__ import annotations

import datetime
from decimal import Decimal as D

import pytest

from ketacare.clinical import protocols
from ketacare.clinical.protocols import DEFAULTS, ProtocolCode, session_dates, with_overrides

MONDAY = datetime.date(2026, 11, 30)


def test_iv_induction_is_six_infusions_three_a_week_over_two_weeks():
    days = session_dates(DEFAULTS[ProtocolCode.IV_KETAMINE_STANDARD].induction, start=MONDAY)
    assert [d.isoformat() for _, d in days] == [
        "2026-11-30",
        "2026-12-02",
        "2026-12-04",
        "2026-12-07",
        "2026-12-09",
        "2026-12-11",
    ]
    assert {phase for phase, _ in days} == {"induction"}


def test_chosen_weekdays_are_kept_from_a_midweek_start():
    wednesday = MONDAY + datetime.timedelta(days=2)
    days = session_dates(
        DEFAULTS[ProtocolCode.IV_KETAMINE_STANDARD].induction, start=wednesday, weekdays=[0, 2, 4]
    )
    assert [d.weekday() for _, d in days] == [2, 4, 0, 2, 4, 0]
    assert days[0][1] == wednesday


def test_esketamine_label_schedule_twice_weekly_then_weekly():
    days = session_dates(DEFAULTS[ProtocolCode.ESKETAMINE_NASAL].induction, start=MONDAY)
    induction = [d for phase, d in days if phase == "induction"]
    weekly = [d for phase, d in days if phase == "maintenance"]
    assert len(induction) == 8 and len(weekly) == 4
    assert induction[-1] < MONDAY + datetime.timedelta(weeks=4)
    assert weekly[0] >= MONDAY + datetime.timedelta(weeks=4)
    assert all((b - a).days == 7 for a, b in zip(weekly, weekly[1:], strict=False))
    assert DEFAULTS[ProtocolCode.ESKETAMINE_NASAL].booster_interval_days == 14


def test_overrides_change_a_setting_and_name_bad_ones():
    changed = with_overrides({"iv_ketamine_standard": {"max_dose_mg": 70, "weight_basis": "ideal"}})
    assert changed[ProtocolCode.IV_KETAMINE_STANDARD].max_dose_mg == D(70)
    assert changed[ProtocolCode.IV_KETAMINE_STANDARD].weight_basis is protocols.WeightBasis.IDEAL
    assert DEFAULTS[ProtocolCode.IV_KETAMINE_STANDARD].max_dose_mg is None
    assert with_overrides({"im_ketamine": {"enabled": True}})[ProtocolCode.IM_KETAMINE].enabled
    for bad, words in [
        ({"iv_ketamine_oral": {}}, "not a protocol"),
        ({"iv_ketamine_standard": {"colour": 1}}, "cannot set colour"),
        ({"iv_ketamine_standard": {"max_dose_mg": -5}}, "positive"),
        ({"iv_ketamine_standard": {"dose_mg_per_kg": 2}}, "within"),
        ({"iv_ketamine_standard": {"vitals_interval_min": 7.5}}, "whole number"),
        ({"im_ketamine": {"enabled": "yes"}}, "true or false"),
    ]:
        with pytest.raises(ValueError, match=words):
            with_overrides(bad)


def test_each_protocol_covers_a_candidacy_route_and_is_consistent():
    for protocol in DEFAULTS.values():
        assert protocols.protocol_problem(protocol) is None
        assert protocol.source
    assert DEFAULTS[ProtocolCode.IM_KETAMINE].enabled is False


def test_the_course_outcomes_are_read_after_is_the_induction_phase_proper():
    from ketacare.clinical.protocols import DEFAULTS, ProtocolCode

    assert DEFAULTS[ProtocolCode.IV_KETAMINE_STANDARD].course_sessions() == 6
    # Esketamine: twice weekly for weeks 1-4 (8 sessions); the weekly weeks 5-8 follow.
    assert DEFAULTS[ProtocolCode.ESKETAMINE_NASAL].course_sessions() == 8
    assert DEFAULTS[ProtocolCode.ESKETAMINE_NASAL].induction_sessions() == 12


def test_preparation_and_interval_settings_default_to_the_reference():
    iv = DEFAULTS[ProtocolCode.IV_KETAMINE_STANDARD]
    im = DEFAULTS[ProtocolCode.IM_KETAMINE]
    esk = DEFAULTS[ProtocolCode.ESKETAMINE_NASAL]
    for p in (iv, im):
        assert (p.volume_step_ml, p.min_duration_min, p.max_bag_mg_per_ml) == (D("0.01"), 20, D(2))
        assert (p.im_max_ml_per_site, p.im_max_sites, p.older_adult_start_mg) == (D(5), 2, None)
        assert (p.post_infusion_min, p.min_dose_interval_hours, p.no_consecutive_days) == (30, 20, False)
    assert (esk.post_infusion_min, esk.min_dose_interval_hours, esk.no_consecutive_days) == (None, None, True)
    assert esk.older_adult_start_mg is None  # US label: 56 mg for everyone
    # Settings the sessions code reads are unchanged.
    assert (iv.min_monitoring_min, iv.bp_gate_systolic, iv.vitals_interval_min, iv.appointment_min) == (
        40,
        140,
        10,
        120,
    )
    assert (esk.min_monitoring_min, esk.cadss_at_min, esk.sedation_at_min) == (120, (40, 90), (15, 40, 60))


def test_clinic_may_tighten_the_new_settings():
    changed = with_overrides(
        {
            "iv_ketamine_standard": {
                "min_duration_min": 30,
                "max_bag_mg_per_ml": 1,
                "post_infusion_min": 45,
                "min_dose_interval_hours": 24,
                "no_consecutive_days": True,
            },
            "im_ketamine": {"im_max_ml_per_site": "2.5", "im_max_sites": 3},
            "esketamine_nasal": {"older_adult_start_mg": 28, "vitals_overdue_after_min": 2},
        }
    )
    assert changed[ProtocolCode.ESKETAMINE_NASAL].vitals_overdue_after_min == 2
    assert DEFAULTS[ProtocolCode.ESKETAMINE_NASAL].vitals_overdue_after_min == 5
    iv = changed[ProtocolCode.IV_KETAMINE_STANDARD]
    assert (iv.min_duration_min, iv.max_bag_mg_per_ml, iv.post_infusion_min) == (30, D(1), 45)
    assert (iv.min_dose_interval_hours, iv.no_consecutive_days) == (24, True)
    im = changed[ProtocolCode.IM_KETAMINE]
    assert (im.im_max_ml_per_site, im.im_max_sites) == (D("2.5"), 3)
    assert changed[ProtocolCode.ESKETAMINE_NASAL].older_adult_start_mg == D(28)
    back = with_overrides({"esketamine_nasal": {"older_adult_start_mg": None}})
    assert back[ProtocolCode.ESKETAMINE_NASAL].older_adult_start_mg is None
    assert {
        "min_duration_min", "max_bag_mg_per_ml", "im_max_ml_per_site", "im_max_sites", "older_adult_start_mg",
        "post_infusion_min", "min_dose_interval_hours", "no_consecutive_days",
    } <= protocols.CONFIGURABLE  # fmt: skip
    assert "max_drawn_difference_fraction" not in protocols.CONFIGURABLE


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"iv_ketamine_standard": {"min_duration_min": 15}}, "min_duration_min may not be under 20 minutes"),
        ({"iv_ketamine_standard": {"min_duration_min": 45}}, r"duration_min \(40\) may not be under"),
        ({"iv_ketamine_standard": {"duration_min": 19}}, r"duration_min \(19\) may not be under"),
        ({"iv_ketamine_standard": {"max_bag_mg_per_ml": 3}}, "may not be over 2 mg/mL"),
        ({"im_ketamine": {"im_max_ml_per_site": 6}}, "may not be over 5 mL"),
        ({"im_ketamine": {"im_max_sites": 0}}, "positive"),
        ({"im_ketamine": {"im_max_sites": 1.5}}, "whole number"),
        ({"iv_ketamine_standard": {"older_adult_start_mg": 28}}, "applies only to esketamine"),
        ({"esketamine_nasal": {"older_adult_start_mg": 42}}, "must be 28 mg or 56 mg"),
        ({"iv_ketamine_standard": {"post_infusion_min": 15}}, "post_infusion_min may not be under 20"),
        ({"esketamine_nasal": {"post_infusion_min": 30}}, "does not apply to esketamine"),
        ({"iv_ketamine_standard": {"min_dose_interval_hours": 12}}, "may not be under 20 hours"),
        ({"im_ketamine": {"min_dose_interval_hours": None}}, "may not be under 20 hours"),
        (
            {"esketamine_nasal": {"no_consecutive_days": False}},
            "needs min_dose_interval_hours or no_consecutive",
        ),
        ({"esketamine_nasal": {"no_consecutive_days": "yes"}}, "true or false"),
        ({"iv_ketamine_standard": {"max_drawn_difference_fraction": 0.05}}, "cannot set"),
    ],
)
def test_settings_that_loosen_a_safety_limit_or_contradict_are_refused(overrides, words):
    with pytest.raises(ValueError, match=words):
        with_overrides(overrides)
