"""Contraindication rules per route (clinical/contraindications.py) and the candidacy rules
(clinical/candidacy.py)."""

import pytest

from ketacare.clinical import contraindications as ci
from ketacare.clinical.candidacy import Decision, baseline_scales, decision_problems
from ketacare.clinical.contraindications import Kind, Route, RouteStatus

A, R, IV, ES = Kind.ABSOLUTE, Kind.RELATIVE, Route.IV_KETAMINE, Route.ESKETAMINE_NASAL

# Every rule with its expected class per route: the table a clinical reviewer signs off.
EXPECTED = {
    "aneurysmal_vascular_disease": (A, A),
    "arteriovenous_malformation": (A, A),
    "intracerebral_haemorrhage": (A, A),
    "hypersensitivity": (A, A),
    "uncontrolled_hypertension": (A, R),
    "cardiovascular_disease": (R, R),
    "raised_intracranial_pressure": (A, R),
    "raised_intraocular_pressure": (A, R),
    "recent_seizures": (A, R),
    "active_psychosis": (A, A),
    "active_mania": (A, A),
    "mania_without_mood_stabiliser": (A, R),
    "pregnancy": (A, R),
    "breastfeeding": (A, R),
    "substance_use_disorder": (A, R),
    "prior_ketamine_misuse": (A, R),
    "cannot_abstain_from_alcohol": (A, R),
    "severe_liver_disease": (R, R),
    "high_dose_benzodiazepines": (R, R),
    "maoi": (R, R),
    "psychostimulants": (R, R),
    "suicidal_intent_needing_higher_care": (A, A),
}


def test_the_checklist_is_exactly_the_reviewed_table():
    assert [r.code for r in ci.RULES] == list(EXPECTED)


@pytest.mark.parametrize("code", list(EXPECTED))
def test_each_rule_gives_one_explained_finding_per_route(code):
    findings = ci.screen([code])
    assert {(f.route, f.kind) for f in findings} == {(IV, EXPECTED[code][0]), (ES, EXPECTED[code][1])}
    for f in findings:
        assert f.code == code
        assert f.reason and f.source and f.question
        assert f.as_json()["reason"].startswith(f.question)


def test_the_esketamine_label_contraindications_are_its_only_label_absolutes():
    label = {r.code for r in ci.RULES if r.sources[ES] == ci.SPRAVATO_4}
    assert label == {
        "aneurysmal_vascular_disease",
        "arteriovenous_malformation",
        "intracerebral_haemorrhage",
        "hypersensitivity",
    }
    assert all(r.kinds[ES] == A for r in ci.RULES if r.code in label)


def test_nothing_present_gives_no_findings_and_clear_routes():
    assert ci.screen([]) == []
    assert ci.route_status([], IV) == RouteStatus.CLEAR


def test_absolute_findings_come_first_and_decide_the_route_status():
    findings = ci.screen(["maoi", "uncontrolled_hypertension"])
    assert [(f.code, f.route, f.kind) for f in findings] == [
        ("uncontrolled_hypertension", IV, A),
        ("uncontrolled_hypertension", ES, R),
        ("maoi", IV, R),
        ("maoi", ES, R),
    ]
    assert ci.route_status(findings, IV) == RouteStatus.CONTRAINDICATED
    assert ci.route_status(findings, ES) == RouteStatus.PRECAUTIONS


def test_an_unknown_condition_is_refused():
    with pytest.raises(ci.UnknownCondition, match="'gout' is not a condition"):
        ci.screen(["gout"])


def test_a_clinic_can_reclassify_a_rule_per_route():
    rules = ci.with_overrides(
        {"pregnancy": {"esketamine_nasal": "absolute"}, "maoi": {"iv_ketamine": "none"}}
    )
    findings = ci.screen(["pregnancy", "maoi"], rules=rules)
    assert {(f.code, f.route, f.kind) for f in findings} == {
        ("pregnancy", IV, A),
        ("pregnancy", ES, A),
        ("maoi", ES, R),
    }
    assert next(f for f in findings if f.code == "pregnancy" and f.route == ES).source == "clinic setting"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"gout": {"iv_ketamine": "absolute"}}, "gout: not a condition"),
        ({"maoi": {"oral": "absolute"}}, "maoi: 'oral' is not a route"),
        ({"maoi": {"iv_ketamine": "maybe"}}, "maoi.iv_ketamine: 'maybe' is not absolute"),
        ({"maoi": "absolute"}, "maoi: give an object"),
    ],
)
def test_bad_overrides_are_refused_naming_the_rule(overrides, message):
    with pytest.raises(ValueError, match=message):
        ci.with_overrides(overrides)


class TestBaselineScales:
    def test_phq9_and_gad7_always_and_madrs_optional(self):
        scales = baseline_scales(["depression"])
        assert [(s.code, s.required) for s in scales] == [("phq9", True), ("gad7", True), ("madrs", False)]

    def test_epds_for_postpartum_and_pcl5_for_ptsd(self):
        codes = [s.code for s in baseline_scales(["postpartum_depression", "ptsd"])]
        assert codes == ["phq9", "gad7", "epds", "pcl5", "madrs"]


class TestDecisionRules:
    def test_an_absolute_contraindication_rules_its_route_out(self):
        findings = ci.screen(["uncontrolled_hypertension"])
        problems = decision_problems(
            decision=Decision.ELIGIBLE_WITH_PRECAUTIONS,
            routes=[IV],
            findings=findings,
            precautions="BP checks",
        )
        assert problems == {
            "routes": "An absolute contraindication rules this out. "
            "IV ketamine: severe or uncontrolled hypertension."
        }

    def test_the_other_route_with_precautions_is_allowed(self):
        findings = ci.screen(["uncontrolled_hypertension"])
        assert (
            decision_problems(
                decision=Decision.ELIGIBLE_WITH_PRECAUTIONS,
                routes=[ES],
                findings=findings,
                precautions="BP before dosing",
            )
            == {}
        )

    def test_relative_findings_need_the_precautions_decision_and_text(self):
        findings = ci.screen(["maoi"])
        assert (
            "choose eligible with precautions"
            in decision_problems(decision=Decision.ELIGIBLE, routes=[IV], findings=findings, precautions="")[
                "decision"
            ]
        )
        assert decision_problems(
            decision=Decision.ELIGIBLE_WITH_PRECAUTIONS, routes=[IV], findings=findings, precautions="  "
        ) == {"precautions": "Write the precautions the treating team must take."}

    def test_eligible_needs_a_route_and_not_eligible_has_none(self):
        assert "routes" in decision_problems(
            decision=Decision.ELIGIBLE, routes=[], findings=[], precautions=""
        )
        assert "routes" in decision_problems(
            decision=Decision.NOT_ELIGIBLE, routes=[IV], findings=[], precautions=""
        )
        assert (
            decision_problems(
                decision=Decision.NOT_ELIGIBLE,
                routes=[],
                findings=ci.screen(["active_psychosis"]),
                precautions="",
            )
            == {}
        )
