from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone

from ketacare.clinical import instruments, prescreen
from ketacare.clinical.candidacy import PRESENTING_LABELS
from ketacare.patients.forms import typed_name_field
from ketacare.patients.models import Sex
from ketacare.patients.services import CONSENT_BODY_MAX
from ketacare.portal.models import Enquiry, PublicSite
from ketacare.portal.services import BODY_MAX, MESSAGE_MAX, PREFERRED_MAX


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


PHQ9 = instruments.get("phq9")
PHQ9_ITEMS = [item for item in PHQ9.items if item.scored]


class EnquiryForm(forms.Form):
    """Asking to talk to a specially trained doctor. `website` is a trap for robots: hidden from
    people (and from screen readers), a form that fills it is not kept."""

    given_name = forms.CharField(label="First name", max_length=100)
    family_name = forms.CharField(label="Last name", max_length=100)
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    phone = forms.CharField(
        max_length=30, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})
    )
    email = forms.EmailField(required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    call_time = forms.ChoiceField(
        label="Best time to call you", choices=Enquiry.CallTime.choices, initial="any"
    )
    seeking = forms.MultipleChoiceField(
        label="What would you like help with?",
        choices=[(k.value, v) for k, v in PRESENTING_LABELS.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    message = forms.CharField(
        label="Anything you would like us to know (optional)",
        required=False,
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    referring_clinician = forms.CharField(
        label="Your doctor or therapist, if any (optional)", max_length=200, required=False
    )
    website = forms.CharField(required=False, label="Leave this empty")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for q in prescreen.QUESTIONS:
            self.fields[f"pre_{q.code}"] = forms.ChoiceField(
                label=q.text,
                choices=[(a.value, prescreen.ANSWER_LABELS[a]) for a in prescreen.Answer],
                widget=forms.RadioSelect,
            )
        for n, item in enumerate(PHQ9_ITEMS, start=1):
            self.fields[f"phq9_{n}"] = forms.TypedChoiceField(
                label=f"{n}. {item.text or item.label}",
                choices=[(str(i), o.label) for i, o in enumerate(item.options)],
                coerce=int,
                required=False,
                empty_value=None,
                widget=forms.RadioSelect,
            )

    def clean_date_of_birth(self) -> datetime.date:
        born: datetime.date = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise forms.ValidationError("A date of birth cannot be in the future.")
        if born.year < 1900:
            raise forms.ValidationError("Check the year.")
        return born

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        answers = [data.get(f"phq9_{n}") for n in range(1, len(PHQ9_ITEMS) + 1)]
        if any(a is not None for a in answers) and any(a is None for a in answers):
            self.add_error(None, "Answer every question of the questionnaire, or none of them.")
        return data

    @property
    def trapped(self) -> bool:
        return bool(self.data.get("website"))

    def enquiry(self) -> tuple[dict[str, Any], list[int | None] | None]:
        """The details to keep, and the PHQ-9 answers (None if not filled in)."""
        data = self.cleaned_data
        details = {
            k: data[k]
            for k in (
                "given_name",
                "family_name",
                "date_of_birth",
                "phone",
                "email",
                "call_time",
                "seeking",
                "message",
                "referring_clinician",
            )
        }
        details["prescreen"] = {q.code: data[f"pre_{q.code}"] for q in prescreen.QUESTIONS}
        answers = [data.get(f"phq9_{n}") for n in range(1, len(PHQ9_ITEMS) + 1)]
        return details, answers if any(a is not None for a in answers) else None

    def phq9_fields(self) -> list[Any]:
        return [self[f"phq9_{n}"] for n in range(1, len(PHQ9_ITEMS) + 1)]

    def prescreen_fields(self) -> list[Any]:
        return [self[f"pre_{q.code}"] for q in prescreen.QUESTIONS]

    def detail_fields(self) -> list[Any]:
        return [
            self[n] for n in ("given_name", "family_name", "date_of_birth", "phone", "email", "call_time")
        ]


class NoteForm(forms.Form):
    note = forms.CharField(label="What was agreed on the call", max_length=300, widget=forms.TextInput)


class DeclineForm(forms.Form):
    note = forms.CharField(label="Why the clinic declines", max_length=300, widget=forms.TextInput)


class ReferForm(forms.Form):
    sex = forms.ChoiceField(label="Sex (as asked on the call)", choices=[("", "Choose"), *Sex.choices])
    consent_to_assessment = forms.BooleanField(label="Agreed on the call to an assessment", required=False)
    confirm_not_duplicate = forms.BooleanField(
        label="This is a different person from those listed", required=False
    )


class PortalSignInForm(forms.Form):
    contact = forms.CharField(
        label="Your e-mail address or mobile number",
        max_length=254,
        help_text="The one the clinic has for you.",
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class PortalCodeForm(forms.Form):
    code = forms.CharField(
        label="The 6-digit code we sent you",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ConsentSignForm(forms.Form):
    """The patient's signature: their full name typed, and that they read and understood. The
    version they read goes with it, so a newer one published meanwhile is not signed unread."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    typed_name = typed_name_field(
        label="Type your full name to sign",
        help_text="Your first and last name, as the clinic has them.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    understood = forms.BooleanField(label="I have read and understood this document", required=False)


class ConsentWithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        label="I withdraw my consent to this treatment",
        error_messages={"required": "Tick the box to withdraw your consent."},
    )
    reason = forms.CharField(
        label="Why (you do not have to say)",
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ConsentPublishForm(forms.Form):
    title = forms.CharField(max_length=120)
    body = forms.CharField(
        label="Text",
        max_length=CONSENT_BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 24}),
        help_text="Markdown: a blank line between paragraphs, ## headings, **bold**, - lists. HTML is "
        "shown as text.",
    )
    confirm = forms.BooleanField(
        label="Publish as a new version: from now on, a new course by this route starts only after "
        "the patient signs it",
        error_messages={
            "required": "Tick the box to publish: patients will be asked to sign the new version."
        },
    )


class MoveRequestForm(forms.Form):
    preferred = forms.CharField(
        label="When would suit you instead",
        max_length=PREFERRED_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For example: any morning next week, or Thursday after 2 pm.",
        error_messages={"required": "Say which days or times would suit you instead."},
    )


PROGRESS_REPORT = "progress_report"


class ShareForm(forms.Form):
    """Which document to share: the progress report as of today, or the letter of one of the
    patient's signed consultation decisions."""

    document = forms.ChoiceField(
        label="Document",
        help_text="Both are written for the referring clinician: the progress report includes the "
        "clinician-rated scales and the response labels. Share one you have gone through with the patient.",
    )

    def __init__(self, *args: Any, patient_id: int, **kwargs: Any) -> None:
        from ketacare.screening.models import CandidacyDecision

        super().__init__(*args, **kwargs)
        decisions = CandidacyDecision.objects.filter(patient_id=patient_id).order_by("-signed_at", "-id")
        field: Any = self.fields["document"]
        field.choices = [(PROGRESS_REPORT, "Progress report, as of today")] + [
            (
                f"decision:{d.pk}",
                f"Consultation letter: {d.get_decision_display().lower()}, signed "
                f"{timezone.localtime(d.signed_at):%-d %b %Y}",
            )
            for d in decisions.only("id", "decision", "signed_at")
        ]

    def choice(self) -> dict[str, Any]:
        """The chosen document as `document_share`'s arguments."""
        value = self.cleaned_data["document"]
        if value == PROGRESS_REPORT:
            return {"kind": PROGRESS_REPORT}
        return {"kind": "consultation_letter", "decision_id": int(value.removeprefix("decision:"))}
