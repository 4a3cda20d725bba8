"""Small hand-worked cohorts: imported treatments and staff-entered PHQ-9 scores."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.utils import timezone

from ketacare.measures.services import response_record
from ketacare.outcomes.services import catch_up
from ketacare.patients.models import Patient
from ketacare.sessions.models import TreatmentSession

T0 = timezone.now().replace(microsecond=0) - datetime.timedelta(days=100)  # first treatment


def phq9_answers(total: int) -> list[int]:
    """Item answers (item 9 always 0) that sum to `total` (0-24)."""
    answers = [0] * 9
    for i in range(total):
        answers[i % 8] += 1
    return answers


def at(day: float) -> datetime.datetime:
    return T0 + datetime.timedelta(days=day)


@pytest.fixture
def treated(register: Callable[..., Patient], nurse_actor: Any) -> Callable[..., Patient]:
    """A patient with treatments on `days` (imported history) and PHQ-9 `scores` as (day, total),
    followed up (context follow_up); the stored outcomes caught up afterwards, as a page would."""
    count = [0]

    def make(
        scores: Sequence[tuple[float, int]],
        days: Sequence[float] = (0, 2, 4, 7, 9, 11),
        route: str = "iv_ketamine",
        diagnoses: tuple[str, ...] = ("F33.1",),
        **details: Any,
    ) -> Patient:
        count[0] += 1
        details.setdefault("family_name", f"Patient{count[0]:03d}")
        patient = register(diagnoses=diagnoses, **details)
        protocol = {"iv_ketamine": "iv_ketamine_standard", "esketamine": "esketamine_nasal"}[route]
        for n, day in enumerate(days, start=1):
            TreatmentSession.objects.create(
                patient=patient,
                source=TreatmentSession.Source.IMPORT,
                protocol=protocol,
                route=route,
                number=n,
                checked_in_at=at(day),
                dose_started_at=at(day),
            )
        for day, total in scores:
            response_record(
                actor=nurse_actor,
                patient=patient,
                instrument="phq9",
                answers=phq9_answers(total),
                context="follow_up",
                administered_at=at(day),
            )
        assert not catch_up().failure
        return patient

    return make
