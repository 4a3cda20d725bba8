import pytest

from ketacare.audit.context import Actor
from tests.treatment_helpers import make_chair, make_eligible


@pytest.fixture
def doctor(physician):
    return Actor(user=physician, ip="127.0.0.1", user_agent="pytest")


@pytest.fixture
def nurse_actor(nurse):
    return Actor(user=nurse, ip="127.0.0.1", user_agent="pytest")


@pytest.fixture
def patient(register):
    return register()


@pytest.fixture
def eligible(doctor, patient):
    return make_eligible(doctor, patient)


@pytest.fixture
def chair(db):
    return make_chair()
