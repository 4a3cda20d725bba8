from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "That username and password do not match. Both are case-sensitive.",
        "inactive": "This account is switched off. Ask the clinic admin.",
    }
