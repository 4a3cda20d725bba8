"""The idle sign-out in the browser: a minute's warning (here, with the timeout shortened, half of
it), a key pressed keeps the person signed in, and an unattended screen goes to the sign-in page
even while the Today board polls on its own."""

import pytest
from playwright.sync_api import expect

from ketacare.accounts.roles import Role
from tests.browser.test_session import sign_in


@pytest.mark.django_db(transaction=True)
def test_the_screen_warns_then_signs_out_and_a_key_keeps_it(
    live_server, page, make_user, settings, monkeypatch
):
    from ketacare.web import today

    monkeypatch.setattr(today, "POLL_SECONDS", 1)  # the board polls throughout: it is not a person
    settings.IDLE_TIMEOUT_MINUTES = 0.1  # 6 seconds; the warning after 3
    make_user(Role.NURSE, username="nurseidle")
    sign_in(page, live_server.url + "/", "nurseidle")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Today")
    notice = page.locator(".idle-notice")
    expect(notice).to_be_visible(timeout=5_000)
    expect(notice).to_contain_text("signed out in a minute")
    page.keyboard.press("Shift")  # a person at the screen
    expect(notice).to_be_hidden()
    assert "/accounts/login/" not in page.url
    page.wait_for_url("**/accounts/login/?idle=1", timeout=10_000)
