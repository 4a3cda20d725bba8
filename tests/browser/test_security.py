"""Signing in as a clinic would see it: a password and an authenticator code set up at the first
sign-in; a lockout after repeated wrong passwords; a clinic admin who unlocks the account and
changes its role, both seen in the audit trail; the person back in with a recovery code."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from ketacare.audit.models import AuditEvent
from tests.browser.conftest import enter_code
from tests.conftest import PASSWORD


def _password(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.django_db(transaction=True)
def test_two_factor_sign_in_lockout_and_an_admin_unlock_and_role_change(live_server, browser, make_user):
    nurse = make_user(Role.NURSE, "nurse.rivera")
    admin = make_user(Role.CLINIC_ADMIN, "admin.chen")
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()

    # First sign-in: the password, then setting up the authenticator from the page's key.
    _password(page, f"{base}/patients/", nurse.username, PASSWORD)
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("code.otp-secret").inner_text().replace(" ", "")
    code = f"{TOTP(base64.b32decode(secret)).token():06d}"
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is set up")).to_be_visible()
    recovery = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(recovery) == 10
    page.get_by_role("button", name="I have kept them: go on").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    page.get_by_role("button", name=re.compile("Sign out")).click()

    # Someone guesses the password: after five failures even the right one is refused.
    for n in range(5):
        _password(page, f"{base}/accounts/login/", nurse.username, f"guess-number-{n}")
    expect(page.get_by_text("Sign-in is paused")).to_be_visible()
    _password(page, f"{base}/accounts/login/", nurse.username, PASSWORD)
    expect(page.get_by_text("Sign-in is paused")).to_be_visible()

    # The clinic admin, signed in with both factors, unlocks the account and makes it a physician.
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin_context.set_default_timeout(10_000)
    desk = admin_context.new_page()
    _password(desk, f"{base}/accounts/staff/", admin.username, PASSWORD)
    enter_code(desk, admin.username)
    expect(desk.get_by_role("heading", name="Staff accounts")).to_be_visible()
    desk.get_by_role("link", name=nurse.username).click()
    expect(desk.get_by_text("locked out after failed sign-ins")).to_be_visible()
    desk.get_by_role("button", name="Unlock sign-in").click()
    expect(desk.get_by_text(f"{nurse.username} can sign in again.")).to_be_visible()
    desk.get_by_label("Role").select_option(Role.PHYSICIAN.value)
    desk.get_by_role("button", name="Change the role").click()
    expect(desk.get_by_text(f"{nurse.username} is now physician.")).to_be_visible()

    # Both are in the audit trail, with who did them.
    desk.get_by_role("link", name="Audit trail").click()
    desk.get_by_label("User").fill(admin.username)
    desk.get_by_role("button", name="Filter").click()
    rows = desk.locator("table tbody tr")
    expect(rows.filter(has_text="unlocked")).to_have_count(1)
    expect(rows.filter(has_text="role: physician").filter(has_text="role before: nurse")).to_have_count(1)
    events = AuditEvent.objects.filter(actor_label=admin.username, object_id=str(nurse.pk))
    assert {"unlocked", "role"} <= {k for e in events for k in e.detail}

    # The person signs in again: the password, and one of the recovery codes (used up).
    _password(page, f"{base}/patients/", nurse.username, PASSWORD)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill(recovery[0])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("You signed in with a recovery code: 9 left.")).to_be_visible()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    admin_context.close()
    context.close()
