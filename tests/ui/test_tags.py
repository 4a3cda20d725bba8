"""The shared form markup: a row of fields (field_row) and a whole stacked form (ui/_form.html)."""

from __future__ import annotations

from django import forms
from django.template import Context, Template
from django.template.loader import render_to_string


class ReceiptForm(forms.Form):
    lot_number = forms.CharField(label="Lot number")
    containers = forms.IntegerField(label="Containers", required=False, help_text="Vials or packs")


def squeeze(html: str) -> str:
    return " ".join(html.split()).replace("> <", "><")


def test_a_row_puts_each_field_in_one_fieldset_with_its_label_error_and_hint_in_order():
    form = ReceiptForm({"lot_number": "", "containers": "3"})
    html = squeeze(
        Template('{% load ui %}{% field_row form.lot_number form.containers legend="Lot" %}').render(
            Context({"form": form})
        )
    )
    assert html.startswith(
        '<fieldset class="row"><legend><strong>Lot</strong></legend><div class="field has-error">'
    )
    assert html.endswith("</fieldset>")
    label, error, next_label = ('for="id_lot_number"', 'id="id_lot_number_error"', 'for="id_containers"')
    assert html.index(label) < html.index(error) < html.index(next_label)
    assert '<small class="muted" id="id_containers_helptext">Vials or packs</small>' in html


def test_a_row_without_a_legend_has_none():
    html = Template("{% load ui %}{% field_row form.lot_number %}").render(Context({"form": ReceiptForm()}))
    assert "<legend" not in html and html.count('<div class="field') == 1


def test_a_stacked_form_has_every_field_and_the_button_it_is_given():
    html = squeeze(render_to_string("ui/_form.html", {"form": ReceiptForm(), "submit": "Record the receipt"}))
    assert html.startswith('<form method="post" novalidate>')
    assert 'name="lot_number"' in html and 'name="containers"' in html
    assert html.endswith('<button type="submit">Record the receipt</button></form>')
