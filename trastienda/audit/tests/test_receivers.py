"""Logins, logouts, failed logins and lockouts are audited (never with a password)."""

from __future__ import annotations

from typing import Any

import pytest
from axes.signals import user_locked_out
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.middleware import SessionMiddleware
from django.forms.models import model_to_dict
from django.test import RequestFactory

from trastienda.audit.models import AuditEntry
from trastienda.audit.services import verify_chain
from trastienda.audit.tests.helpers import entries
from trastienda.conftest import PASSWORD

pytestmark = pytest.mark.django_db

IP = "192.0.2.50"


def login_request() -> Any:
    request = RequestFactory().post(
        "/accounts/login/", REMOTE_ADDR=IP, HTTP_USER_AGENT="pytest-browser"
    )
    SessionMiddleware(lambda r: None).process_request(request)  # type: ignore[arg-type,return-value]
    request.user = AnonymousUser()
    return request


def test_login_and_logout_are_recorded(accountant: Any) -> None:
    request = login_request()
    user = authenticate(request, username="marta", password=PASSWORD)
    assert user == accountant
    login(request, user)
    logout(request)
    logged_in, logged_out = entries(action__in=["login", "logout"])
    assert (logged_in.action, logged_in.user_id, logged_in.username, logged_in.ip) == (
        "login",
        accountant.pk,
        "marta",
        IP,
    )
    assert logged_in.extra == {"user_agent": "pytest-browser"}
    assert (logged_out.action, logged_out.user_id, logged_out.username, logged_out.ip) == (
        "logout",
        accountant.pk,
        "marta",
        IP,
    )
    assert verify_chain().ok is True


def test_failed_login_records_username_and_ip_but_no_password(accountant: Any) -> None:
    secret = "Wrong-Secret-Passw0rd!"
    request = login_request()
    assert authenticate(request, username="marta", password=secret) is None
    assert authenticate(request, username="nobody-here", password=secret) is None
    failed = entries(action="login_failed")
    assert [(e.username, e.user_id, e.ip) for e in failed] == [
        ("marta", None, IP),
        ("nobody-here", None, IP),
    ]
    for entry in AuditEntry.objects.all():
        row = repr(model_to_dict(entry)) + entry.hash + entry.prev_hash
        assert secret not in row
        assert "*****" not in row  # not even Django's cleansed placeholder
    assert not entries(action="login")


def test_logout_without_a_user_records_nothing() -> None:
    request = login_request()
    logout(request)
    assert not entries(action="logout")


def test_lockout_signal_is_recorded() -> None:
    request = login_request()
    user_locked_out.send("axes", request=request, username="marta", ip_address=IP)
    [entry] = entries(action="lockout")
    assert (entry.username, entry.ip, entry.user_id) == ("marta", IP, None)


def test_login_page_failure_and_success_are_recorded(csrf_client: Any, accountant: Any) -> None:
    """Through the real sign-in page (middleware, axes and all)."""
    from django.urls import reverse

    url = reverse("accounts:login")
    secret = "Not-The-Password-42"
    csrf_client.get(url, REMOTE_ADDR=IP)
    token = csrf_client.cookies["csrftoken"].value
    form = {"username": "marta", "password": secret, "csrfmiddlewaretoken": token}
    response = csrf_client.post(url, form, REMOTE_ADDR=IP)
    assert response.status_code == 200  # the form again, with an error
    [failed] = entries(action="login_failed")
    assert (failed.username, failed.ip, failed.user_id) == ("marta", IP, None)
    assert secret not in repr(model_to_dict(failed))

    form["password"] = PASSWORD
    response = csrf_client.post(url, form, REMOTE_ADDR=IP)
    assert response.status_code == 302
    [logged_in] = entries(action="login")
    assert (logged_in.user_id, logged_in.ip) == (accountant.pk, IP)
    assert verify_chain().ok is True
