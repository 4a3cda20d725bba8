import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

HISTORY = {
    "trials": [
        {"drug": "sertraline", "daily_dose_mg": 150, "weeks": 8, "outcome": "no_response"},
        {"drug": "escitalopram", "daily_dose_mg": 20, "weeks": 6, "outcome": "partial_response"},
        {"drug": "venlafaxine", "daily_dose_mg": 75, "weeks": 3, "outcome": "intolerance"},
    ],
    "episode_duration_months": 18,
    "severity": "moderate",
    "augmentation": False,
    "ect": False,
    "history": ["uncontrolled_hypertension"],
}


def stage(tmp_path, capsys, data):
    path = tmp_path / "history.json"
    path.write_text(json.dumps(data))
    call_command("stage", "--json", str(path))
    return json.loads(capsys.readouterr().out)


def test_prints_the_fields_the_issue_names(tmp_path, capsys):
    out = stage(tmp_path, capsys, HISTORY)
    assert [(t["drug"], t["adequate"]) for t in out["trials"]] == [
        ("sertraline", True),
        ("escitalopram", True),
        ("venlafaxine", False),
    ]
    assert out["trials"][2]["reason"] == (
        "Not adequate: stopped after 3 weeks because it was not tolerated: intolerance, not failure."
    )
    assert out["failed_adequate_trials"] == 2
    assert out["treatment_resistant"] is True
    assert out["maudsley"] == {
        "total": 6,
        "band": "mild",
        "duration": 2,
        "severity": 3,
        "antidepressants": 1,
        "augmentation": 0,
        "ect": 0,
    }
    assert [(c["code"], c["kind"], c["route"]) for c in out["contraindications"]] == [
        ("uncontrolled_hypertension", "absolute", "iv_ketamine"),
        ("uncontrolled_hypertension", "relative", "esketamine_nasal"),
    ]
    assert all(c["reason"] for c in out["contraindications"])


def test_clinic_rules_file_changes_the_minimum_dose(tmp_path, capsys, settings):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"min_daily_dose_mg": {"escitalopram": 25}}))
    settings.SCREENING_RULES_FILE = str(rules)
    out = stage(tmp_path, capsys, HISTORY)
    assert out["trials"][1]["adequate"] is False
    assert out["treatment_resistant"] is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        (json.dumps({**HISTORY, "severity": "bad"}), "severity: must be one of subsyndromal"),
        (json.dumps({**HISTORY, "trials": [{"drug": "sertraline"}]}), "trials[0].daily_dose_mg: is required"),
    ],
)
def test_bad_input_exits_2_naming_the_field(tmp_path, text, message):
    path = tmp_path / "h.json"
    path.write_text(text)
    with pytest.raises(CommandError) as err:
        call_command("stage", "--json", str(path))
    assert err.value.returncode == 2
    assert message in str(err.value)


def test_a_missing_file_exits_2(tmp_path):
    with pytest.raises(CommandError) as err:
        call_command("stage", "--json", str(tmp_path / "nope.json"))
    assert err.value.returncode == 2 and "cannot read" in str(err.value)


def test_ketacare_check_refuses_a_bad_rules_file_naming_the_problem(tmp_path, settings):
    from django.core.management.base import SystemCheckError

    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"contraindications": {"maoi": {"iv_ketamine": "maybe"}}}))
    settings.SCREENING_RULES_FILE = str(rules)
    with pytest.raises(SystemCheckError, match="maoi.iv_ketamine: 'maybe' is not absolute, relative or none"):
        call_command("check")


def test_a_drug_not_in_the_table_exits_0_with_adequacy_unknown_named(tmp_path, capsys):
    history = {
        **HISTORY,
        "trials": [
            *HISTORY["trials"],
            {"drug": "agomelatine", "daily_dose_mg": 50, "weeks": 8, "outcome": "no_response"},
        ],
    }
    path = tmp_path / "history.json"
    path.write_text(json.dumps(history))
    call_command("stage", "--json", str(path))  # no CommandError: exit 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["adequacy_unknown"] == ["agomelatine"]
    assert (out["trials"][3]["adequate"], out["trials"][3]["failed"]) == (None, False)
    assert "Adequacy unknown: drug not in the clinic's table (agomelatine)" in out["trials"][3]["reason"]
    assert out["failed_adequate_trials"] == 2
    assert "trials[3].drug 'agomelatine': adequacy unknown: drug not in the clinic's table" in captured.err


def test_a_clinic_added_drug_is_assessed(tmp_path, capsys, settings):
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "min_daily_dose_mg": {
                    "agomelatine": {
                        "class": "melatonergic",
                        "min_daily_dose_mg": 25,
                        "max_daily_dose_mg": 100,
                    }
                }
            }
        )
    )
    settings.SCREENING_RULES_FILE = str(rules)
    trial = {"drug": "agomelatine", "daily_dose_mg": 25, "weeks": 4, "outcome": "no_response"}
    out = stage(tmp_path, capsys, {**HISTORY, "trials": [trial]})
    assert (out["trials"][0]["adequate"], out["trials"][0]["failed"]) == (True, True)
    assert out["adequacy_unknown"] == []


def test_no_failed_trial_is_not_staged_in_the_json(tmp_path, capsys):
    out = stage(tmp_path, capsys, {**HISTORY, "trials": []})
    assert (out["maudsley"]["total"], out["maudsley"]["band"]) == (None, "not staged")
    one = stage(tmp_path, capsys, {**HISTORY, "trials": HISTORY["trials"][:1]})
    assert (one["maudsley"]["total"], one["maudsley"]["band"]) == (2 + 3 + 1, "mild")


@pytest.mark.parametrize(
    ("drug", "dose", "message"),
    [
        (
            "sertraline",
            5000,
            "trials[0].daily_dose_mg: 5000 mg/day of sertraline is above the plausible maximum",
        ),
        ("liothyronine", 25, "trials[0].daily_dose_mg: 25 mg/day of liothyronine"),
    ],
)
def test_an_implausible_dose_exits_2_naming_the_field(tmp_path, drug, dose, message):
    path = tmp_path / "h.json"
    path.write_text(
        json.dumps(
            {
                **HISTORY,
                "trials": [{"drug": drug, "daily_dose_mg": dose, "weeks": 8, "outcome": "no_response"}],
            }
        )
    )
    with pytest.raises(CommandError) as err:
        call_command("stage", "--json", str(path))
    assert err.value.returncode == 2
    assert message in str(err.value) and "likely a unit error" in str(err.value)
