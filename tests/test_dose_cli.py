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
