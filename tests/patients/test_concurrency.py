"""Several workers registering at once: every patient gets a distinct MRN and the audit chain
stays one unbroken line (the MRN sequence and the chain head are locked rows; SQLite queues
writers through IMMEDIATE transactions, PostgreSQL through SELECT ... FOR UPDATE)."""

import threading

import pytest
from django.db import connection

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.audit.selectors import chain_verify
from ketacare.clinical.mrn import is_valid_mrn
from ketacare.patients.models import Patient
from ketacare.patients.services import patient_register
from tests.conftest import patient_details

WORKERS, EACH = 6, 5


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_unique_mrns_and_one_unbroken_chain():
    errors: list[BaseException] = []
    start = threading.Barrier(WORKERS)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(EACH):
                patient_register(
                    actor=Actor.command(f"worker-{n}"),
                    # thirty different people: a shared phone would make them possible duplicates
                    details=patient_details(
                        given_name=f"W{n}", family_name=f"P{i}", phone=f"(555) 4{n:02d}-{i:04d}"
                    ),
                    diagnoses=["F33.1"],
                )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    mrns = list(Patient.objects.values_list("mrn", flat=True))
    assert len(mrns) == WORKERS * EACH
    assert len(set(mrns)) == WORKERS * EACH
    assert all(is_valid_mrn(m) for m in mrns)
    report = chain_verify()
    assert report.intact, report.problem
    assert report.events_checked == AuditEvent.objects.count() == WORKERS * EACH * 2
