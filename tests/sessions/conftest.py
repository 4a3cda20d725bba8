import pytest

from tests.treatment_helpers import start_plan


@pytest.fixture
def plan(doctor, patient, eligible, chair):
    """An IV ketamine course whose first treatment is today."""
    return start_plan(doctor, patient, chair)


@pytest.fixture
def esk_plan(doctor, patient, eligible, chair):
    """An esketamine course whose first treatment is today."""
    return start_plan(doctor, patient, chair, protocol="esketamine_nasal")
