"""CADSS: short paraphrased labels on the 23 items, codes and scoring as before."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical import instruments
from ketacare.clinical.instruments.cadss import CADSS, DEGREE, dissociation_present

ANSWERS = st.lists(st.integers(min_value=0, max_value=4), min_size=23, max_size=23)


def test_cadss_has_23_items_coded_1_to_23():
    assert len(CADSS.items) == 23
    assert [item.number for item in CADSS.items] == [str(n) for n in range(1, 24)]
    assert instruments.get("cadss") is CADSS


def test_every_item_has_its_own_label_and_none_is_a_numbered_placeholder():
    labels = [item.label for item in CADSS.items]
    assert len({label.casefold() for label in labels}) == 23
    for label in labels:
        assert label.strip() == label and label
        assert "cadss" not in label.casefold() and "item" not in label.casefold()
        assert not re.search(r"\d", label)


def test_labels_are_short_enough_for_one_row_at_the_chair():
    assert max(len(item.label) for item in CADSS.items) <= 45


def test_labels_are_paraphrases_and_the_licensed_wording_is_not_shipped():
    assert CADSS.wording == "short labels"
    assert not any(item.text for item in CADSS.items)
    assert not any(label.endswith("?") for label in (item.label for item in CADSS.items))
    assert "numbered" not in CADSS.licence


def test_answers_are_the_five_degrees_scored_0_to_4_on_every_item():
    assert [(o.label, o.score) for o in DEGREE] == [
        ("Not at all", 0),
        ("Slightly", 1),
        ("Moderately", 2),
        ("Considerably", 3),
        ("Extremely", 4),
    ]
    assert all(item.options == DEGREE for item in CADSS.items)
    assert CADSS.max_total == 92


@given(ANSWERS)
def test_total_is_the_sum_of_the_23_answers(answers):
    score = CADSS.score(answers)
    assert score.total == sum(answers)
    assert score.complete and not score.prorated and score.band is None and score.flags == ()


def test_all_extreme_scores_92_and_all_absent_scores_0():
    assert CADSS.score([4] * 23).total == 92
    assert CADSS.score([0] * 23).total == 0


@pytest.mark.parametrize("blank", [0, 13, 22])
def test_any_blank_item_leaves_the_cadss_unscored(blank):
    answers: list[int | None] = [1] * 23
    answers[blank] = None
    score = CADSS.score(answers)
    assert score.total is None and not score.complete
    assert score.note == "1 item missing"


def test_an_answer_out_of_range_is_refused():
    with pytest.raises(instruments.ScoringError, match="cadss item 7: answer 5 is out of range 0-4"):
        CADSS.score([0] * 6 + [5] + [0] * 16)


def test_dissociation_rule_is_unchanged():
    assert dissociation_present(total=5, pre_dose_total=0) is True
    assert dissociation_present(total=4, pre_dose_total=None) is False
    assert dissociation_present(total=8, pre_dose_total=8) is False
    assert dissociation_present(total=9, pre_dose_total=8) is True
