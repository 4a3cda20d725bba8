"""NEWS2 single-parameter alarms, MOAA/S alarms and discharge from the readings (clinical
reference section 5, "Alarms during the session and discharge"), each at its boundary."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical.monitoring import (
    URGENT_ALARMS,
    Alarm,
    DischargeFacts,
    Vitals,
    alarms,
    discharge_assessment,
    sedation_alarm,
    single_parameter_alarms,
)

T0 = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC)


def at(minutes: float) -> datetime.datetime:
    return T0 + datetime.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("vitals", "expected"),
    [
        (Vitals(spo2=91), [Alarm.SPO2_LOW]),
        (Vitals(spo2=92), []),
        (Vitals(resp_rate=8), [Alarm.RESP_RATE_LOW]),
        (Vitals(resp_rate=9), []),
        (Vitals(resp_rate=25), [Alarm.RESP_RATE_HIGH]),
        (Vitals(resp_rate=24), []),
        (Vitals(systolic=90, diastolic=50), [Alarm.SYSTOLIC_LOW]),
        (Vitals(systolic=91, diastolic=50), []),
        (Vitals(heart_rate=40), [Alarm.PULSE_LOW]),
        (Vitals(heart_rate=41), []),
        (Vitals(heart_rate=131), [Alarm.PULSE_HIGH]),
        (Vitals(heart_rate=130), []),
    ],
)
def test_each_news2_threshold_alarms_at_its_boundary_and_not_one_step_inside(vitals, expected):
    assert single_parameter_alarms(vitals) == expected


def test_a_spo2_of_90_during_the_infusion_raises_an_urgent_alarm_at_that_reading():
    series = [(at(0), Vitals(120, 80, 70, 98, 14)), (at(20), Vitals(118, 76, 68, 90, 10))]
    assert alarms(series) == [(at(20), Alarm.SPO2_LOW)]
    assert Alarm.SPO2_LOW in URGENT_ALARMS


def test_several_parameters_alarm_together():
    found = alarms([(at(0), Vitals(88, 50, 38, 89, 7))])
    assert {a for _, a in found} == {Alarm.SPO2_LOW, Alarm.RESP_RATE_LOW, Alarm.SYSTOLIC_LOW, Alarm.PULSE_LOW}


@pytest.mark.parametrize(
    ("moaas", "alarm"),
    [
        (5, None),
        (4, None),
        (3, Alarm.SEDATION),
        (2, Alarm.SEDATION),
        (1, Alarm.SEDATION_DEEP),
        (0, Alarm.SEDATION_DEEP),
    ],
)
def test_moaas_3_is_an_alarm_and_1_an_urgent_one(moaas, alarm):
    assert sedation_alarm(moaas) == alarm
    if alarm is not None:
        assert (alarm in URGENT_ALARMS) == (moaas <= 1)


def facts(**kw) -> DischargeFacts:
    base = {
        "now": at(100),
        "dose_started_at": at(0),
        "dose_stopped_at": at(40),
        "min_monitoring_min": 40,
        "post_infusion_min": 30,
        "last_rating_min": 90,
        "ratings_pending": [],
        "pre_dose": Vitals(130, 80),
        "after_dose": [(at(95), Vitals(132, 82, 70, 97, 14))],
        "moaas_after_dose": [(at(90), 5)],
    }
    base.update(kw)
    return DischargeFacts(**base)


def unmet(f: DischargeFacts) -> dict[str, str]:
    return {c.code: c.detail for c in discharge_assessment(f) if not c.met}


def test_every_criterion_met_when_the_record_shows_recovery():
    assert unmet(facts()) == {}


def test_iv_discharge_waits_30_minutes_after_the_infusion_ended():
    assert "after_infusion" in unmet(facts(now=at(69), dose_stopped_at=at(40), last_rating_min=60))
    assert "after_infusion" not in unmet(facts(now=at(70), dose_stopped_at=at(40), last_rating_min=60))


def test_an_infusion_stopped_early_times_discharge_from_its_end_not_its_start():
    # stopped at 30 of 40 minutes: 30 minutes after that is 60, not 70
    assert "after_infusion" not in unmet(facts(now=at(60), dose_stopped_at=at(30), last_rating_min=60))
    assert "after_infusion" in unmet(facts(now=at(59), dose_stopped_at=at(30), last_rating_min=60))


def test_iv_discharge_waits_for_the_last_scheduled_rating():
    assert (
        unmet(facts(now=at(85), last_rating_min=90))["ratings_done"]
        == "The last scheduled rating is at 10:30."
    )
    assert (
        unmet(facts(ratings_pending=["CADSS at 90 min"]))["ratings_done"] == "Still to do: CADSS at 90 min."
    )


def test_spo2_must_be_above_92_and_taken_in_the_last_15_minutes():
    assert "spo2_ok" in unmet(facts(after_dose=[(at(95), Vitals(spo2=92))]))
    assert "spo2_ok" not in unmet(facts(after_dose=[(at(95), Vitals(120, 80, spo2=93))]))
    stale = unmet(facts(now=at(111), after_dose=[(at(95), Vitals(120, 80, spo2=98))]))
    assert stale["spo2_ok"] == "No SpO2 in the last 15 minutes: measure it now."
    assert unmet(facts(after_dose=[]))["spo2_ok"] == "No SpO2 recorded after the dose: measure it now."


def test_the_latest_moaas_after_the_dose_must_be_5():
    assert "moaas_alert" in unmet(facts(moaas_after_dose=[(at(80), 5), (at(90), 4)]))
    assert "moaas_alert" not in unmet(facts(moaas_after_dose=[(at(80), 1), (at(90), 5)]))
    assert unmet(facts(moaas_after_dose=[]))["moaas_alert"] == "No MOAA/S rated after the dose: rate it now."


def test_blood_pressure_near_baseline_is_20_10_above_pre_dose_or_under_the_gate():
    # 178/108 can no longer leave: 48/28 above a 130/80 baseline and over 140/90
    assert "vitals_near_baseline" in unmet(facts(after_dose=[(at(95), Vitals(178, 108, 70, 97, 14))]))
    # within 20/10 of a high baseline
    high = facts(pre_dose=Vitals(150, 95), after_dose=[(at(95), Vitals(170, 105, 70, 97, 14))])
    assert "vitals_near_baseline" not in unmet(high)
    assert "vitals_near_baseline" in unmet(
        facts(pre_dose=Vitals(150, 95), after_dose=[(at(95), Vitals(171, 105, 70, 97, 14))])
    )
    # under the gate whatever the baseline
    assert "vitals_near_baseline" not in unmet(
        facts(pre_dose=Vitals(100, 60), after_dose=[(at(95), Vitals(140, 90, 70, 97, 14))])
    )


def test_only_the_reading_criteria_may_be_signed_past_by_a_physician():
    f = facts(now=at(50), after_dose=[], moaas_after_dose=[])
    overridable = {c.code: c.overridable for c in discharge_assessment(f)}
    assert overridable == {
        "dose_ended": False,
        "monitoring_time": False,
        "after_infusion": False,
        "ratings_done": False,
        "spo2_ok": True,
        "moaas_alert": True,
        "vitals_near_baseline": True,
    }


def test_esketamine_monitoring_is_two_hours_from_the_first_device():
    f = facts(post_infusion_min=None, min_monitoring_min=120, now=at(119), dose_stopped_at=at(5))
    assert unmet(f)["monitoring_time"] == "Not before 11:00."
    assert "monitoring_time" not in unmet(facts(post_infusion_min=None, min_monitoring_min=120, now=at(120)))


@given(
    spo2=st.integers(50, 100),
    moaas=st.integers(0, 5),
    systolic=st.integers(80, 220),
)
def test_discharge_is_never_met_with_low_spo2_or_sedation(spo2, moaas, systolic):
    f = facts(
        after_dose=[(at(95), Vitals(systolic, 60, 70, spo2, 14))],
        moaas_after_dose=[(at(95), moaas)],
    )
    met = {c.code for c in discharge_assessment(f) if c.met}
    assert ("spo2_ok" in met) == (spo2 > 92)
    assert ("moaas_alert" in met) == (moaas == 5)
