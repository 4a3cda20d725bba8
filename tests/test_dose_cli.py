import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def dose(capsys, *args):
    call_command("dose", *args)
    return json.loads(capsys.readouterr().out)


def test_reference_example_prints_the_named_fields(capsys):
    out = dose(
        capsys,
        "--protocol",
        "iv_ketamine_standard",
        "--weight-kg",
        "80",
        "--concentration-mg-per-ml",
        "10",
        "--bag-ml",
        "100",
        "--duration-min",
        "40",
    )
    assert {
        k: out[k] for k in ("basis_weight_kg", "dose_mg", "draw_volume_ml", "rate_ml_per_h", "warnings")
    } == {
        "basis_weight_kg": 80.0,
        "dose_mg": 40.0,
        "draw_volume_ml": 4.0,
        "rate_ml_per_h": 156.0,
        "warnings": [],
    }


def test_ideal_weight_from_height_and_sex(capsys):
    out = dose(
        capsys,
        "--protocol",
        "iv_ketamine_standard",
        "--weight-kg",
        "110",
        "--height-cm",
        "180",
        "--sex",
        "male",
        "--weight-basis",
        "ideal",
    )
    assert (out["basis_weight_kg"], out["dose_mg"], out["weight_basis"]) == (75.0, 37.5, "ideal")


def test_esketamine_fixed_dose_in_devices(capsys):
    out = dose(capsys, "--protocol", "esketamine_nasal", "--dose-mg", "84")
    assert (out["dose_mg"], out["devices"], out["rate_ml_per_h"], out["basis_weight_kg"]) == (
        84.0,
        3,
        None,
        None,
    )


def test_clinic_protocol_file_caps_the_dose(tmp_path, capsys, settings):
    path = tmp_path / "protocols.json"
    path.write_text(json.dumps({"iv_ketamine_standard": {"max_dose_mg": 45}}))
    settings.PROTOCOLS_FILE = str(path)
    out = dose(capsys, "--protocol", "iv_ketamine_standard", "--weight-kg", "120")
    assert (out["dose_mg"], out["capped"]) == (45.0, True)
    assert out["warnings"] == ["Capped at the protocol's maximum of 45 mg (calculated 60.0 mg)."]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--weight-kg", "80", "--dose-mg-per-kg", "1.5"],
            "--dose-mg-per-kg: 1.5 mg/kg is outside the protocol's range 0.1-1.0 mg/kg",
        ),
        (
            ["--weight-kg", "80", "--weight-basis", "ideal", "--sex", "male"],
            "--height-cm: ideal body weight needs the patient's height",
        ),
        (["--weight-kg", "8000"], "--weight-kg: 8000 kg is outside 25-350 kg"),
        (["--weight-kg", "eighty"], "--weight-kg: 'eighty' is not a number"),
        ([], "--weight-kg: required for a weight-based protocol"),
        (["--weight-kg", "80", "--duration-min", "2"], "--duration-min: 2 min is outside 5-240 min"),
        (
            ["--weight-kg", "25", "--dose-mg-per-kg", "0.1", "--concentration-mg-per-ml", "100"],
            "--concentration-mg-per-ml: 2.5 mg of 100 mg/mL is 0.03 mL, under the 0.1 mL that can be "
            "measured: use the 10 mg/mL stock",
        ),
        (
            ["--weight-kg", "80", "--concentration-mg-per-ml", "100", "--bag-ml", "0", "--duration-min", "5"],
            "--bag-ml: IV ketamine is always diluted: add it to a bag (at most 2 mg/mL; this dose needs at "
            "least 20 mL)",
        ),
        (
            ["--weight-kg", "80", "--duration-min", "19", "--duration-reason", "asked"],
            "--duration-min: 19 min is under the 20 minutes an infusion must take (rapid administration "
            "risks respiratory depression and a rise in blood pressure): give it over 40 min",
        ),
        (
            ["--weight-kg", "80", "--duration-min", "39"],
            "--duration-reason: 39 min is shorter than the protocol's 40 min: state the physician's reason, "
            "or give it over 40 min",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args, message):
    with pytest.raises(CommandError) as err:
        call_command("dose", "--protocol", "iv_ketamine_standard", *args)
    assert err.value.returncode == 2
    assert str(err.value) == message


