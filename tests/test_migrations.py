"""The models and their migrations agree: a model change without its migration would leave a
clinic's database behind the code (found here, not at a clinic's upgrade)."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_is_missing_its_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:
        pytest.fail(f"makemigrations --check exited {exc.code}: a migration is missing\n{out.getvalue()}")
