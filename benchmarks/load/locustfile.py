"""A clinic's day for `make load` (benchmarks/load/run.py makes the accounts and starts the server).

Each simulated user is one staff member on their own account: the sign-in page, the password, the
authenticator code (django-otp refuses a code used twice in one 30-second step on one device, so
every user has its own device and signs in once), then searches, charts, rating scales and, for a
physician, the outcomes dashboard, with a few seconds between pages as at a real desk.

A request fails on any status other than 2xx/3xx, and on any page that lands back on the sign-in
or code page (a lost session looks like a 200 there). run.py writes the plan this file reads
(KETACARE_LOAD_PLAN): the accounts with their passwords and TOTP keys, and the seeded surnames.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

from django_otp.oath import totp
from locust import HttpUser, between, task
from locust.exception import StopUser

with open(os.environ["KETACARE_LOAD_PLAN"]) as _plan_file:
    PLAN: dict[str, Any] = json.load(_plan_file)
_ACCOUNTS: list[dict[str, str]] = list(PLAN["accounts"])
SURNAMES: list[str] = PLAN["surnames"]

LOGIN = "/accounts/login/"
TWO_FACTOR = "/accounts/two-factor/"
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CHART_LINK = re.compile(r'href="/patients/(\d+)/"')

# Scales a nurse or physician types in from a paper form, with their item counts. Item 9 of the
# PHQ-9 (thoughts of self-harm) is answered "not at all", so the load raises no safety alerts.
SCALES = {"phq9": 9, "gad7": 7}

# What each role does once signed in (relative weights). The front desk may search and open
# charts but not enter scores or see the outcome figures (accounts/roles.py).
WORK: dict[str, dict[str, int]] = {
    "front_desk": {"search": 6, "chart": 4},
    "nurse": {"search": 4, "chart": 4, "scale": 3},
    "physician": {"search": 3, "chart": 4, "scale": 2, "outcomes": 1},
}


class ClinicStaff(HttpUser):
    # Seconds on a page before the next (run.py --wait): reading a chart, talking to a patient.
    wait_time = between(*PLAN["wait_s"])

    def on_start(self) -> None:
        if not _ACCOUNTS:
            raise StopUser("more users than load accounts: run.py makes one account per user")
        self.account = _ACCOUNTS.pop(0)
        self.work = WORK[self.account["role"]]
        self.seen: list[int] = []  # chart ids from this user's searches
        self.sign_in()

    # -- Sign-in ------------------------------------------------------------------------------

    def _csrf(self, html: str) -> str | None:
        match = _CSRF.search(html)
        return match.group(1) if match else None

    def sign_in(self) -> None:
        with self.client.get(LOGIN, name="sign-in page", catch_response=True) as page:
            token = self._csrf(page.text)
            if page.status_code != 200 or token is None:
                page.failure(
                    f"sign-in page: {page.status_code}, CSRF token {'found' if token else 'missing'}"
                )
                raise StopUser
        with self.client.post(
            LOGIN,
            data={
                "username": self.account["username"],
                "password": self.account["password"],
                "csrfmiddlewaretoken": token,
                "next": "",
            },
            name="sign-in password",
            allow_redirects=False,
            catch_response=True,
        ) as sent:
            if sent.status_code != 302:
                sent.failure(f"password refused: {sent.status_code} (expected a redirect)")
                raise StopUser
            target = urljoin(LOGIN, sent.headers["Location"])
        # The password alone leads to the code page (straight there, or through the home page).
        with self.client.get(target, name="sign-in code page", catch_response=True) as page:
            token = self._csrf(page.text)
            if page.status_code != 200 or urlsplit(page.url).path != TWO_FACTOR or token is None:
                page.failure(f"expected the code page, got {page.status_code} at {urlsplit(page.url).path}")
                raise StopUser
            code_url = page.url
        code = totp(bytes.fromhex(self.account["totp_key"]))
        with self.client.post(
            code_url,
            data={"code": f"{code:06d}", "csrfmiddlewaretoken": token},
            name="sign-in code",
            allow_redirects=False,
            catch_response=True,
        ) as sent:
            location = sent.headers.get("Location", "")
            if sent.status_code != 302 or urlsplit(location).path in (LOGIN, TWO_FACTOR):
                sent.failure(f"code refused: {sent.status_code} {urlsplit(location).path}")
                raise StopUser
        self.page(urljoin(code_url, location), "home")

    # -- Pages ---------------------------------------------------------------------------------

    def page(self, path: str, name: str, expect: Callable[[Any], str | None] | None = None) -> Any:
        """GET a signed-in page; a failure unless it answers 2xx/3xx on the page asked for (and
        `expect`, given the response, finds nothing wrong)."""
        with self.client.get(path, name=name, catch_response=True) as response:
            landed = urlsplit(response.url or "").path
            if landed in (LOGIN, TWO_FACTOR):
                response.failure(f"signed out: landed on {landed}")
            elif not 200 <= response.status_code < 400:
                response.failure(f"status {response.status_code}")
            elif expect is not None and (problem := expect(response)):
                response.failure(problem)
            return response

    @task
    def work_step(self) -> None:
        action = random.choices(list(self.work), weights=list(self.work.values()))[0]
        getattr(self, action)()

    def search(self) -> None:
        surname = random.choice(SURNAMES)
        found: list[int] = []

        def some_found(response: Any) -> str | None:
            found.extend(int(i) for i in _CHART_LINK.findall(response.text or ""))
            return None if found else f"no patient found for a seeded surname ({surname})"

        self.page(f"/patients/?q={surname}", "search /patients/?q=[surname]", some_found)
        self.seen = (found + self.seen)[:50]

    def _patient(self) -> int:
        if not self.seen:
            self.search()
        return random.choice(self.seen) if self.seen else 1

    def chart(self) -> None:
        self.page(f"/patients/{self._patient()}/", "chart /patients/[id]/")

    def scale(self) -> None:
        patient = self._patient()
        code = random.choice(list(SCALES))
        form_url = f"/patients/{patient}/measures/new/?instrument={code}"
        form = self.page(
            form_url,
            "scale form /patients/[id]/measures/new/",
            lambda r: None if self._csrf(r.text or "") else "the scale page has no form",
        )
        token = self._csrf(form.text or "")
        if token is None:
            return  # counted as a failure already
        answers = {f"item_{i}": str(random.randint(0, 3)) for i in range(1, SCALES[code] + 1)}
        if code == "phq9":
            answers["item_9"] = "0"
        data = {
            **answers,
            "instrument": code,
            "context": "follow_up",
            "minutes_after_dose": "",
            # The form's own default: now, in the clinic's time (UTC unless KETACARE_TIME_ZONE).
            "administered_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M"),
            "csrfmiddlewaretoken": token,
        }
        with self.client.post(
            form_url,
            data=data,
            name="scale submit /patients/[id]/measures/new/",
            allow_redirects=False,
            catch_response=True,
        ) as sent:
            location = urlsplit(sent.headers.get("Location", "")).path
            if sent.status_code != 302 or location != f"/patients/{patient}/":
                sent.failure(f"scale not recorded: {sent.status_code} {location or '(no redirect)'}")
                return
        self.page(f"/patients/{patient}/", "chart /patients/[id]/")

    def outcomes(self) -> None:
        self.page("/outcomes/", "outcomes dashboard /outcomes/")
