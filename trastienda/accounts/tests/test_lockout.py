"""Lockout after repeated failures, per username and per client address, and its audit.

Every brute-force test sends a random ``X-Forwarded-For`` on each try from a fixed peer: the
header must be ignored unless the peer is a trusted proxy.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.db.models import F
from django.test import Client

from trastienda.accounts.forms import GENERIC_LOGIN_ERROR as _GENERIC
from trastienda.accounts.tests.helpers import PASSWORD, post_login, random_ip
from trastienda.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

GENERIC_LOGIN_ERROR = str(_GENERIC)

PEER = "198.51.100.7"


WRONG = "wrong-password-1"


def forged(client: Client, username: str, password: str = WRONG, **extra: Any) -> Any:
    return post_login(
        client, username, password, REMOTE_ADDR=PEER, HTTP_X_FORWARDED_FOR=random_ip(), **extra
    )


def age_attempts(minutes: int) -> None:
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


def test_username_locked_after_ten_failures_despite_forged_forwarded_for(
    client: Client, make_user: Any
) -> None:
    make_user("marta")
    for attempt in range(1, 10):
        response = forged(client, "marta")
        assert response.status_code == 200, attempt
        assert GENERIC_LOGIN_ERROR in response.content.decode()
    response = forged(client, "marta")  # the 10th failure locks
    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "up to 15 minutes" in response.content.decode()
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True).distinct()) == [PEER]

    # Even the right password is refused while locked, from any forged address.
    response = forged(client, "marta", PASSWORD)
    assert response.status_code == 429
    assert SESSION_KEY not in client.session

    # Another user from another address is not affected by the username lockout.
    make_user("pablo")
    other = Client()
    response = post_login(other, "pablo", PASSWORD, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302


def test_username_lockout_lasts_fifteen_minutes(client: Client, make_user: Any) -> None:
    make_user("marta")
    for _ in range(10):
        forged(client, "marta")
    age_attempts(14)
    assert forged(client, "marta", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    response = forged(client, "marta", PASSWORD)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(
        AccessAttempt._meta.apps.get_model("auth", "User").objects.get(username="marta").pk
    )


def test_usernames_are_counted_case_insensitively(client: Client, make_user: Any) -> None:
    make_user("marta")
    for name in ["marta", "MARTA", " Marta", "mArTa", "marta "] * 2:
        forged(client, name)
    assert forged(client, "marta", PASSWORD).status_code == 429


def test_client_address_locked_after_fifty_failures_for_one_hour(
    client: Client, make_user: Any
) -> None:
    make_user("pablo")
    for attempt in range(1, 50):
        response = forged(client, f"nobody{attempt}")  # a new username every time
        assert response.status_code == 200, attempt
    response = forged(client, "nobody50")
    assert response.status_code == 429
    assert response["Retry-After"] == str(60 * 60)

    # The whole address is blocked, whatever username and forged header it sends...
    assert forged(client, "pablo", PASSWORD).status_code == 429
    # ...for an hour, not the username's 15 minutes.
    age_attempts(30)
    assert forged(client, "pablo", PASSWORD).status_code == 429
    age_attempts(31)
    assert forged(client, "pablo", PASSWORD).status_code == 302


def test_another_address_is_not_locked_by_a_locked_address(client: Client, make_user: Any) -> None:
    make_user("pablo")
    for attempt in range(50):
        forged(client, f"nobody{attempt}")
    response = post_login(Client(), "pablo", PASSWORD, REMOTE_ADDR="203.0.113.10")
    assert response.status_code == 302


def test_successful_login_does_not_reset_the_address_counter(
    client: Client, make_user: Any
) -> None:
    make_user("mallory")
    for attempt in range(49):
        forged(client, f"victim{attempt}")
    # Signing in to one's own account forgets that username's failures only.
    assert forged(Client(), "mallory", PASSWORD).status_code == 302
    assert forged(client, "victim-last").status_code == 429


def test_limits_come_from_settings(client: Client, make_user: Any, settings: Any) -> None:
    settings.TRASTIENDA_LOCKOUT_USERNAME_FAILURES = 3
    settings.TRASTIENDA_LOCKOUT_USERNAME_MINUTES = 2
    settings.TRASTIENDA_LOCKOUT_IP_FAILURES = 5
    settings.TRASTIENDA_LOCKOUT_IP_MINUTES = 7
    make_user("marta")
    assert forged(client, "marta").status_code == 200
    assert forged(client, "marta").status_code == 200
    response = forged(client, "marta")
    assert response.status_code == 429
    assert response["Retry-After"] == "120"
    assert forged(client, "x1").status_code == 200
    response = forged(client, "x2")  # 5th failure from this address
    assert response.status_code == 429
    assert response["Retry-After"] == str(7 * 60)


def test_trusted_proxy_forwarded_for_is_the_client(
    client: Client, make_user: Any, settings: Any
) -> None:
    settings.TRASTIENDA_TRUSTED_PROXIES = ["10.0.0.1"]
    settings.TRASTIENDA_LOCKOUT_IP_FAILURES = 5
    make_user("pablo")
    for attempt in range(5):
        response = post_login(
            client,
            f"nobody{attempt}",
            "wrong-password-1",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="192.0.2.50",
        )
    assert response.status_code == 429
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True).distinct()) == [
        "192.0.2.50"
    ]
    # The same proxy forwarding another client: that client is not locked.
    response = post_login(
        Client(), "pablo", PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.51"
    )
    assert response.status_code == 302
    # The locked client cannot escape by prepending a forged hop: the proxy appends the peer.
    response = post_login(
        Client(),
        "pablo",
        PASSWORD,
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR=f"{random_ip()}, 192.0.2.50",
    )
    assert response.status_code == 429


def test_same_message_for_unknown_user_wrong_password_and_inactive(
    client: Client, make_user: Any
) -> None:
    make_user("marta")
    inactive = make_user("ines")
    inactive.is_active = False
    inactive.save()
    pages = []
    for username, password in [
        ("nosuchuser", "wrong-password-1"),
        ("marta", "wrong-password-1"),
        ("ines", PASSWORD),
    ]:
        response = post_login(client, username, password)
        assert response.status_code == 200
        body = response.content.decode()
        assert body.count(GENERIC_LOGIN_ERROR) == 1
        # Apart from the echoed username and the CSRF tokens, the three pages are identical.
        body = body.replace(f'value="{username}"', "")
        pages.append(re.sub(r'(value|content)="[A-Za-z0-9]{64}"', "", body))
    assert pages[0] == pages[1] == pages[2]
    assert SESSION_KEY not in client.session


def test_failures_and_lockout_are_audited(client: Client, make_user: Any, settings: Any) -> None:
    settings.TRASTIENDA_LOCKOUT_USERNAME_FAILURES = 3
    make_user("marta")
    for _ in range(3):
        forged(client, "marta")
    failed = AuditEntry.objects.filter(action="login_failed").order_by("seq")
    assert [(e.username, e.ip) for e in failed] == [("marta", PEER)] * 3
    lockouts = AuditEntry.objects.filter(action="lockout")
    assert [(e.username, e.ip) for e in lockouts] == [("marta", PEER)]
    assert not AuditEntry.objects.filter(action="login").exists()


def test_api_lockout_answers_json_429(client: Client, make_user: Any, settings: Any) -> None:
    settings.TRASTIENDA_LOCKOUT_USERNAME_FAILURES = 3
    make_user("marta")
    statuses = []
    for _ in range(4):
        response = client.post(
            "/api/v1/auth/token/",
            {"username": "marta", "password": "wrong-password-1"},
            content_type="application/json",
            REMOTE_ADDR=PEER,
            HTTP_X_FORWARDED_FOR=random_ip(),
        )
        statuses.append(response.status_code)
    assert statuses[-1] == 429
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "locked_out"
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "marta", "password": PASSWORD},
        content_type="application/json",
        REMOTE_ADDR=PEER,
        HTTP_X_FORWARDED_FOR=random_ip(),
    )
    assert response.status_code == 429
    assert "token" not in response.json()
