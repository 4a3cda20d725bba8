from __future__ import annotations

import datetime

from ketacare.clinical.monitoring import (
    Alarm,
    Vitals,
    alarms,
    entry_problems,
    highlights,
    over_bp_gate,
    oversedated,
    vitals_overdue,
)

T0 = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC)


def at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


def test_bp_gate_is_over_140_or_over_90():
    assert not over_bp_gate(Vitals(140, 90))
    assert over_bp_gate(Vitals(141, 80))
    assert over_bp_gate(Vitals(130, 91))
    assert not over_bp_gate(Vitals(150, 95), systolic_max=160, diastolic_max=100)


def test_highlights_follow_news2_normal_ranges():
    assert highlights(Vitals(120, 80, 72, 98, 14)) == []
    assert highlights(Vitals(145, 92, 95, 95, 22)) == [
        "systolic",
        "diastolic",
        "heart_rate",
        "spo2",
        "resp_rate",
    ]
    assert highlights(Vitals(110, 70, 50, 96, 11)) == ["systolic", "heart_rate", "resp_rate"]


def test_sustained_hypertension_needs_two_readings_five_minutes_apart():
    one = [(at(0), Vitals(182, 100))]
    assert alarms(one) == []
    two = one + [(at(5), Vitals(185, 105))]
    assert alarms(two) == [(at(5), Alarm.BP_SUSTAINED)]
    interrupted = [(at(0), Vitals(182, 100)), (at(3), Vitals(150, 90)), (at(6), Vitals(181, 100))]
    assert alarms(interrupted) == []
    too_close = [(at(0), Vitals(182, 100)), (at(4), Vitals(182, 100))]
    assert alarms(too_close) == []


def test_a_single_reading_over_200_120_is_an_alarm():
    assert alarms([(at(0), Vitals(201, 100))]) == [(at(0), Alarm.BP_CRITICAL)]
    assert alarms([(at(0), Vitals(170, 121))]) == [(at(0), Alarm.BP_CRITICAL)]
    assert alarms([(at(0), Vitals(200, 120))]) == []


def test_tachycardia_over_120_for_five_minutes():
    assert alarms([(at(0), Vitals(heart_rate=125)), (at(5), Vitals(heart_rate=130))]) == [
        (at(5), Alarm.TACHYCARDIA)
    ]
    assert alarms([(at(0), Vitals(heart_rate=125)), (at(5), Vitals(heart_rate=120))]) == []
    # a reading without a heart rate does not break the run
    assert alarms(
        [(at(0), Vitals(heart_rate=125)), (at(2), Vitals(130, 80)), (at(6), Vitals(heart_rate=121))]
    ) == [(at(6), Alarm.TACHYCARDIA)]


def test_entry_problems_name_the_field():
    assert entry_problems(Vitals(120, 80)) == {}
    assert "diastolic" in entry_problems(Vitals(80, 120))
    assert "systolic" in entry_problems(Vitals(systolic=None, diastolic=None))
    assert "spo2" in entry_problems(Vitals(spo2=101))
    assert "diastolic" in entry_problems(Vitals(systolic=120))


def test_moaas_three_or_less_is_oversedation():
    assert oversedated(3) and not oversedated(4)


def test_vitals_are_overdue_only_past_the_margin_after_their_due_time():
    due = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)
    minute = datetime.timedelta(minutes=1)
    assert not vitals_overdue(due, due + 5 * minute, margin_min=5)  # 5 minutes late: still in time
    assert vitals_overdue(due, due + 5 * minute + datetime.timedelta(seconds=1), margin_min=5)
    assert vitals_overdue(due, due + 2 * minute, margin_min=1)  # a stricter clinic
    assert not vitals_overdue(None, due, margin_min=5)  # nothing due (no dose yet, or discharged)


def test_oversedation_is_moaas_three_or_less_and_an_unrated_session_is_not():
    assert [oversedated(m) for m in (5, 4, 3, 0)] == [False, False, True, True]
    assert oversedated(None) is False
