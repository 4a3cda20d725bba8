"""A withdrawal of consent and the start of a course at the same moment (the patient withdraws on
their phone while the physician presses "Start the course"): both lock the patient row first, so
one waits for the other, and a course never starts under a consent already withdrawn (hazard
H-080). Run on PostgreSQL too, where the row lock is what orders them."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.patients.models import ConsentSignature
from ketacare.patients.services import consent_withdraw
from ketacare.treatment import services as treatment
from ketacare.treatment.models import TreatmentPlan
from tests.treatment_helpers import make_chair, make_eligible, portal_actor, sign_consent

ROUNDS = 4


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_racing_the_start_of_a_course_never_leaves_a_course_started_after_it(register, doctor):
    for n in range(ROUNDS):
        chair = make_chair(name=f"Chair {n}")
        patient = register(given_name=f"Race{n}", email=f"race{n}@example.com", phone=f"(555) 300-{n:04d}")
        make_eligible(doctor, patient)
        signature = sign_consent(patient)
        start = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def withdraw(signature=signature, patient=patient, start=start, outcomes=outcomes) -> None:
            try:
                start.wait()
                consent_withdraw(actor=portal_actor(patient), signature=signature, by_patient=True)
                outcomes["withdraw"] = "withdrawn"
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcomes["withdraw"] = repr(exc)
            finally:
                connection.close()

        def start_course(patient=patient, chair=chair, start=start, outcomes=outcomes) -> None:
            try:
                start.wait()
                treatment.plan_start(
                    actor=doctor,
                    patient=patient,
                    protocol="iv_ketamine_standard",
                    chair=chair,
                    start_on=timezone.localdate() + datetime.timedelta(days=7),
                    start_time=datetime.time(9, 0),
                )
                outcomes["plan"] = "started"
            except ValidationError as exc:
                outcomes["plan"] = "refused: " + ",".join(sorted(exc.message_dict))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcomes["plan"] = repr(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=withdraw), threading.Thread(target=start_course)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes["withdraw"] == "withdrawn", outcomes
        assert outcomes["plan"] in ("started", "refused: consent"), outcomes
        withdrawn = ConsentSignature.objects.get(pk=signature.pk)
        assert withdrawn.withdrawn_at is not None
        plan = TreatmentPlan.objects.filter(patient=patient).first()
        if outcomes["plan"] == "refused: consent":
            assert plan is None  # nothing of the course was written
            continue
        # The course started first: its audit event comes before the withdrawal's in the chain.
        started = AuditEvent.objects.get(object_type="treatment.treatmentplan", object_id=str(plan.pk))
        marked = AuditEvent.objects.get(
            object_type="patients.consentsignature", object_id=str(signature.pk), action="update"
        )
        assert started.seq < marked.seq
        assert started.detail["consent"] == signature.pk
