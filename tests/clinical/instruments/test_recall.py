"""Every scale carries the period its questions ask about (clinical reference section 2)."""

import pytest

from ketacare.clinical import instruments
from ketacare.clinical.instruments.base import Recall
from ketacare.clinical.instruments.pcl5 import pcl5_with_cutoff

RECALL = {
    "phq9": (14, "the last 2 weeks"),
    "gad7": (14, "the last 2 weeks"),
    "epds": (7, "the past 7 days"),
    "qids_sr16": (7, "the past 7 days"),
    "pcl5": (30, "the past month"),
    "madrs": (7, "the last week"),
    "cadss": (None, "the present moment"),
    "cssrs_screen": (30, "the past month"),
}


def test_every_scale_is_listed_here():
    assert set(RECALL) == set(instruments.CODES)


@pytest.mark.parametrize(("code", "days", "text"), [(c, d, t) for c, (d, t) in RECALL.items()])
def test_recall_period_of_each_scale(code, days, text):
    scale = instruments.get(code)
    assert (scale.recall_days, scale.recall_text) == (days, text)


def test_the_recall_period_agrees_with_the_shipped_stem():
    # Where KetaCare ships the stem, it names the same period the data does.
    assert "last 2 weeks" in instruments.get("phq9").stem
    assert "last 2 weeks" in instruments.get("gad7").stem
    assert "past month" in instruments.get("pcl5").stem
    assert "past 7 days" in instruments.get("epds").stem
    assert "past seven days" in instruments.get("qids_sr16").stem
    assert "past week" in instruments.get("madrs").stem


def test_items_that_ask_about_another_period_say_so():
    assert instruments.get("cssrs_screen").recall.note == (
        "questions 1-5: the past month; question 6: ever, and 6b: the past 3 months"
    )
    assert "weight" in instruments.get("qids_sr16").recall.note
    assert "24 hours" in instruments.get("madrs").recall.note
    assert instruments.get("phq9").recall.note == ""


def test_a_clinic_cutoff_keeps_the_pcl5_recall_period():
    assert pcl5_with_cutoff(31).recall == instruments.get("pcl5").recall


def test_a_recall_period_is_positive_or_the_present_moment():
    with pytest.raises(ValueError, match="positive number of days"):
        Recall(0, "never")
    assert Recall(None, "the present moment").days is None


def test_short_names():
    assert [instruments.get(c).short_name for c in ("phq9", "qids_sr16", "cssrs_screen")] == [
        "PHQ-9",
        "QIDS-SR16",
        "C-SSRS screener",
    ]
