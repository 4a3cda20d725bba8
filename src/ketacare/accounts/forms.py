from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from ketacare.accounts.roles import Role


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "That username and password do not match. Both are case-sensitive.",
        "inactive": "This account is switched off. Ask the clinic admin.",
    }


class StaffForm(forms.Form):
    """A new staff account (the clinic admin makes it; the person changes the password later)."""

    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=[("", "Choose a role"), *Role.choices])  # no silent default
    password = forms.CharField(
        label="First password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters; not common, not like the name, not 1234 or qwerty.",
    )
    password_again = forms.CharField(
        label="First password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "The two passwords differ.")
        return data


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class CodeForm(forms.Form):
    """The second factor: the authenticator's 6-digit code, or a recovery code."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "size": 10}
        ),
    )


class ApiTokenForm(forms.Form):
    """Another system's API token: its name, the role whose permissions it has, and its scope."""

    system = forms.SlugField(
        label="System name",
        max_length=60,
        help_text="Short, lower case, no spaces (for example payer-portal). The audit trail and "
        "each patient's disclosures name it.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    description = forms.CharField(
        max_length=200, required=False, help_text="Who runs it and what for, for example Acme payer portal."
    )
    role = forms.ChoiceField(
        choices=[("", "Choose a role"), *Role.choices],
        help_text="The system may do what this role may do in the pages, and nothing more.",
    )
    scope = forms.ChoiceField(
        choices=[("", "Choose a scope"), ("read", "Read only"), ("read_write", "Read and write")],
        help_text="Read only: the system can read but never change a record, whatever its role.",
    )
    expires_on = forms.DateField(
        label="Last day",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional: the token stops working after this day.",
    )
