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
