"""The marks of changed records moved from outcomes (OutcomeChange) to patients (RecordChange):
the migration renames the table, and a mark waiting for the catch-up survives the move."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("patients", "0002_patient_phone_digits_index"), ("outcomes", "0007_dashboard_group_indexes")]
AFTER = [("patients", "0003_record_change"), ("outcomes", "0008_record_change_moved")]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_waiting_mark_survives_the_move(register):
    from ketacare.patients.models import RecordChange

    patient = register()  # with a primary diagnosis: its mark is already waiting
    waiting = list(RecordChange.objects.values_list("patient_id", flat=True))
    assert waiting == [patient.pk]
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO outcomes_outcomechange (patient_id, changed_at) VALUES (%s, CURRENT_TIMESTAMP)",
                [patient.pk],
            )
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
    assert list(RecordChange.objects.values_list("patient_id", flat=True)) == [patient.pk, patient.pk]
    assert "outcomes_outcomechange" not in connection.introspection.table_names()
