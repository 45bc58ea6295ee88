"""Two-factor authentication: an administrator must enrol an authenticator app before working,
gets recovery codes, and from then on signs in with a code from the app or a recovery code."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from trastienda.conftest import PASSWORD
from trastienda.tests.browser.pages import sign_out, submit_login, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_administrator_enrols_and_then_signs_in_with_a_code_or_a_recovery_code(
    page: Any, make_user: Any, acme: Any, shoot: Any
) -> None:
    lucia = make_user(
        "lucia", company=acme, role="administrator", first_name="Lucía", last_name="Martín"
    )

    # --- the password alone leads to enrolment, and nowhere else --------------------------
    submit_login(page, "lucia", PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/security/two-factor/\?next="))
    expect(page.get_by_role("alert")).to_contain_text(
        "Your role requires two-factor authentication."
    )
    page.goto("/c/ACME/documents/")
    expect(page).to_have_url(
        re.compile(r"/accounts/security/two-factor/\?next=%2Fc%2FACME%2Fdocuments%2F$")
    )

    page.locator("#start-setup").click()
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    expect(qr).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", secret), secret
    shoot(page, "two-factor-setup")
    device = TOTPDevice.objects.get(user=lucia)
    assert device.confirmed is False
    assert secret.replace(" ", "") in device.config_url  # the key shown is the new device's

    page.locator("input[name=code]").fill("12345")  # too short: refused, nothing confirmed
    page.locator("#confirm-setup").click()
    error = page.locator(".invalid-feedback")
    expect(error).to_have_text("Enter the 6-digit code shown by the app.")
    device.refresh_from_db()
    assert device.confirmed is False

    page.locator("input[name=code]").fill(totp_code(secret))
    page.locator("#confirm-setup").click()
    expect(page.locator("h1")).to_have_text("Your recovery codes")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    assert all(re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}", code) for code in codes), codes
    shoot(page, "two-factor-recovery-codes")
    device.refresh_from_db()
    assert device.confirmed is True
    assert StaticToken.objects.filter(device__user=lucia).count() == 10

    page.get_by_role("link", name="I have saved them — continue").click()
    expect(page).to_have_url(re.compile(r"/c/ACME/documents/$"))  # where she was going
    expect(page.locator("h1")).to_have_text("Documents")
    page.goto("/accounts/security/")
    expect(page.locator("#two-factor-state")).to_have_text("On")
    expect(page.locator("main")).to_contain_text("10 recovery codes left.")

    # --- next sign-in: password, then a code from the app ---------------------------------
    sign_out(page)
    submit_login(page, "lucia", PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/login/code/$"))
    # A wrong code is refused (any 6 digits the app does not show now).
    valid = {totp_code(secret, steps_ahead=n) for n in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
    page.locator("input[name=code]").fill(wrong)
    page.locator("#verify").click()
    expect(page.locator(".invalid-feedback")).to_have_text("That code is not right.")
    expect(page.locator("#user-menu")).to_have_count(0)  # still not signed in
    page.wait_for_timeout(1100)  # django-otp makes a device wait 1 s after a wrong code
    # The code of the enrolment's time step was used already; the next step's is accepted.
    page.locator("input[name=code]").fill(totp_code(secret, steps_ahead=1))
    page.locator("#verify").click()
    expect(page).to_have_url(re.compile(r"/c/ACME/$"))
    expect(page.locator("#user-menu")).to_have_text(re.compile(r"Lucía Martín"))

    # --- and with a recovery code, which then stops working --------------------------------
    sign_out(page)
    submit_login(page, "lucia", PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/login/code/$"))
    page.locator("input[name=code]").fill(codes[0].upper())  # as typed from paper
    page.locator("#verify").click()
    expect(page).to_have_url(re.compile(r"/c/ACME/$"))
    expect(page.get_by_role("alert")).to_contain_text(
        "You used a recovery code; 9 are left. Make new ones on your security page."
    )
    assert StaticToken.objects.filter(device__user=lucia).count() == 9

    sign_out(page)
    submit_login(page, "lucia", PASSWORD)
    page.locator("input[name=code]").fill(codes[0])
    page.locator("#verify").click()
    expect(page.locator(".invalid-feedback")).to_have_text("That code is not right.")
    expect(page).to_have_url(re.compile(r"/accounts/login/code/$"))
