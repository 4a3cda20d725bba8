import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ketacare.demo.patients import seed_cohort
from ketacare.patients.models import Diagnosis, Patient

pytestmark = pytest.mark.django_db


def _people(ids):
    return list(
        Patient.objects.filter(pk__in=ids)
        .order_by("pk")
        .values_list("given_name", "family_name", "date_of_birth", "sex", "city")
    )


def test_the_same_seed_gives_the_same_cohort_and_another_seed_does_not():
    seed_cohort(patients=40, seed=9)
    first = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    seed_cohort(patients=40, seed=9)
    second = list(Patient.objects.order_by("pk").values_list("pk", flat=True))[40:]
    seed_cohort(patients=40, seed=10)
    third = list(Patient.objects.order_by("pk").values_list("pk", flat=True))[80:]
    assert _people(first) == _people(second)
    assert _people(first) != _people(third)
    assert Patient.objects.values("mrn").distinct().count() == 120


def test_cohort_is_clinically_coherent():
    seed_cohort(patients=400, seed=4)
    postpartum = Patient.objects.filter(diagnoses__code="F53.0")
    assert postpartum.exists()
    assert not postpartum.exclude(sex="female").exists()
    assert Diagnosis.objects.filter(is_primary=True).count() == 400
    assert not Patient.objects.filter(measurements__isnull=True).exists()


def test_seed_demo_if_empty_adds_nothing_the_second_time(capsys):
    call_command("seed_demo", patients=12, seed=3, if_empty=True)
    call_command("seed_demo", patients=12, seed=3, if_empty=True)
    out = capsys.readouterr().out
    assert "Seeded 12 synthetic patients" in out
    assert "Cohort already present (12 patients); nothing added." in out
    assert Patient.objects.count() == 12


def test_seed_demo_refuses_a_bad_size():
    with pytest.raises(CommandError, match="--patients must be between 1 and 2000000") as excinfo:
        call_command("seed_demo", patients=0)
    assert excinfo.value.returncode == 2
    assert Patient.objects.count() == 0


@pytest.mark.slow
def test_ketacare_command_end_to_end_with_exit_codes(tmp_path: Path):
    """The installed `ketacare` executable, hyphenated command names, a database of its own."""
    exe = shutil.which("ketacare", path=str(Path(sys.executable).parent)) or "ketacare"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "KETACARE_VAR_DIR": str(tmp_path),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own executable, fixed arguments
            [exe, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    assert run("migrate", "-v0").returncode == 0
    seeded = run("seed-demo", "--patients", "5", "--seed", "1")
    assert (seeded.returncode, seeded.stdout.startswith("Seeded 5 synthetic patients")) == (0, True)
    assert run("seed-demo", "--patients", "0").returncode == 2
    ok = run("audit-verify")
    import sqlite3

    db = sqlite3.connect(tmp_path / "cli.sqlite3")
    # Every event is verified: the patients, providers, score histories, plans and sessions, the
    # demo accounts, and the demo ledger's entries (how many depends on the day the demo is made:
    # its stock history runs up to today).
    (events,) = db.execute("SELECT COUNT(*) FROM audit_auditevent").fetchone()
    assert events > 40
    assert (ok.returncode, ok.stdout.strip()) == (
        0,
        f"Audit chain intact: {events} events verified; 0 anchors checked.",
    )
    db.execute("DROP TRIGGER audit_event_no_update")
    db.execute("UPDATE audit_auditevent SET object_id = '999' WHERE seq = 7")
    db.commit()
    db.close()
    broken = run("audit-verify")
    assert broken.returncode == 1
    assert "Audit chain BROKEN at event 7: event 7 was altered after it was written" in broken.stderr


def test_demo_users_are_one_per_role_and_idempotent(capsys):
    from ketacare.accounts.models import User

    call_command("demo_users")
    call_command("demo_users")
    users = {u.username: u.role.value for u in User.objects.prefetch_related("groups")}
    assert users == {
        "physician": "physician",
        "nurse": "nurse",
        "frontdesk": "front_desk",
        "admin": "clinic_admin",
    }
    assert User.objects.get(username="nurse").check_password("ketacare-demo")


def test_the_demo_cohort_has_outcome_figures_and_trial_histories(capsys):
    from ketacare.outcomes.models import PatientOutcome
    from ketacare.outcomes.selectors import Filters, dashboard

    call_command("seed_demo", patients=40, seed=2)
    treated = set(PatientOutcome.objects.values_list("patient_id", flat=True))
    assert len(treated) >= 30
    figures = dashboard(Filters()).as_json()
    assert figures["first_treatment"]["n"] > 0
    assert figures["course"]["n"] > 0
    assert 0 <= figures["first_treatment"]["response_rate"] <= 1
    assert figures["speed_of_relief"]["patients_with_trials"] > 0
