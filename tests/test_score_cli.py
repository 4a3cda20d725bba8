import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def score(capsys, code, answers):
    call_command("score", code, answers=answers)
    return json.loads(capsys.readouterr().out)


def test_prints_the_json_the_issue_names(capsys):
    assert score(capsys, "phq9", "1,1,1,1,1,1,1,1,1") == {
        "instrument": "phq9",
        "total": 9,
        "band": "mild",
        "flags": ["suicidal_ideation"],
        "complete": True,
    }


def test_empty_places_are_missing_items_and_proration_is_reported(capsys):
    result = score(capsys, "phq9", "1,1,1,1,1,1,1,,")
    assert (result["total"], result["complete"], result["flags"]) == (9, False, ["safety_item_missing"])


def test_epds_reverse_scoring_from_the_command_line(capsys):
    assert score(capsys, "epds", "0,0,0,0,0,0,0,0,0,0")["total"] == 21


@pytest.mark.parametrize(
    ("code", "answers", "message"),
    [
        ("gad7", "1,2", "gad7 takes 7 answers, got 2"),
        ("epds", "0,0,0,0,0,0,0,0,0,9", "epds item 10: answer 9 is out of range 0-3"),
        ("phq8", "1", "unknown scale 'phq8'"),
        ("phq9", "1,x,1,1,1,1,1,1,1", "answer 2 is 'x', not a whole number or empty"),
        ("phq9", ",,,1,1,1,1,1,1", "phq9 not scored: 3 items missing"),
    ],
)
def test_invalid_input_exits_2_with_one_line(capsys, code, answers, message):
    with pytest.raises(CommandError) as excinfo:
        call_command("score", code, answers=answers)
    assert excinfo.value.returncode == 2
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)