@pytest.mark.slow
def test_the_installed_command_exits_2_on_bad_input(tmp_path: Path):
    exe = shutil.which("ketacare", path=str(Path(sys.executable).parent)) or "ketacare"
    env = {
        **os.environ,
        "KETACARE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    run = subprocess.run(  # noqa: S603 - our own executable, fixed arguments
        [exe, "dose", "--protocol", "iv_ketamine_standard", "--weight-kg", "80", "--dose-mg-per-kg", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2
    assert "--dose-mg-per-kg: 2 mg/kg is outside the protocol's range 0.1-1.0 mg/kg" in run.stderr
    good = subprocess.run(  # noqa: S603
        [exe, "dose", "--protocol", "iv_ketamine_standard", "--weight-kg", "80"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert good.returncode == 0 and json.loads(good.stdout)["rate_ml_per_h"] == 156.0


def test_ketacare_check_refuses_a_bad_protocols_file_naming_the_field(tmp_path, settings):
    from django.core.management.base import SystemCheckError

    path = tmp_path / "protocols.json"
    path.write_text(json.dumps({"iv_ketamine_standard": {"max_mg_per_kg": 0.3}}))
    settings.PROTOCOLS_FILE = str(path)
    with pytest.raises(SystemCheckError, match="iv_ketamine_standard: the standard dose must lie within"):
        call_command("check")
    path.write_text(json.dumps({"im_ketamine": {"enabled": True}}))
    call_command("check")


def test_prepared_dose_is_printed_beside_the_ordered_dose(capsys):
    # Was: 52.5 mg ordered but 1.1 mL (55 mg) drawn.
    out = dose(
        capsys,
        "--protocol",
        "iv_ketamine_standard",
        "--weight-kg",
        "70",
        "--dose-mg-per-kg",
        "0.75",
        "--concentration-mg-per-ml",
        "50",
        "--bag-ml",
        "100",
    )
    keys = list(out)
    assert keys.index("prepared_dose_mg") == keys.index("dose_mg") + 1
    assert (out["dose_mg"], out["prepared_dose_mg"], out["draw_volume_ml"]) == (52.5, 52.5, 1.05)
    assert (out["prepared_mg_per_kg_actual"], out["final_concentration_mg_per_ml"]) == (0.75, 0.52)


def test_ideal_weight_under_60_inches_doses_on_actual_weight(capsys):
    # Was: a negative dose and exit 0.
    out = dose(
        capsys,
        "--protocol",
        "iv_ketamine_standard",
        "--weight-kg",
        "120",
        "--height-cm",
        "100",
        "--sex",
        "female",
        "--weight-basis",
        "ideal",
    )
    assert (out["weight_basis"], out["basis_weight_kg"], out["dose_mg"]) == ("actual", 120.0, 60.0)
    assert "Devine formula does not apply" in out["warnings"][0]


def test_a_shorter_infusion_with_a_stated_reason_keeps_the_reason(capsys):
    out = dose(
        capsys,
        "--protocol",
        "iv_ketamine_standard",
        "--weight-kg",
        "80",
        "--duration-min",
        "30",
        "--duration-reason",
        "chair needed for an emergency",
    )
    assert (out["duration_min"], out["duration_reason"], out["rate_ml_per_h"]) == (
        30,
        "chair needed for an emergency",
        208.0,
    )
    assert out["warnings"] == [
        "Duration 30 min is shorter than the protocol's 40 min. Reason: chair needed for an emergency"
    ]


def test_esketamine_first_dose_of_84_mg_needs_suicidal_ideation(capsys):
    with pytest.raises(CommandError) as err:
        call_command("dose", "--protocol", "esketamine_nasal", "--dose-mg", "84", "--first-dose")
    assert err.value.returncode == 2
    assert str(err.value).startswith("--dose-mg: the first dose is 56 mg")
    out = dose(
        capsys, "--protocol", "esketamine_nasal", "--dose-mg", "84", "--first-dose", "--suicidal-ideation"
    )
    assert (out["dose_mg"], out["prepared_dose_mg"], out["devices"]) == (84.0, 84.0, 3)


@pytest.mark.parametrize(
    ("age", "message"),
    [
        (
            "17",
            "--age-years: esketamine is not approved under 18 years (the patient is 17): it cannot be "
            "ordered; consider other treatment",
        ),
        ("seventy", "--age-years: 'seventy' is not a whole number"),
        ("200", "--age-years: 200 years is outside 0-130 years"),
    ],
)
def test_esketamine_age_is_checked(age, message):
    with pytest.raises(CommandError) as err:
        call_command("dose", "--protocol", "esketamine_nasal", "--age-years", age)
    assert err.value.returncode == 2
    assert str(err.value) == message


def test_clinic_following_the_eu_smpc_starts_older_adults_at_28_mg(tmp_path, capsys, settings):
    path = tmp_path / "protocols.json"
    path.write_text(json.dumps({"esketamine_nasal": {"older_adult_start_mg": 28}}))
    settings.PROTOCOLS_FILE = str(path)
    out = dose(capsys, "--protocol", "esketamine_nasal", "--first-dose", "--age-years", "70")
    assert (out["dose_mg"], out["devices"]) == (28.0, 1)
