import pytest
from django.utils import timezone

from ketacare.clinical import instruments
from ketacare.demo.measures import LIVE_WINDOW, seed_histories
from ketacare.demo.patients import seed_cohort
from ketacare.measures.models import QuestionnaireResponse, SafetyAlert
from ketacare.measures.services import alert_priority
from ketacare.patients.models import Patient

pytestmark = pytest.mark.django_db


def test_demo_histories_score_like_live_entry_and_alert_only_recent_flags():
    seed_cohort(patients=60, seed=2)
    ids = list(Patient.objects.values_list("id", flat=True))
    now = timezone.now()  # the seeding's own clock: a response at the window's edge is judged alike
    made = seed_histories(patient_ids=ids, seed=2, now=now)
    assert made == QuestionnaireResponse.objects.count() > 60 * 10
    for response in QuestionnaireResponse.objects.all():
        score = instruments.get(response.instrument).score(response.answers)
        assert (score.total, list(score.flags)) == (response.total, response.flags)
        recent = now - response.administered_at < LIVE_WINDOW
        should_alert = recent and alert_priority(response.flags) is not None
        assert SafetyAlert.objects.filter(response=response).exists() == should_alert
        assert response.source == ("staff" if recent else "import")
    contexts = set(QuestionnaireResponse.objects.values_list("context", flat=True))
    assert contexts == {"baseline", "pre_session", "post_session", "follow_up"}
