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


SQUASHED = ("patients", "0001_squashed_0009_consent_withdrawal_seen")


@pytest.mark.django_db
def test_a_database_that_ran_its_whole_history_passes_the_squash_check():
    from ketacare.migration_history import squashed_history_complete

    assert squashed_history_complete(None, databases=["default"]) == []


@pytest.mark.django_db
def test_a_database_part_way_through_a_squashed_history_is_sent_to_the_previous_release_first():
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    from ketacare.migration_history import squashed_history_complete

    recorder = MigrationRecorder(connection)
    for name in (SQUASHED[1], "0008_consent_no_delete", "0009_consent_withdrawal_seen"):
        recorder.record_unapplied(SQUASHED[0], name)
    [error] = squashed_history_complete(None, databases=["default"])
    assert error.id == "ketacare.E030"
    assert error.msg == (
        "The database ran only part of the patients migrations that "
        "0001_squashed_0009_consent_withdrawal_seen replaces (missing: 0008_consent_no_delete, "
        "0009_consent_withdrawal_seen): this release cannot continue from there."
    )
    assert "its last patients migration is 0009_consent_withdrawal_seen" in error.hint
