"""Two submissions of the same link racing (a double tap on a slow phone, two open tabs)."""

import threading

import pytest
from django.db import connection

from ketacare.measures import services
from ketacare.measures.models import QuestionnaireResponse, SafetyAlert


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_racing_submissions_with_item_9_positive_make_exactly_one_response_and_one_alert(register, actor):
    patient = register()
    _, token = services.self_report_link_create(actor=actor, patient=patient, instrument="phq9")
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def submit() -> None:
        try:
            start.wait()
            services.self_report_submit(token=token, answers=[0] * 8 + [3], ip=None, user_agent="race")
            outcomes.append("stored")
        except services.LinkUnusable as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["stored", "used", "used", "used"]
    assert QuestionnaireResponse.objects.count() == 1
    assert SafetyAlert.objects.count() == 1
