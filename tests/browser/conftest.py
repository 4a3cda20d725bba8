"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it
# are ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("KETACARE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make chromium` (Debian package).")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, request: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def enter_code(page: Any, username: str) -> None:
    """The second step of signing in: the code the account's authenticator shows now. Each call
    gives the account a fresh authenticator, so signing in twice within one 30-second step is not
    refused as a replayed code (tests/accounts/test_two_factor.py tests the refusal)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from ketacare.accounts.models import User
    from tests.conftest import totp_code

    user = User.objects.get(username=username)
    TOTPDevice.objects.filter(user=user).delete()
    code = totp_code(user)
    if "/accounts/two-factor/setup/" in page.url:  # a first sign-in: the authenticator is set up now
        page.goto(page.url.replace("/two-factor/setup/", "/two-factor/"))
    page.get_by_label("Code").fill(code)
    page.get_by_label("Code").press("Enter")


def portal_sign_in(page: Any, base_url: str, patient: Any) -> None:
    """A patient signs in to their portal page: e-mail and date of birth, then the code the clinic
    e-mailed them (Django's test outbox)."""
    import re

    from django.core import mail

    page.goto(f"{base_url}/my/sign-in/")
    page.get_by_label("Your e-mail address or mobile number").fill(patient.email)
    page.get_by_label("Date of birth").fill(patient.date_of_birth.isoformat())
    page.get_by_role("button", name="Send me a code").click()
    page.get_by_label("The 6-digit code we sent you").fill(
        re.search(r"code is (\d{6})", mail.outbox[-1].body)[1]
    )
    page.get_by_role("button", name="Sign in").click()
