import datetime
from decimal import Decimal

import pytest

from ketacare.clinical.contraindications import checklist
from ketacare.screening import services


@pytest.fixture
def referral(actor, patient):
    return services.referral_record(
        actor=actor,
        patient=patient,
        referring_provider=None,
        received_on=datetime.date(2026, 10, 1),
        reason="Depression not helped by two antidepressants.",
        presenting_conditions=["treatment_resistant_depression"],
        consent_to_treatment=True,
        consent_to_share=False,
    )


def no_findings(**present):
    """Every checklist question answered "no", except those given."""
    answers = {r.code: False for r in checklist()}
    answers.update(present)
    return answers


@pytest.fixture
def consultation(doctor, patient, referral):
    c = services.consultation_start(actor=doctor, patient=patient)
    services.episode_record(
        actor=doctor, consultation=c, episode_duration_months=18, severity="moderate", augmentation_used=False
    )
    services.checklist_record(actor=doctor, consultation=c, answers=no_findings())
    for drug, dose, start, stop in (
        ("sertraline", "150", datetime.date(2025, 6, 1), datetime.date(2025, 8, 1)),
        ("venlafaxine", "150", datetime.date(2025, 9, 1), datetime.date(2025, 11, 1)),
    ):
        services.trial_record(
            actor=doctor,
            patient=patient,
            drug=drug,
            daily_dose_mg=Decimal(dose),
            started_on=start,
            stopped_on=stop,
            outcome="no_response",
            adherence="good",
        )
    return c
