import json

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from ketacare.measures import services
from ketacare.measures.wording import WordingError, parse

EPDS = {
    "stem": "Licensed stem for the clinic",
    "items": [f"Licensed EPDS item {n}" for n in range(1, 11)],
    "options": [[f"Licensed option {n}.{k}" for k in range(4)] for n in range(1, 11)],
}


def test_a_clinic_with_a_licence_sees_the_licensed_wording(tmp_path, settings, db, client, register, actor):
    path = tmp_path / "wording.json"
    path.write_text(json.dumps({"epds": EPDS}))
    settings.LICENSED_WORDING_FILE = str(path)
    patient = register()
    _, token = services.self_report_link_create(actor=actor, patient=patient, instrument="epds")
    html = client.get(reverse("measures:self-report", args=[token])).content.decode()
    assert "Licensed stem for the clinic" in html
    assert "10. Licensed EPDS item 10" in html
    assert "Licensed option 10.3" in html
    # Scoring is by position, unchanged: position 0 on item 10 still scores 3 and flags it.
    done = client.post(
        reverse("measures:self-report", args=[token]),
        {f"item_{n}": "3" if n in (1, 2, 4) else "0" for n in range(1, 11)},
    )
    assert "988" in done.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"epds": {"items": ["x"] * 9}}, "epds: 'items' needs 10 non-empty texts, got 9"),
        ({"phq8": {"items": []}}, "'phq8' is not a scale"),
        ({"epds": {**EPDS, "options": [["a", "b"]] * 10}}, "epds: item 1 needs 4 option labels"),
        ([], "object keyed by scale code"),
    ],
)
def test_a_wording_file_that_does_not_fit_is_refused_naming_the_problem(data, message):
    with pytest.raises(WordingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(data)


def test_ketacare_check_reports_a_bad_wording_file(tmp_path, settings):
    path = tmp_path / "wording.json"
    path.write_text(json.dumps({"madrs": {"items": ["only one"]}}))
    settings.LICENSED_WORDING_FILE = str(path)
    with pytest.raises(SystemCheckError, match="madrs: 'items' needs 10"):
        call_command("check")
