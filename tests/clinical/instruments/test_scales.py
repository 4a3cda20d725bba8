"""Every scale: band boundaries, reversed items, missing-item rules, safety items, and properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical import instruments
from ketacare.clinical.instruments.base import (
    SAFETY_ITEM_MISSING,
    SEVERE_SYMPTOMS,
    SUICIDAL_IDEATION,
    ScoringError,
)
from ketacare.clinical.instruments.cadss import dissociation_present
from ketacare.clinical.instruments.pcl5 import pcl5_with_cutoff
from ketacare.clinical.instruments.qids_sr16 import total as qids_total

SUMMED = ["phq9", "gad7", "pcl5", "madrs", "cadss"]  # item score == position, total == sum


def answers_for_total(code: str, total: int) -> list[int]:
    """Answers in item order that sum to `total` on a plain summed scale (safety item last)."""
    inst = instruments.get(code)
    items = list(inst.scored_items)
    out = [0] * len(items)
    remaining = total
    for i in range(len(items)):
        take = min(items[i].max_position, remaining)
        out[i] = take
        remaining -= take
    assert remaining == 0
    return out


BOUNDARIES = {
    "phq9": [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
    "gad7": [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
    "pcl5": [(0, "below threshold"), (32, "below threshold"), (33, "probable PTSD"), (80, "probable PTSD")],
    "madrs": [
        (0, "normal"),
        (6, "normal"),
        (7, "mild"),
        (19, "mild"),
        (20, "moderate"),
        (34, "moderate"),
        (35, "severe"),
        (60, "severe"),
    ],
}


@pytest.mark.parametrize(
    ("code", "total", "band"), [(c, t, b) for c, rows in BOUNDARIES.items() for t, b in rows]
)
def test_band_boundaries(code, total, band):
    score = instruments.get(code).score(answers_for_total(code, total))
    assert (score.total, score.band, score.complete) == (total, band, True)


@pytest.mark.parametrize(
    ("code", "severe_total", "below_total"), [("phq9", 20, 19), ("gad7", 15, 14), ("madrs", 35, 34)]
)
def test_severe_band_is_flagged(code, severe_total, below_total):
    assert SEVERE_SYMPTOMS in instruments.get(code).score(answers_for_total(code, severe_total)).flags
    assert SEVERE_SYMPTOMS not in instruments.get(code).score(answers_for_total(code, below_total)).flags


# --- PHQ-9 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_phq9_item9_positive_flags_suicidal_ideation_whatever_the_total(item9):
    score = instruments.get("phq9").score([0] * 8 + [item9])
    assert (score.total, score.band) == (item9, "minimal")
    assert SUICIDAL_IDEATION in score.flags


def test_phq9_item9_zero_raises_no_flag():
    assert instruments.get("phq9").score([3] * 8 + [0]).flags == (SEVERE_SYMPTOMS,)


def test_phq9_one_missing_item_is_prorated_and_marked_incomplete():
    # answered: 1+2+3+1+2+3+1+2 = 15 over 8 items -> 15/8*9 = 16.875 -> 17
    score = instruments.get("phq9").score([1, 2, 3, 1, 2, None, 3, 1, 2])
    assert (score.total, score.band, score.complete, score.prorated) == (17, "moderately severe", False, True)


def test_phq9_proration_rounds_half_up():
    # 4 over 8 answered items x 9 = 4.5 -> 5 (half up); 1 over 8 x 9 = 1.125 -> 1
    assert instruments.get("phq9").score([1, 1, 1, 1, 0, 0, 0, None, 0]).total == 5
    assert instruments.get("phq9").score([1, 0, 0, 0, 0, 0, 0, None, 0]).total == 1


def test_phq9_missing_item9_flags_follow_up_even_when_prorated():
    score = instruments.get("phq9").score([1] * 8 + [None])
    assert score.total == 9
    assert score.flags == (SAFETY_ITEM_MISSING,)


def test_phq9_three_missing_items_are_not_scored_but_safety_still_flagged():
    score = instruments.get("phq9").score([None, None, None, 1, 1, 1, 1, 1, 2])
    assert (score.total, score.band, score.complete) == (None, None, False)
    assert score.note == "3 items missing"
    assert SUICIDAL_IDEATION in score.flags


def test_phq9_difficulty_question_is_recorded_but_not_scored():
    with_q10 = instruments.get("phq9").score([1] * 9 + [3])
    assert with_q10.total == 9
    assert with_q10.item_scores[9] == 3
    assert instruments.get("phq9").score([1] * 9 + [None]).complete is True


# --- GAD-7 --------------------------------------------------------------------------------------


def test_gad7_any_missing_item_is_not_scored():
    score = instruments.get("gad7").score([3, 3, 3, 3, 3, 3, None])
    assert (score.total, score.band, score.complete) == (None, None, False)


# --- EPDS ---------------------------------------------------------------------------------------

EPDS_REVERSED = [3, 5, 6, 7, 8, 9, 10]
EPDS_FORWARD = [1, 2, 4]


@pytest.mark.parametrize("item", EPDS_FORWARD)
def test_epds_forward_items_score_their_position(item):
    epds = instruments.get("epds")
    for position in range(4):
        answers = [0 if i in EPDS_FORWARD else 3 for i in range(1, 11)]  # everything else scores 0
        answers[item - 1] = position
        assert epds.score(answers).total == position


@pytest.mark.parametrize("item", EPDS_REVERSED)
def test_epds_reversed_items_score_three_to_zero(item):
    epds = instruments.get("epds")
    for position, expected in enumerate([3, 2, 1, 0]):
        answers = [0 if i in EPDS_FORWARD else 3 for i in range(1, 11)]
        answers[item - 1] = position
        assert epds.score(answers).total == expected


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "below threshold"),
        (9, "below threshold"),
        (10, "possible depression"),
        (12, "possible depression"),
        (13, "probable depression"),
        (30, "probable depression"),
    ],
)
def test_epds_bands(total, band):
    # forward items take their share first, then reversed items (position = 3 - score)
    scores = []
    remaining = total
    for _ in range(10):
        take = min(3, remaining)
        scores.append(take)
        remaining -= take
    answers = [s if i in EPDS_FORWARD else 3 - s for i, s in enumerate(scores, start=1)]
    assert instruments.get("epds").score(answers).band == band


@pytest.mark.parametrize(("position", "flagged"), [(0, True), (1, True), (2, True), (3, False)])
def test_epds_item10_above_zero_flags_suicidal_ideation(position, flagged):
    answers = [0, 0, 3, 0, 3, 3, 3, 3, 3, position]
    assert (SUICIDAL_IDEATION in instruments.get("epds").score(answers).flags) is flagged


def test_epds_missing_item_is_not_scored_and_missing_item10_is_flagged():
    score = instruments.get("epds").score([0, 0, 3, 0, 3, 3, 3, 3, 3, None])
    assert (score.total, score.complete) == (None, False)
    assert SAFETY_ITEM_MISSING in score.flags


# --- PCL-5 --------------------------------------------------------------------------------------


def test_pcl5_clusters_and_provisional_diagnosis():
    answers = [0] * 20
    answers[0] = 2  # B: 1 endorsed
    answers[5] = 2  # C: 1
    answers[7], answers[8] = 2, 3  # D: 2
    answers[14], answers[15] = 2, 4  # E: 2
    score = instruments.get("pcl5").score(answers)
    assert score.total == 15
    assert score.extras["provisional_dsm5_ptsd"] is True
    assert score.extras["clusters"]["E"] == {"subtotal": 6, "endorsed": 2}
    answers[15] = 1  # E now has one endorsed item
    assert instruments.get("pcl5").score(answers).extras["provisional_dsm5_ptsd"] is False


def test_pcl5_cutoff_is_configurable_between_31_and_33():
    answers = answers_for_total("pcl5", 31)
    assert instruments.get("pcl5").score(answers).band == "below threshold"
    assert pcl5_with_cutoff(31).score(answers).band == "probable PTSD"


# --- QIDS-SR16 ----------------------------------------------------------------------------------


def test_qids_takes_the_highest_item_within_each_group():
    answers = [0] * 16
    answers[0:4] = [1, 3, 2, 0]  # sleep -> 3
    answers[5:9] = [2, 0, 1, 0]  # appetite/weight -> 2
    answers[14:16] = [1, 2]  # psychomotor -> 2
    answers[4] = 1
    assert instruments.get("qids_sr16").score(answers).total == 3 + 1 + 2 + 2


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "none"),
        (5, "none"),
        (6, "mild"),
        (10, "mild"),
        (11, "moderate"),
        (15, "moderate"),
        (16, "severe"),
        (20, "severe"),
        (21, "very severe"),
        (27, "very severe"),
    ],
)
def test_qids_bands(total, band):
    # the nine domains: put the score on one item per domain
    domain_items = [0, 4, 5, 9, 10, 12, 13, 14, 11]  # item 12 (index 11) last: the safety item
    answers = [0] * 16
    remaining = total
    for index in domain_items:
        take = min(3, remaining)
        answers[index] = take
        remaining -= take
    assert instruments.get("qids_sr16").score(answers).band == band


def test_qids_item12_flags_suicidal_ideation():
    answers = [0] * 16
    answers[11] = 1
    assert SUICIDAL_IDEATION in instruments.get("qids_sr16").score(answers).flags


@given(st.lists(st.integers(0, 3), min_size=16, max_size=16))
def test_qids_total_is_the_sum_of_nine_domains(answers):
    total = instruments.get("qids_sr16").score(answers).total
    assert total == qids_total(answers)
    assert 0 <= total <= 27


# --- MADRS and CADSS ----------------------------------------------------------------------------


@pytest.mark.parametrize(("item10", "flagged"), [(0, False), (1, False), (2, True), (6, True)])
def test_madrs_item10_of_two_or_more_flags_suicidal_ideation(item10, flagged):
    answers = [0] * 9 + [item10]
    assert (SUICIDAL_IDEATION in instruments.get("madrs").score(answers).flags) is flagged


def test_cadss_total_and_dissociation_rule():
    score = instruments.get("cadss").score([1] * 5 + [0] * 18)
    assert (score.total, score.band) == (5, None)
    assert dissociation_present(total=5, pre_dose_total=0) is True
    assert dissociation_present(total=4, pre_dose_total=0) is False
    assert dissociation_present(total=8, pre_dose_total=9) is False
    assert dissociation_present(total=5, pre_dose_total=None) is True


# --- C-SSRS screener ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "band", "flags"),
    [
        ([0, 0, None, None, None, 0], "none", ()),
        ([1, 0, None, None, None, 0], "low", ("suicidal_ideation",)),
        ([0, 1, 0, 0, 0, 0], "low", ("suicidal_ideation",)),
        ([0, 1, 1, 0, 0, 0], "moderate", ("suicidal_ideation", "suicide_risk_moderate")),
        ([0, 0, None, None, None, 1, 0], "moderate", ("suicidal_behavior", "suicide_risk_moderate")),
        ([0, 1, 0, 1, 0, 0], "high", ("suicidal_ideation", "suicide_risk_high")),
        ([0, 1, 0, 0, 1, 0], "high", ("suicidal_ideation", "suicide_risk_high")),
        ([0, 0, None, None, None, 1, 1], "high", ("suicidal_behavior", "suicide_risk_high")),
    ],
)
def test_cssrs_risk_levels(answers, band, flags):
    score = instruments.get("cssrs_screen").score(answers)
    assert (score.band, score.flags, score.complete) == (band, flags, True)


def test_cssrs_unanswered_follow_up_questions_leave_the_risk_open():
    score = instruments.get("cssrs_screen").score([0, 1, None, None, None, 0])
    assert (score.band, score.complete) == (None, False)
    assert score.flags == ("suicidal_ideation", SAFETY_ITEM_MISSING)
    high = instruments.get("cssrs_screen").score([0, 1, None, 1, None, 0])
    assert (high.band, high.complete) == ("high", False)


# --- every scale --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", instruments.CODES)
def test_wrong_number_of_answers_is_refused(code):
    inst = instruments.get(code)
    with pytest.raises(ScoringError, match=f"{code} takes"):
        inst.score([0] * (len(inst.items) + 1))
    with pytest.raises(ScoringError, match=f"{code} takes"):
        inst.score([0] * (inst.min_answers - 1))


@pytest.mark.parametrize("code", instruments.CODES)
def test_answer_out_of_range_is_refused_naming_the_item(code):
    inst = instruments.get(code)
    answers = [0] * len(inst.items)
    answers[-1] = inst.items[-1].max_position + 1
    with pytest.raises(ScoringError, match=rf"item {inst.items[-1].number}: answer \d+ is out of range"):
        inst.score(answers)
    answers[-1] = -1
    with pytest.raises(ScoringError, match="out of range"):
        inst.score(answers)


@st.composite
def valid_answers(draw, code):
    inst = instruments.get(code)
    return [draw(st.integers(0, item.max_position)) for item in inst.items]


@pytest.mark.parametrize("code", [c for c in instruments.CODES if c != "cssrs_screen"])
@given(data=st.data())
def test_complete_forms_score_within_range_with_a_band(code, data):
    inst = instruments.get(code)
    score = inst.score(data.draw(valid_answers(code)))
    assert score.complete
    assert 0 <= score.total <= inst.max_total
    assert (score.band is None) == (not inst.bands)


@pytest.mark.parametrize("code", SUMMED)
@given(data=st.data())
def test_summed_scales_total_the_scored_items(code, data):
    answers = data.draw(valid_answers(code))
    inst = instruments.get(code)
    assert inst.score(answers).total == sum(
        a for a, item in zip(answers, inst.items, strict=True) if item.scored
    )


@pytest.mark.parametrize("code", instruments.CODES)
@given(data=st.data())
def test_answers_outside_the_options_are_always_refused(code, data):
    inst = instruments.get(code)
    answers = data.draw(valid_answers(code))
    index = data.draw(st.integers(0, len(answers) - 1))
    answers[index] = data.draw(
        st.one_of(st.integers(max_value=-1), st.integers(min_value=inst.items[index].max_position + 1))
    )
    with pytest.raises(ScoringError):
        inst.score(answers)


@pytest.mark.parametrize("code", ["phq9", "gad7", "pcl5"])
def test_shipped_wording_is_complete_and_loinc_coded(code):
    inst = instruments.get(code)
    assert inst.wording == "shipped"
    assert all(item.text for item in inst.items)
    assert inst.loinc_panel and inst.loinc_total


def test_phq9_and_gad7_items_carry_the_reference_loinc_codes():
    assert [i.loinc for i in instruments.get("phq9").scored_items] == [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    ]
    assert [i.loinc for i in instruments.get("gad7").items] == [
        "69725-0",
        "68509-9",
        "69733-4",
        "69734-2",
        "69735-9",
        "69689-8",
        "69736-7",
    ]


@pytest.mark.parametrize("code", ["epds", "qids_sr16", "madrs", "cadss", "cssrs_screen"])
def test_licensed_scales_ship_short_labels_only(code):
    inst = instruments.get(code)
    assert inst.wording == "short labels"
    assert not any(item.text for item in inst.items)


def test_unknown_scale_names_the_known_ones():
    with pytest.raises(instruments.UnknownInstrument) as excinfo:
        instruments.get("phq8")
    assert "phq9, gad7" in str(excinfo.value)


def test_an_answer_in_other_digits_is_refused_as_not_a_whole_number():
    # "²" is a digit to str.isdigit() but not a number to int(): refused by name, never a crash.
    import pytest

    from ketacare.clinical.instruments.base import ScoringError
    from ketacare.clinical.instruments.parse import parse_answers

    with pytest.raises(ScoringError, match="answer 2"):
        parse_answers("1,²,0")
