from __future__ import annotations

from django import forms

from ketacare.portal.models import PublicSite
from ketacare.portal.services import BODY_MAX


class PageForm(forms.Form):
    title = forms.CharField(max_length=120)
    body = forms.CharField(
        label="Text",
        required=False,
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text="Markdown: a blank line between paragraphs, **bold**, - lists, [a link](https://...), "
        "| tables |. HTML is shown as text. Empty: the default text comes back.",
    )


class SiteForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = PublicSite
        fields = ("clinic_name", "phone", "email", "address", "show_own_figures")
