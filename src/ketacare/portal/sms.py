"""Sending a text message: a small backend interface (as Django's e-mail backends), chosen with
KETACARE_SMS_BACKEND. The console backend (the default, and the demo's) writes the message to
standard output; the Twilio backend posts it to Twilio's Messages API."""

from __future__ import annotations

import base64
import json
import sys
import urllib.parse
import urllib.request
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The provider did not take the message (the reason, without the message's text)."""


class SmsBackend(Protocol):
    def send(self, to: str, body: str) -> None: ...


class ConsoleBackend:
    def send(self, to: str, body: str) -> None:
        sys.stdout.write(f"SMS to {to}:\n{body}\n{'-' * 60}\n")
        sys.stdout.flush()


class TwilioBackend:
    """Twilio's Messages API (https://www.twilio.com/docs/messaging/api/message-resource): the
    account SID, auth token and sending number from KETACARE_TWILIO_SID, _TOKEN and _FROM."""

    URL = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"

    def send(self, to: str, body: str) -> None:
        sid, token, sender = settings.TWILIO_SID, settings.TWILIO_TOKEN, settings.TWILIO_FROM
        if not (sid and token and sender):
            raise SmsError("Twilio is not configured (KETACARE_TWILIO_SID, _TOKEN, _FROM)")
        data = urllib.parse.urlencode({"To": to, "From": sender, "Body": body}).encode()
        request = urllib.request.Request(self.URL.format(sid=sid), data=data, method="POST")  # noqa: S310
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310 - a fixed https URL
                status = json.loads(answer.read() or b"{}").get("status", "")
        except Exception as exc:  # noqa: BLE001 - any failure is a failed send, retried later
            raise SmsError(f"Twilio: {type(exc).__name__}: {str(exc)[:150]}") from None
        if status in ("failed", "undelivered"):
            raise SmsError(f"Twilio: message {status}")


def backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()  # type: ignore[no-any-return]
