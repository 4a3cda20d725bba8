"""ui.forms.submit: the one POST-form step of every page."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from ketacare.ui.forms import submit


class DoseForm(forms.Form):
    mg = forms.IntegerField(min_value=1)
    note = forms.CharField(required=False)


def test_a_valid_form_calls_the_service_once_and_returns_its_result():
    calls = []
    form = DoseForm({"mg": "40"})
    assert submit(form, lambda: calls.append(form.cleaned_data["mg"]) or "done") == (True, "done")
    assert calls == [40] and not form.errors


def test_an_invalid_form_never_reaches_the_service():
    calls = []
    form = DoseForm({"mg": "0"})
    assert submit(form, lambda: calls.append(1)) == (False, None)
    assert calls == [] and "mg" in form.errors


def test_a_refusal_goes_beside_the_field_it_names_or_atop_the_form():
    def refuse() -> None:
        raise ValidationError({"mg": "Over the protocol maximum of 60 mg.", "lot": "Expired."})

    form = DoseForm({"mg": "80"})
    assert submit(form, refuse) == (False, None)
    assert form.errors["mg"] == ["Over the protocol maximum of 60 mg."]
    assert form.non_field_errors() == ["Expired."]  # no such field on the form


def test_place_maps_the_services_field_names_onto_the_forms():
    def refuse() -> None:
        raise ValidationError({"dose_mg": "Too much."})

    form = DoseForm({"mg": "80"})
    submit(form, refuse, place=lambda exc: ValidationError({"mg": exc.error_dict["dose_mg"]}))
    assert form.errors["mg"] == ["Too much."]
