"""The layer contracts (pyproject.toml, [tool.importlinter]) hold: clinical/ imports no Django and
no app, and the apps import only downward, web at the top. `make lint` runs the same check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept():
    exe = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(  # noqa: S603 - the venv's own executable, no arguments
        [str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 2 kept, 0 broken." in done.stdout


def test_an_upward_import_breaks_the_layers(tmp_path):
    # A copy of the contracts run against a tree where the patients app imports the outcomes app
    # (as its services once did to mark a change): the check must fail and name the import.
    import shutil

    shutil.copytree(
        ROOT / "src" / "ketacare", tmp_path / "src" / "ketacare", ignore=shutil.ignore_patterns("*.pyc")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    services = tmp_path / "src" / "ketacare" / "patients" / "services.py"
    services.write_text(
        services.read_text() + "\nfrom ketacare.outcomes import services as _outcomes  # noqa\n"
    )
    exe = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(  # noqa: S603 - the venv's own executable, no arguments
        [str(exe)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "src"), "PATH": str(exe.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ketacare.patients is not allowed to import ketacare.outcomes" in done.stdout
