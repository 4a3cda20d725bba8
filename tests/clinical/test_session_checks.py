"""The pre-dose checklist table and the minimum interval between doses (clinical reference
section 5, "Every session: checks before the dose")."""

from __future__ import annotations

import datetime

import pytest

from ketacare.clinical.session_checks import (
    CHECKLIST,
    Effect,
    evaluate,
    interval_problem,
    items_for,
    with_overrides,
)
from tests.treatment_helpers import ALL_CLEAR as CLEAR


def effects(answers, route="iv_ketamine", table=CHECKLIST):
    missing, findings = evaluate(answers, route, table)
    assert missing == {}
    return {f.code: f.effect for f in findings}


def test_an_all_clear_checklist_has_no_findings_on_either_route():
    assert effects(CLEAR) == {} and effects(CLEAR, "esketamine") == {}


@pytest.mark.parametrize(
    ("code", "answer", "effect"),
    [
        ("identity_confirmed", False, Effect.STOP),
        ("alcohol_24h", True, Effect.STOP),
        ("new_maoi", True, Effect.STOP),
        ("escort", False, Effect.STOP),
        ("new_benzodiazepine", True, Effect.WARN),
        ("new_cns_depressant", True, Effect.WARN),
        ("new_stimulant", True, Effect.WARN),
        ("new_lamotrigine", True, Effect.WARN),
    ],
)
def test_each_answer_that_matters_stops_or_warns_by_default(code, answer, effect):
    assert effects({**CLEAR, code: answer}) == {code: effect}


def test_pregnancy_possible_needs_a_negative_test_today():
    missing, _ = evaluate({**CLEAR, "pregnancy_possible": True}, "iv_ketamine")
    assert missing == {"pregnancy_test_negative": "Answer yes or no."}
    assert effects({**CLEAR, "pregnancy_possible": True, "pregnancy_test_negative": False}) == {
        "pregnancy_test_negative": Effect.STOP
    }
    assert effects({**CLEAR, "pregnancy_possible": True, "pregnancy_test_negative": True}) == {}


def test_fasting_stops_esketamine_and_only_warns_before_an_infusion():
    assert effects({**CLEAR, "fasting": False}, "esketamine") == {"fasting": Effect.STOP}
    assert effects({**CLEAR, "fasting": False}, "iv_ketamine") == {"fasting": Effect.WARN}
    assert len([i for i in items_for("esketamine") if i.code == "fasting"]) == 1


def test_every_item_must_be_answered():
    missing, findings = evaluate({}, "iv_ketamine")
    assert set(missing) == {i.code for i in items_for("iv_ketamine") if i.only_if is None}
    assert findings == []


def test_a_clinic_can_change_what_stops_and_what_warns_but_never_identity():
    table = with_overrides({"alcohol_24h": "warn", "new_benzodiazepine": "stop"})
    assert effects({**CLEAR, "alcohol_24h": True, "new_benzodiazepine": True}, table=table) == {
        "alcohol_24h": Effect.WARN,
        "new_benzodiazepine": Effect.STOP,
    }
    with pytest.raises(ValueError, match="identity_confirmed: identity must always stop"):
        with_overrides({"identity_confirmed": "warn"})
    with pytest.raises(ValueError, match="beer: not a checklist item"):
        with_overrides({"beer": "warn"})
    with pytest.raises(ValueError, match="alcohol_24h: 'maybe' is not one of"):
        with_overrides({"alcohol_24h": "maybe"})


T = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)


def test_two_iv_doses_20_hours_apart_are_allowed_and_19_59_are_not():
    assert (
        interval_problem(
            route="iv_ketamine", at=T, other_doses=[(T - datetime.timedelta(hours=20), "iv_ketamine")]
        )
        is None
    )
    problem = interval_problem(
        route="iv_ketamine", at=T, other_doses=[(T - datetime.timedelta(hours=19, minutes=59), "iv_ketamine")]
    )
    assert problem == "Another dose at 2026-11-30 13:01: ketamine doses must be at least 20 hours apart."


def test_a_booking_before_another_dose_is_also_too_close():
    assert interval_problem(
        route="im_ketamine", at=T, other_doses=[(T + datetime.timedelta(hours=3), "iv_ketamine")]
    )


def test_esketamine_is_not_given_on_consecutive_days_even_34_hours_apart():
    day_before = datetime.datetime(2026, 11, 30, 8, 0, tzinfo=datetime.UTC)
    late = datetime.datetime(2026, 12, 1, 18, 0, tzinfo=datetime.UTC)
    kw = {"route": "esketamine", "other_doses": [(day_before, "esketamine")], "no_consecutive_days": True}
    assert interval_problem(at=late, **kw) == (
        "Another esketamine dose on 2026-11-30: it is not given on the same or consecutive days."
    )
    assert interval_problem(at=datetime.datetime(2026, 12, 2, 8, 0, tzinfo=datetime.UTC), **kw) is None
    # without the calendar rule only the 20 hours count
    assert interval_problem(route="esketamine", at=late, other_doses=[(day_before, "esketamine")]) is None


def test_no_concern_answers_every_first_question_the_safe_way_and_passes_the_checklist():
    from ketacare.clinical.session_checks import CHECKLIST, evaluate, no_concern

    answers = no_concern()
    assert answers == {
        "identity_confirmed": True,
        "pregnancy_possible": False,
        "alcohol_24h": False,
        "new_benzodiazepine": False,
        "new_cns_depressant": False,
        "new_stimulant": False,
        "new_maoi": False,
        "new_lamotrigine": False,
        "fasting": True,
        "escort": True,
    }
    assert "pregnancy_test_negative" not in answers  # asked only when pregnancy is possible
    assert all(item.code in answers for item in CHECKLIST if item.only_if is None)
    for route in ("iv_ketamine", "esketamine"):
        assert evaluate(answers, route) == ({}, [])  # nothing unanswered, nothing found
