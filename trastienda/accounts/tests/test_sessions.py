"""Sign-in sessions: key rotation, sign-out, CSRF, idle and absolute timeouts, the sessions list."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client

from trastienda.accounts.middleware import LAST_SEEN, LOGIN_AT
from trastienda.accounts.models import UserSession
from trastienda.accounts.tests.helpers import PASSWORD, post_login
from trastienda.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def signed_in(make_user: Any, username: str = "marta", **kw: Any) -> tuple[Any, Client]:
    user = make_user(username, **kw)
    client = Client()
    assert post_login(client, username, PASSWORD).status_code == 302
    return user, client


def test_login_rotates_the_session_key(client: Client, make_user: Any) -> None:
    user = make_user("marta")
    session = client.session
    session["before_login"] = "kept"
    session.save()
    before = session.session_key
    response = post_login(client, "marta", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/core/home/"
    after = client.session.session_key
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.session[SESSION_KEY] == str(user.pk)
    assert isinstance(client.session[LOGIN_AT], int)
    assert AuditEntry.objects.filter(action="login", username="marta").count() == 1


def test_login_follows_a_safe_next_only(client: Client, make_user: Any) -> None:
    make_user("marta")
    response = client.post(
        "/accounts/login/?next=/accounts/security/",
        {"username": "marta", "password": PASSWORD},
    )
    assert response["Location"] == "/accounts/security/"
    other = Client()
    response = other.post(
        "/accounts/login/?next=https://evil.example/",
        {"username": "marta", "password": PASSWORD},
    )
    assert response["Location"] == "/core/home/"


def test_login_page_renders_a_bootstrap_card(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="card shadow-sm' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert 'href="/accounts/password/reset/"' in body


def test_logout_by_get_is_refused(make_user: Any) -> None:
    user, client = signed_in(make_user)
    response = client.get("/accounts/logout/")
    assert response.status_code == 405
    assert client.session[SESSION_KEY] == str(user.pk)
    assert not AuditEntry.objects.filter(action="logout").exists()


def test_logout_by_post_ends_the_session(make_user: Any) -> None:
    _user, client = signed_in(make_user)
    client.get("/accounts/security/")
    old_key = client.session.session_key
    assert UserSession.objects.filter(session_key=old_key).count() == 1
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert SESSION_KEY not in client.session
    assert not Session.objects.filter(session_key=old_key).exists()
    assert not UserSession.objects.filter(session_key=old_key).exists()
    assert AuditEntry.objects.filter(action="logout", username="marta").count() == 1
    # Replaying the old cookie does not sign anyone in.
    replay = Client()
    replay.cookies["sessionid"] = old_key
    assert replay.get("/accounts/security/").status_code == 302


def test_csrf_is_enforced_on_login_and_logout(csrf_client: Client, make_user: Any) -> None:
    user = make_user("marta")
    response = post_login(csrf_client, "marta", PASSWORD)
    assert response.status_code == 403
    assert SESSION_KEY not in csrf_client.session

    page = csrf_client.get("/accounts/login/")
    token = page.context["csrf_token"]
    response = csrf_client.post(
        "/accounts/login/",
        {"username": "marta", "password": PASSWORD, "csrfmiddlewaretoken": str(token)},
    )
    assert response.status_code == 302
    assert csrf_client.session[SESSION_KEY] == str(user.pk)

    assert csrf_client.post("/accounts/logout/").status_code == 403
    assert csrf_client.session[SESSION_KEY] == str(user.pk)
    token = csrf_client.get("/accounts/security/").context["csrf_token"]
    response = csrf_client.post("/accounts/logout/", {"csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302
    assert SESSION_KEY not in csrf_client.session


def _shift(client: Client, key: str, seconds: int) -> None:
    session = client.session
    session[key] = int(time.time()) - seconds
    session.save()


def test_idle_timeout(make_user: Any, settings: Any) -> None:
    settings.SESSION_COOKIE_AGE = 600
    _user, client = signed_in(make_user)
    _shift(client, LAST_SEEN, 599)
    assert client.get("/accounts/security/").status_code == 200  # activity refreshes it
    _shift(client, LAST_SEEN, 601)
    response = client.get("/accounts/security/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert SESSION_KEY not in client.session
    assert "Your session expired" in client.get("/accounts/login/").content.decode()
    assert AuditEntry.objects.filter(action="logout", username="marta").count() == 1


def test_idle_timeout_is_the_session_cookie_age(make_user: Any, settings: Any) -> None:
    _user, client = signed_in(make_user)
    client.get("/accounts/security/")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_absolute_timeout_even_when_active(make_user: Any, settings: Any) -> None:
    settings.TRASTIENDA_SESSION_ABSOLUTE_SECONDS = 3600
    _user, client = signed_in(make_user)
    _shift(client, LOGIN_AT, 3599)
    assert client.get("/accounts/security/").status_code == 200
    _shift(client, LOGIN_AT, 3601)
    _shift(client, LAST_SEEN, 1)  # active a second ago: the absolute limit still applies
    response = client.get("/accounts/security/")
    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_security_page_counts_active_sessions(make_user: Any) -> None:
    user, first = signed_in(make_user)
    second = Client()
    assert post_login(second, "marta", PASSWORD).status_code == 302
    second.get("/accounts/security/")
    response = first.get("/accounts/security/")
    assert response.context["session_count"] == 2
    assert "2 active sessions." in response.content.decode()

    response = first.post("/accounts/security/sessions/end/")
    assert response.status_code == 302
    assert list(UserSession.objects.filter(user=user).values_list("session_key", flat=True)) == [
        first.session.session_key
    ]
    assert second.get("/accounts/security/").status_code == 302  # signed out
    assert first.get("/accounts/security/").context["session_count"] == 1


def test_state_changing_urls_refuse_get(make_user: Any) -> None:
    _user, client = signed_in(make_user)
    for url in (
        "/accounts/logout/",
        "/accounts/security/sessions/end/",
        "/accounts/security/recovery-codes/",
        "/accounts/security/two-factor/disable/",
    ):
        assert client.get(url).status_code == 405, url


def test_user_language_beats_the_browser(make_user: Any) -> None:
    _user, client = signed_in(make_user, language="it")
    response = client.get("/accounts/security/", HTTP_ACCEPT_LANGUAGE="es")
    assert response["Content-Language"] == "it"
    _other, plain = signed_in(make_user, "pablo")
    response = plain.get("/accounts/security/", HTTP_ACCEPT_LANGUAGE="es")
    assert response["Content-Language"] == "es"
