"""Password change (other sessions end) and password reset by e-mail (throttled, no oracle)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client

from trastienda.accounts.tests.helpers import PASSWORD, post_login, random_ip
from trastienda.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-Long-Secret-42"


def signed_in(username: str) -> Client:
    client = Client()
    assert post_login(client, username, PASSWORD).status_code == 302
    client.get("/accounts/security/")
    return client


def test_password_change_keeps_this_session_and_ends_the_others(make_user: Any) -> None:
    user = make_user("marta")
    mine, other = signed_in("marta"), signed_in("marta")
    key_before = mine.session.session_key
    response = mine.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/security/"
    assert mine.session.session_key != key_before  # rotated
    assert mine.get("/accounts/security/").status_code == 200
    assert other.get("/accounts/security/").status_code == 302  # signed out
    assert SESSION_KEY not in other.session
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert user.password.startswith("md5$")  # the test hasher; production uses Argon2
    entry = AuditEntry.objects.get(action="password_change")
    assert (entry.username, entry.extra) == ("marta", {"via": "change", "sessions_ended": 1})


def test_password_change_validates_and_changes_nothing_when_invalid(make_user: Any) -> None:
    user = make_user("marta")
    client = signed_in("marta")
    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": "admin", "new_password2": "admin"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not AuditEntry.objects.filter(action="password_change").exists()


def test_password_change_needs_csrf(csrf_client: Client, make_user: Any) -> None:
    user = make_user("marta")
    csrf_client.force_login(user)
    response = csrf_client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_hashers_are_argon2_in_production() -> None:
    from trastienda import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    names = [v["NAME"].rsplit(".", 1)[1] for v in production.AUTH_PASSWORD_VALIDATORS]
    assert names == [
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
        "ForbiddenUsernameValidator",
    ]


# --- reset by e-mail ------------------------------------------------------------------------------


def ask_reset(client: Client, email: str, **extra: Any) -> Any:
    return client.post("/accounts/password/reset/", {"email": email}, **extra)


def test_reset_email_is_sent_and_the_link_sets_a_new_password(
    client: Client, make_user: Any
) -> None:
    user = make_user("marta", email="marta@example.com")
    other_session = signed_in("marta")
    response = ask_reset(client, "MARTA@example.com")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["marta@example.com"]
    assert message.subject == "Trastienda: choose a new password"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/\S+/)", message.body)
    assert link is not None

    page = client.get(link.group(1), follow=True)
    assert page.context["validlink"] is True
    response = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == "/accounts/password/reset/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert other_session.get("/accounts/security/").status_code == 302
    entry = AuditEntry.objects.get(action="password_change")
    assert entry.extra == {"via": "reset", "sessions_ended": 1}
    # The link works once.
    assert client.get(link.group(1), follow=True).context["validlink"] is False


def test_reset_answers_the_same_for_an_unknown_address(client: Client, make_user: Any) -> None:
    make_user("marta", email="marta@example.com")
    known = ask_reset(client, "marta@example.com")
    unknown = ask_reset(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert [m.to for m in mail.outbox] == [["marta@example.com"]]
    done = client.get("/accounts/password/reset/sent/")
    assert "If an account uses that address" in done.content.decode()


def test_reset_is_throttled_per_address_despite_forged_forwarded_for(
    client: Client, make_user: Any, settings: Any
) -> None:
    settings.TRASTIENDA_PASSWORD_RESET_PER_IP = 4
    make_user("marta", email="marta@example.com")
    peer = {"REMOTE_ADDR": "198.51.100.7"}
    for n in range(4):
        response = ask_reset(client, f"x{n}@example.com", HTTP_X_FORWARDED_FOR=random_ip(), **peer)
        assert response["Location"] == "/accounts/password/reset/sent/"
    response = ask_reset(client, "marta@example.com", HTTP_X_FORWARDED_FOR=random_ip(), **peer)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"  # the same answer...
    assert mail.outbox == []  # ...but nothing sent
    lockout = AuditEntry.objects.get(action="lockout")
    assert (lockout.ip, lockout.extra) == (
        "198.51.100.7",
        {"reason": "password_reset", "by": "ip_address"},
    )
    # Another client address is not affected.
    ask_reset(Client(), "marta@example.com", REMOTE_ADDR="203.0.113.5")
    assert len(mail.outbox) == 1


def test_reset_is_throttled_per_email(client: Client, make_user: Any, settings: Any) -> None:
    settings.TRASTIENDA_PASSWORD_RESET_PER_EMAIL = 2
    make_user("marta", email="marta@example.com")
    for n in range(4):
        ask_reset(Client(), "marta@example.com", REMOTE_ADDR=f"203.0.113.{n + 1}")
    assert len(mail.outbox) == 2
    assert AuditEntry.objects.get(action="lockout").extra == {
        "reason": "password_reset",
        "by": "email",
    }


def test_reset_needs_csrf(csrf_client: Client, make_user: Any) -> None:
    make_user("marta", email="marta@example.com")
    assert ask_reset(csrf_client, "marta@example.com").status_code == 403
    assert mail.outbox == []
