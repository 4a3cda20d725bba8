"""Contraindication rules per route (clinical/contraindications.py) and the candidacy rules
(clinical/candidacy.py)."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical import contraindications as ci
from ketacare.clinical.candidacy import Decision, baseline_scales, decision_problems
from ketacare.clinical.contraindications import Kind, Route, RouteStatus

A, R, N = Kind.ABSOLUTE, Kind.RELATIVE, Kind.NOTE
IV, ES = Route.IV_KETAMINE, Route.ESKETAMINE_NASAL

# Every rule with its expected class per route: the table a clinical reviewer signs off.
EXPECTED = {
    "aneurysmal_vascular_disease": (A, A),
    "arteriovenous_malformation": (A, A),
    "intracerebral_haemorrhage": (A, A),
    "hypersensitivity": (A, A),
    "uncontrolled_hypertension": (A, R),
    "cardiovascular_disease": (R, R),
    "hypertensive_encephalopathy": (R, R),
    "recent_stroke_or_tia": (R, R),
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
    "ulcerative_or_interstitial_cystitis": (R, R),
    "respiratory_disease_or_sleep_apnoea": (R, R),
    "thyrotoxicosis": (R, R),
    "acute_porphyria": (R, R),
    "high_dose_benzodiazepines": (R, R),
    "maoi": (R, R),
    "psychostimulants": (R, R),
    "opioids_or_cns_depressants": (R, R),
    "any_benzodiazepine": (N, N),
    "lamotrigine": (N, N),
    "naltrexone": (N, N),
    "suicidal_intent_needing_higher_care": (A, A),
    "age_under_18": (A, A),
    "age_65_or_over": (R, R),
}
AGE_RULES = ("age_under_18", "age_65_or_over")
NOTES = ("any_benzodiazepine", "lamotrigine", "naltrexone")

# Where each added rule's class comes from (clinical reference section 5), per route: a phrase
# its source must contain.
EXPECTED_SOURCES = {
    "ulcerative_or_interstitial_cystitis": (
        "Shahani",
        "Spravato (esketamine) prescribing information, section 5",
    ),
    "hypertensive_encephalopathy": ("Ketalar", "hypertensive encephalopathy"),
    "recent_stroke_or_tia": ("Ketalar", "cerebrovascular"),
    "respiratory_disease_or_sleep_apnoea": ("respiratory depression", "respiratory depression"),
    "opioids_or_cns_depressants": ("respiratory depression", "CNS depressants"),
    "thyrotoxicosis": ("BNF", "BNF"),
    "acute_porphyria": ("BNF", "BNF"),
    "age_under_18": ("clinical reference section 5", "pediatric use"),
    "age_65_or_over": ("falls", "28 mg"),
    "any_benzodiazepine": ("Frye", "Andrashko"),
    "lamotrigine": ("Anand", "Anand"),
    "naltrexone": ("Williams", "Yoon"),
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


@pytest.mark.parametrize("code", list(EXPECTED_SOURCES))
def test_each_added_rule_names_its_source_per_route(code):
    rule = ci.RULES_BY_CODE[code]
    iv, es = EXPECTED_SOURCES[code]
    assert iv in rule.sources[IV] and es in rule.sources[ES]


def test_the_naltrexone_note_says_the_finding_is_disputed():
    source = ci.RULES_BY_CODE["naltrexone"].sources[IV]
    assert "Williams" in source and "disputed by Yoon" in source and "Marton" in source


def test_age_is_never_a_checklist_question():
    assert [r.code for r in ci.checklist()] == [c for c in EXPECTED if c not in AGE_RULES]
    assert all(not ci.RULES_BY_CODE[c].asked for c in AGE_RULES)


@pytest.mark.parametrize(
    ("born", "expected"),
    [
        (datetime.date(2007, 6, 16), ["age_under_18"]),  # 17, the day before the 18th birthday
        (datetime.date(2007, 6, 15), []),  # 18 on the day
        (datetime.date(1960, 6, 16), []),  # 64, the day before the 65th birthday
        (datetime.date(1960, 6, 15), ["age_65_or_over"]),  # 65 on the day
        (datetime.date(1930, 1, 1), ["age_65_or_over"]),
        (datetime.date(2025, 7, 1), ["age_under_18"]),  # born after the day: a data error, not an adult
    ],
)
def test_age_rules_come_from_the_date_of_birth_on_the_day(born, expected):
    assert ci.age_conditions(born=born, on=datetime.date(2025, 6, 15)) == expected


def test_a_29_february_birthday_counts_from_1_march_in_common_years():
    born = datetime.date(2008, 2, 29)
    assert ci.age_conditions(born=born, on=datetime.date(2026, 2, 28)) == ["age_under_18"]
    assert ci.age_conditions(born=born, on=datetime.date(2026, 3, 1)) == []


def test_under_18_rules_out_both_routes_and_65_asks_for_precautions():
    young, old = ci.screen(["age_under_18"]), ci.screen(["age_65_or_over"])
    assert [ci.route_status(young, r) for r in Route] == [RouteStatus.CONTRAINDICATED] * 2
    assert [ci.route_status(old, r) for r in Route] == [RouteStatus.PRECAUTIONS] * 2


def test_a_clinic_may_enable_iv_ketamine_under_18_but_not_esketamine_by_default():
    rules = ci.with_overrides({"age_under_18": {"iv_ketamine": "none"}})
    findings = ci.screen(["age_under_18"], rules=rules)
    assert ci.route_status(findings, IV) == RouteStatus.CLEAR
    assert ci.route_status(findings, ES) == RouteStatus.CONTRAINDICATED
    relative = ci.screen(
        ["age_under_18"], rules=ci.with_overrides({"age_under_18": {"iv_ketamine": "relative"}})
    )
    assert ci.route_status(relative, IV) == RouteStatus.PRECAUTIONS


class TestEfficacyNotes:
    def test_notes_alone_leave_both_routes_clear_and_plainly_eligible(self):
        findings = ci.screen(list(NOTES))
        assert {f.kind for f in findings} == {N} and len(findings) == 6
        assert [ci.route_status(findings, r) for r in Route] == [RouteStatus.CLEAR] * 2
        assert (
            decision_problems(decision=Decision.ELIGIBLE, routes=[IV, ES], findings=findings, precautions="")
            == {}
        )

    def test_any_benzodiazepine_is_a_note_beside_the_high_dose_precaution(self):
        findings = ci.screen(["any_benzodiazepine", "high_dose_benzodiazepines"])
        assert [(f.code, f.kind) for f in findings if f.route == IV] == [
            ("high_dose_benzodiazepines", R),
            ("any_benzodiazepine", N),
        ]
        assert ci.route_status(findings, IV) == RouteStatus.PRECAUTIONS

    def test_notes_come_after_absolute_and_relative_findings(self):
        findings = ci.screen(["naltrexone", "maoi", "active_psychosis"])
        assert [f.kind for f in findings if f.route == IV] == [A, R, N]

    def test_a_clinic_cannot_turn_a_contraindication_into_a_note(self):
        with pytest.raises(ValueError, match="maoi.iv_ketamine: 'note' is not absolute, relative or none"):
            ci.with_overrides({"maoi": {"iv_ketamine": "note"}})

    @given(st.sets(st.sampled_from([c for c in EXPECTED if c not in NOTES])), st.sets(st.sampled_from(NOTES)))
    def test_adding_notes_never_changes_a_route_or_a_decision(self, present, notes):
        without, with_notes = ci.screen(sorted(present)), ci.screen(sorted(present | notes))
        for route in Route:
            assert ci.route_status(with_notes, route) == ci.route_status(without, route)
        for decision in Decision:
            routes = [] if decision == Decision.NOT_ELIGIBLE else [IV, ES]
            assert decision_problems(
                decision=decision, routes=routes, findings=with_notes, precautions=""
            ) == decision_problems(decision=decision, routes=routes, findings=without, precautions="")


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
