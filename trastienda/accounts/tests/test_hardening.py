"""Web hardening: CSP, no inline code, deployment checks, the admin site, reserved names."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from trastienda.accounts.admin import UserCreationForm
from trastienda.accounts.tests.helpers import PASSWORD, post_login, random_ip, totp_now, wrong_code
from trastienda.core import services as core_services

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]


def csp_directives(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.strip().split()
        directives[name] = values
    return directives


def assert_no_inline_code(body: str) -> None:
    for tag in re.findall(r"<script\b[^>]*>", body):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son\w+\s*=", body), "inline event handler"
    assert not re.search(r"\sstyle\s*=", body), "inline style attribute"
    assert "<style" not in body


def test_csp_header_without_unsafe_inline(client: Client) -> None:
    response = client.get("/accounts/login/")
    directives = csp_directives(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_our_pages_have_no_inline_script_or_style(client: Client, enrolled: Any) -> None:
    pages = [
        client.get(url)
        for url in (
            "/accounts/login/",
            "/accounts/password/reset/",
            "/accounts/password/reset/sent/",
            "/accounts/password/reset/done/",
            "/manage/login/",
        )
    ]
    _user, device, _codes = enrolled("lucia")
    post_login(client, "lucia", PASSWORD)
    pages.append(client.get("/accounts/login/code/"))
    client.post("/accounts/login/code/", {"code": totp_now(device)})
    pages += [
        client.get("/accounts/security/"),
        client.get("/accounts/password/change/"),
        client.post("/accounts/security/recovery-codes/"),
    ]
    fresh = Client()
    other = get_user_model().objects.create_user("pablo", password=PASSWORD)
    fresh.force_login(other)
    fresh.post("/accounts/security/two-factor/", {"action": "start"})
    pages.append(fresh.get("/accounts/security/two-factor/"))  # with the QR code
    for response in pages:
        assert response.status_code == 200, response.request["PATH_INFO"]
        assert "unsafe-inline" not in response["Content-Security-Policy"]
        assert_no_inline_code(response.content.decode())
    assert "<svg" in pages[-1].content.decode()


def test_lockout_page_extends_the_shell(client: Client, settings: Any) -> None:
    settings.TRASTIENDA_LOCKOUT_USERNAME_FAILURES = 1
    response = post_login(client, "nobody", "wrong-password-1")
    assert response.status_code == 429
    names = [t.name for t in response.templates]
    assert names[names.index("accounts/locked_out.html") + 1] == "base.html"
    assert_no_inline_code(response.content.decode())


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DEBUG", "DJANGO_"))}
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "trastienda.settings",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "backoffice.example.com",
            "TRASTIENDA_VAR_DIR": str(tmp_path),
            **env,
        }
    )
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "trastienda", *args],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_cookies_and_hsts(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.PASSWORD_HASHERS[0])"
    )
    result = _run(["shell", "--no-imports", "-c", code], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "True",
        "True",
        "31536000",
        "True",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]


# --- the Django admin -----------------------------------------------------------------------------


def admin_login(client: Client, username: str, password: str, code: str, **extra: Any) -> Any:
    return client.post(
        "/manage/login/?next=/manage/",
        {"username": username, "password": password, "otp_token": code},
        **extra,
    )


def test_admin_needs_password_and_code(client: Client, enrolled: Any) -> None:
    user, device, _codes = enrolled("carmen", is_staff=True)
    assert client.get("/manage/").status_code == 302
    response = admin_login(client, "carmen", PASSWORD, "")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    response = admin_login(client, "carmen", PASSWORD, totp_now(device))
    assert response.status_code == 302
    assert response["Location"] == "/manage/"
    assert client.get("/manage/").status_code == 200
    assert client.session["otp_device_id"] == device.persistent_id
    assert user.is_superuser


def test_admin_refuses_a_session_without_second_factor(client: Client, make_user: Any) -> None:
    staff = make_user("carmen", is_staff=True)
    client.force_login(staff)
    response = client.get("/manage/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/security/two-factor/")


def test_admin_site_is_otp_admin(settings: Any) -> None:
    from django.contrib import admin
    from django_otp.admin import OTPAdminSite

    assert isinstance(admin.site, OTPAdminSite)
    assert settings.TRASTIENDA_ADMIN_URL == "manage/"


def test_admin_login_lockout_with_forged_forwarded_for(
    client: Client, enrolled: Any, settings: Any
) -> None:
    settings.TRASTIENDA_LOCKOUT_USERNAME_FAILURES = 4
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    _user, device, _codes = enrolled("carmen", is_staff=True)
    peer = {"REMOTE_ADDR": "198.51.100.7"}
    statuses = []
    for attempt in range(4):
        password, code = (PASSWORD, wrong_code(device)) if attempt % 2 else ("bad-pass-123", "")
        response = admin_login(
            client, "carmen", password, code, HTTP_X_FORWARDED_FOR=random_ip(), **peer
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429]
    response = admin_login(
        client, "carmen", PASSWORD, totp_now(device), HTTP_X_FORWARDED_FOR=random_ip(), **peer
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


# --- no account named admin -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["admin", "Admin", " ADMIN ", "root", "administrator"])
def test_user_create_refuses_reserved_names(name: str) -> None:
    with pytest.raises(ValidationError) as exc:
        core_services.user_create(username=name, password=PASSWORD)
    assert "username" in exc.value.message_dict
    assert not get_user_model().objects.exists()


def test_no_other_path_creates_admin(make_user: Any) -> None:
    user_model = get_user_model()
    with pytest.raises(ValidationError):
        user_model.objects.create_user("admin", password=PASSWORD)
    with pytest.raises(CommandError, match="reserved"):
        call_command(
            "createsuperuser",
            username="admin",
            email="a@example.com",
            interactive=False,
            verbosity=0,
        )
    form = UserCreationForm(
        data={
            "username": "Admin",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
        }
    )
    assert not form.is_valid()
    assert "username" in form.errors
    user = make_user("marta")
    user.username = "admin"
    with pytest.raises(ValidationError):
        user.save()
    assert list(user_model.objects.values_list("username", flat=True)) == ["marta"]
