"""The name parts migration fills in the search keys of the patients already on record."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("patients", "0003_record_change")]
AFTER = [("patients", "0004_name_parts")]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_patients_on_record_are_found_by_a_later_part_after_the_migration(register):
    from ketacare.patients.models import NamePart
    from ketacare.patients.selectors import patient_search

    hyphenated = register(given_name="Maeve", family_name="O'Neill-Testa")
    register(given_name="Anna", family_name="Smith")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        assert "patients_namepart" not in connection.introspection.table_names()
        MigrationExecutor(connection).migrate(AFTER)
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
    assert list(NamePart.objects.values_list("patient_id", "key")) == [(hyphenated.pk, "testa")]
    assert [p.pk for p in patient_search(text="testa")[1]] == [hyphenated.pk]
