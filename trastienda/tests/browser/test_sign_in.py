"""Signing in and out in the browser, and the lockout after repeated wrong passwords."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axes.models import AccessAttempt
from playwright.sync_api import expect

from trastienda.conftest import PASSWORD
from trastienda.tests.browser.pages import sign_out, submit_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WRONG = "Not-The-Password-1"


def test_sign_in_goes_to_the_page_asked_for_and_sign_out_ends_the_session(
    page: Any, marta: Any, shoot: Any
) -> None:
    page.goto("/c/ACME/documents/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/c/ACME/documents/$"))
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#user-menu")).to_have_count(0)  # no shell for anonymous visitors
    shoot(page, "login")

    submit_login(page, "marta", WRONG)
    expect(page.get_by_role("alert")).to_have_text("The username or password is not correct.")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    # The username is kept, the password is not sent back to the browser.
    expect(page.locator("input[name=username]")).to_have_value("marta")
    expect(page.locator("input[name=password]")).to_have_value("")

    submit_login(page, "marta", PASSWORD)
    expect(page).to_have_url(re.compile(r"/c/ACME/documents/$"))
    expect(page.locator("#user-menu")).to_have_text(re.compile(r"Marta Gómez"))
    expect(page.locator("h1")).to_have_text("Documents")
    # The failure before the success is forgotten (django-axes resets the username's count).
    assert AccessAttempt.objects.filter(username="marta").count() == 0

    sign_out(page)
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto("/c/ACME/documents/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))


def test_repeated_wrong_passwords_lock_the_username_out(
    page: Any, marta: Any, make_user: Any, acme: Any, settings: Any, shoot: Any
) -> None:
    settings.TRASTIENDA_LOCKOUT_USERNAME_FAILURES = 3  # read on every request
    make_user("jorge", company=acme, role="clerk")

    for _attempt in (1, 2):
        submit_login(page, "marta", WRONG)
        expect(page.get_by_role("alert")).to_have_text("The username or password is not correct.")

    with page.expect_response(lambda r: r.request.method == "POST") as third:
        submit_login(page, "marta", WRONG)
    assert third.value.status == 429
    assert int(third.value.headers["retry-after"]) == 15 * 60
    expect(page.locator("h1")).to_have_text("Too many attempts")
    expect(page.locator("#lockout-message")).to_have_text(
        "Too many failed sign-in attempts. For your security, signing in is blocked for up to "
        "15 minutes."
    )
    shoot(page, "locked-out")

    # Now even the right password is refused, with the same page, and nothing is signed in.
    page.goto("/accounts/login/")
    with page.expect_response(lambda r: r.request.method == "POST") as fourth:
        submit_login(page, "marta", PASSWORD)
    assert fourth.value.status == 429
    expect(page.locator("#lockout-message")).to_be_visible()
    page.goto("/c/ACME/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/c/ACME/$"))

    # The lock is on the username: another person at the same address still signs in.
    submit_login(page, "jorge", PASSWORD)
    expect(page).to_have_url(re.compile(r"/c/ACME/$"))
    expect(page.locator("#user-menu")).to_have_text(re.compile(r"jorge"))
