import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical.baseline import CONTEXT_WORDS, baseline_label

TODAY = datetime.date(2026, 12, 10)
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def test_a_pre_session_baseline_names_the_scale_score_context_and_day():
    label = baseline_label("PHQ-9", 15, "pre_session", datetime.date(2026, 12, 3), today=TODAY)
    assert label == "baseline: PHQ-9 15, pre-session, 3 Dec"


@pytest.mark.parametrize(
    ("context", "word"),
    [
        ("baseline", "before treatment"),
        ("pre_session", "pre-session"),
        ("post_session", "post-session"),
        ("follow_up", "follow-up"),
    ],
)
def test_each_rating_context_has_its_word(context, word):
    label = baseline_label("GAD-7", 12, context, datetime.date(2026, 3, 14), today=TODAY)
    assert label == f"baseline: GAD-7 12, {word}, 14 Mar"


def test_every_context_of_the_measures_app_has_a_word():
    from ketacare.measures.models import Context

    assert set(CONTEXT_WORDS) == set(Context.values)


def test_a_score_from_another_year_carries_its_year():
    label = baseline_label("PHQ-9", 18, "baseline", datetime.date(2025, 12, 3), today=TODAY)
    assert label == "baseline: PHQ-9 18, before treatment, 3 Dec 2025"


def test_an_unknown_context_is_left_out_not_guessed():
    assert (
        baseline_label("PCL-5", 40, "imported", datetime.date(2026, 1, 5), today=TODAY)
        == "baseline: PCL-5 40, 5 Jan"
    )
    assert (
        baseline_label("PCL-5", 40, "", datetime.date(2026, 1, 5), today=TODAY) == "baseline: PCL-5 40, 5 Jan"
    )


@given(on=st.dates(), today=st.dates(), context=st.sampled_from([*CONTEXT_WORDS, "other"]))
def test_the_year_is_shown_exactly_when_it_is_not_this_year(on, today, context):
    label = baseline_label("PHQ-9", 9, context, on, today=today)
    assert label.startswith("baseline: PHQ-9 9, ")
    day = f"{on.day} {MONTHS[on.month - 1]}"
    assert label.endswith(day if on.year == today.year else f"{day} {on.year}")
