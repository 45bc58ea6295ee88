"""What the browser tests do on Trastienda's pages: sign in, sign out, read a TOTP secret."""

from __future__ import annotations

from base64 import b32decode
from typing import Any
from urllib.parse import urlsplit

from django_otp.oath import TOTP

LOGIN_PATH = "/accounts/login/"


def submit_login(page: Any, username: str, password: str) -> None:
    """Fill the sign-in form and submit it, without judging the outcome."""
    if urlsplit(page.url).path != LOGIN_PATH:
        page.goto(LOGIN_PATH)
    form = page.locator("form").filter(has=page.locator("input[name=password]"))
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation():  # a POST that answers a page or a redirect
        form.locator("#sign-in").click()


def sign_out(page: Any) -> None:
    """Sign out through the user menu of the shell."""
    page.locator("#user-menu").click()
    page.locator("#logout").click()
    page.wait_for_url(lambda url: urlsplit(url).path == LOGIN_PATH)


def totp_code(secret: str, *, steps_ahead: int = 0) -> str:
    """The 6-digit code an authenticator app shows for ``secret`` (base32, as on the page).

    ``steps_ahead=1`` gives the next 30-second step's code, which the server still accepts
    (tolerance of one step) after the current one has been used.
    """
    key = secret.replace(" ", "").upper()
    totp = TOTP(b32decode(key + "=" * (-len(key) % 8)), drift=steps_ahead)
    return f"{totp.token():06d}"
