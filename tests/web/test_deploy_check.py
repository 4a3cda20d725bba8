"""`ketacare check --deploy --fail-level WARNING` is clean with production settings, and production
refuses to start without the audit key kept outside the database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("KETACARE_", "DATABASE_URL", "DJANGO_")
        )  # the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE
    }
    env.update(
        KETACARE_VAR_DIR=str(tmp_path / "var"),
        KETACARE_HTTPS="true",
        KETACARE_SECRET_KEY="production-secret-" + "x7Qp2Lm9" * 8,
        KETACARE_ALLOWED_HOSTS="clinic.example.org",
        DJANGO_SETTINGS_MODULE="ketacare.config.settings",
        **extra,
    )
    return env


def _ketacare(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import sys; from ketacare.cli import main; sys.argv = ['ketacare', *sys.argv[1:]]; main()"
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_deploy_check_is_clean_with_production_settings(tmp_path):
    key = tmp_path / "audit.key"
    key.write_text("k" * 16 + "0123456789abcdef0123456789abcdef")
    result = _ketacare(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=_production_env(tmp_path, KETACARE_AUDIT_KEY_FILE=str(key)),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_without_the_audit_key_fails_the_check_and_will_not_start(tmp_path):
    env = _production_env(tmp_path)
    result = _ketacare("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "ketacare.E020" in result.stderr and "KETACARE_AUDIT_KEY" in result.stderr
    server = subprocess.run(  # noqa: S603  (what gunicorn loads)
        [sys.executable, "-c", "import ketacare.config.wsgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (
        server.returncode != 0
        and "ImproperlyConfigured" in server.stderr
        and "KETACARE_AUDIT_KEY" in server.stderr
    )
    assert not (tmp_path / "var" / "audit_key").exists()  # no key is made next to the database


def test_production_cannot_switch_two_factor_sign_in_off(tmp_path):
    env = _production_env(tmp_path, KETACARE_AUDIT_KEY="a" * 40, KETACARE_TWO_FACTOR_REQUIRED="false")
    result = _ketacare("check", env=env)
    assert result.returncode != 0 and "ketacare.E021" in result.stderr
