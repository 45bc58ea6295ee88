"""TOTP two-factor authentication: enrolment, the sign-in step, recovery codes, enforcement."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from trastienda.accounts import services
from trastienda.accounts.tests.helpers import PASSWORD, post_login, totp_now, wrong_code
from trastienda.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def two_factor_audit(username: str) -> list[str]:
    return [
        e.extra["event"]
        for e in AuditEntry.objects.filter(action="two_factor", username=username).order_by("seq")
    ]


# --- enrolment ------------------------------------------------------------------------------------


def test_enrolment_by_qr_code_and_confirmation(client: Client, make_user: Any) -> None:
    user = make_user("marta")
    client.force_login(user)

    page = client.get("/accounts/security/two-factor/")
    assert page.status_code == 200
    assert 'value="start"' in page.content.decode()
    assert not TOTPDevice.objects.exists()  # a GET creates nothing

    response = client.post("/accounts/security/two-factor/", {"action": "start"})
    assert response.status_code == 302
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False

    page = client.get("/accounts/security/two-factor/")
    body = page.content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in body
    assert 'role="img"' in body
    assert page.context["secret"].replace(" ", "") == services.totp_secret_base32(device).replace(
        " ", ""
    )
    assert "otpauth://" not in body  # the secret travels only inside the QR code and as text

    bad = client.post(
        "/accounts/security/two-factor/", {"action": "confirm", "code": wrong_code(device)}
    )
    assert bad.status_code == 400
    assert "That code is not right" in bad.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert not StaticDevice.objects.exists()

    done = client.post(
        "/accounts/security/two-factor/", {"action": "confirm", "code": totp_now(device)}
    )
    assert done.status_code == 200
    assert "no-store" in done["Cache-Control"]
    codes = done.context["codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(len(code) == 9 and code[4] == "-" for code in codes)
    device.refresh_from_db()
    assert device.confirmed is True
    assert sorted(
        StaticToken.objects.filter(device__user=user).values_list("token", flat=True)
    ) == (sorted(code.replace("-", "") for code in codes))
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert two_factor_audit("marta") == ["enabled"]
    # Enrolled: the set-up page sends to the security page, which counts one session.
    assert client.get("/accounts/security/two-factor/")["Location"] == "/accounts/security/"
    assert client.get("/accounts/security/").context["session_count"] == 1


def test_restarting_enrolment_replaces_the_unconfirmed_device(
    client: Client, make_user: Any
) -> None:
    user = make_user("marta")
    client.force_login(user)
    client.post("/accounts/security/two-factor/", {"action": "start"})
    first = TOTPDevice.objects.get(user=user)
    client.post("/accounts/security/two-factor/", {"action": "start"})
    second = TOTPDevice.objects.get(user=user)
    assert first.pk != second.pk
    assert first.key != second.key


# --- the sign-in step -----------------------------------------------------------------------------


def test_login_asks_for_the_code_before_signing_in(client: Client, enrolled: Any) -> None:
    user, device, _codes = enrolled("lucia")
    before = client.session.session_key
    response = post_login(client, "lucia", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/code/"
    assert SESSION_KEY not in client.session  # not signed in yet
    pending_key = client.session.session_key
    assert pending_key != before
    assert client.get("/core/home/").status_code == 302

    response = client.post("/accounts/login/code/", {"code": wrong_code(device)})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert SESSION_KEY not in client.session
    assert AccessAttempt.objects.get(username="lucia").failures_since_start == 1
    assert AuditEntry.objects.filter(action="login_failed", username="lucia").count() == 1

    response = client.post("/accounts/login/code/", {"code": totp_now(device)})
    assert response.status_code == 302
    assert response["Location"] == "/core/home/"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.session.session_key != pending_key
    assert not AccessAttempt.objects.filter(username="lucia").exists()  # reset on success
    assert AuditEntry.objects.filter(action="login", username="lucia").count() == 1


def test_wrong_codes_count_towards_the_lockout(
    client: Client, enrolled: Any, settings: Any
) -> None:
    settings.TRASTIENDA_LOCKOUT_USERNAME_FAILURES = 3
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # isolate axes from django-otp's own back-off
    user, device, _codes = enrolled("lucia")
    post_login(client, "lucia", PASSWORD)
    assert client.post("/accounts/login/code/", {"code": wrong_code(device)}).status_code == 200
    assert client.post("/accounts/login/code/", {"code": wrong_code(device)}).status_code == 200
    assert client.post("/accounts/login/code/", {"code": wrong_code(device)}).status_code == 429
    # The right code is refused while locked.
    assert client.post("/accounts/login/code/", {"code": totp_now(device)}).status_code == 429
    assert SESSION_KEY not in client.session
    assert AuditEntry.objects.filter(action="lockout", username="lucia").exists()
    assert user.is_active


def test_device_throttling_refuses_quick_retries(client: Client, enrolled: Any) -> None:
    _user, device, _codes = enrolled("lucia")
    post_login(client, "lucia", PASSWORD)
    client.post("/accounts/login/code/", {"code": wrong_code(device)})
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    # The right code, straight after a wrong one, waits for django-otp's back-off.
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    response = client.post("/accounts/login/code/", {"code": f"{totp.token():06d}"})
    assert "Too many wrong codes" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_pending_sign_in_expires(client: Client, enrolled: Any, settings: Any) -> None:
    _user, device, _codes = enrolled("lucia")
    post_login(client, "lucia", PASSWORD)
    session = client.session
    session["accounts_pending_two_factor"]["at"] -= (
        settings.TRASTIENDA_TWO_FACTOR_PENDING_SECONDS + 1
    )
    session.save()
    response = client.post("/accounts/login/code/", {"code": totp_now(device)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert SESSION_KEY not in client.session


def test_code_step_without_a_password_goes_back_to_login(client: Client) -> None:
    response = client.get("/accounts/login/code/")
    assert response["Location"] == "/accounts/login/"


def test_recovery_code_signs_in_once(client: Client, enrolled: Any) -> None:
    user, _device, codes = enrolled("lucia")
    post_login(client, "lucia", PASSWORD)
    response = client.post("/accounts/login/code/", {"code": codes[0].upper()})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)
    assert services.recovery_codes_left(user) == 9
    assert two_factor_audit("lucia") == ["enabled", "recovery_code_used"]
    assert AuditEntry.objects.filter(action="two_factor", username="lucia").order_by(
        "seq"
    ).last().extra == {
        "event": "recovery_code_used",
        "recovery_codes_left": 9,
    }

    again = Client()
    post_login(again, "lucia", PASSWORD)
    response = again.post("/accounts/login/code/", {"code": codes[0]})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert SESSION_KEY not in again.session
    assert services.recovery_codes_left(user) == 9


def test_regenerating_recovery_codes_invalidates_the_old_ones(
    client: Client, enrolled: Any
) -> None:
    user, device, codes = enrolled("lucia")
    post_login(client, "lucia", PASSWORD)
    client.post("/accounts/login/code/", {"code": totp_now(device)})
    response = client.post("/accounts/security/recovery-codes/")
    assert response.status_code == 200
    new_codes = response.context["codes"]
    assert len(new_codes) == 10
    assert set(new_codes).isdisjoint(codes)
    assert services.recovery_codes_left(user) == 10
    with pytest.raises(Exception, match="not right"):
        services.two_factor_verify(user=user, code=codes[1])
    assert two_factor_audit("lucia") == ["enabled", "recovery_codes_generated"]


# --- enforcement ----------------------------------------------------------------------------------


def test_administrators_are_forced_to_enrol(client: Client, make_user: Any, company: Any) -> None:
    make_user("ana", company=company, role="administrator")
    response = post_login(client, "ana", PASSWORD)
    assert response.status_code == 302  # signed in with the password (no device yet)
    for url in ("/core/home/", "/c/ACME/", "/accounts/security/", "/accounts/password/change/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/security/two-factor/?next="), url
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_required"
    # Enrolment, sign-out and the language switch stay reachable.
    assert client.get("/accounts/security/two-factor/").status_code == 200
    client.post("/accounts/security/two-factor/", {"action": "start"})
    device = TOTPDevice.objects.get(user__username="ana")
    response = client.post(
        "/accounts/security/two-factor/?next=/c/ACME/",
        {"action": "confirm", "code": totp_now(device)},
    )
    assert response.status_code == 200
    assert response.context["next"] == "/c/ACME/"
    assert client.get("/c/ACME/").status_code == 200


def test_unverified_session_of_a_user_with_a_device_must_verify(
    client: Client, enrolled: Any
) -> None:
    user, device, _codes = enrolled("lucia")
    client.force_login(user)  # e.g. a session that began before enrolment
    response = client.get("/accounts/security/")
    assert response["Location"] == "/accounts/login/code/?next=%2Faccounts%2Fsecurity%2F"
    response = client.post(
        "/accounts/login/code/?next=/accounts/security/", {"code": totp_now(device)}
    )
    assert response["Location"] == "/accounts/security/"
    assert client.get("/accounts/security/").status_code == 200


def test_staff_must_use_two_factor(make_user: Any) -> None:
    staff = make_user("carmen", is_staff=True)
    assert services.two_factor_required(staff) is True
    assert services.two_factor_required(make_user("pablo")) is False


def test_disable_is_refused_for_administrators(client: Client, enrolled: Any, company: Any) -> None:
    user, device, _codes = enrolled("ana", company=company, role="administrator")
    post_login(client, "ana", PASSWORD)
    client.post("/accounts/login/code/", {"code": totp_now(device)})
    page = client.get("/accounts/security/")
    assert "cannot be turned off" in page.content.decode()
    response = client.post("/accounts/security/two-factor/disable/", {"password": PASSWORD})
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    assert StaticToken.objects.filter(device__user=user).count() == 10
    assert two_factor_audit("ana") == ["enabled"]


def test_disable_needs_the_password(client: Client, enrolled: Any) -> None:
    user, device, _codes = enrolled("lucia")
    post_login(client, "lucia", PASSWORD)
    client.post("/accounts/login/code/", {"code": totp_now(device)})
    client.post("/accounts/security/two-factor/disable/", {"password": "not-my-password"})
    assert TOTPDevice.objects.filter(user=user).count() == 1
    client.post("/accounts/security/two-factor/disable/", {"password": PASSWORD})
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()
    assert two_factor_audit("lucia") == ["enabled", "disabled"]
    assert "Off" in client.get("/accounts/security/").content.decode()


def test_two_factor_pages_need_csrf(csrf_client: Client, make_user: Any) -> None:
    user = make_user("marta")
    csrf_client.force_login(user)
    assert (
        csrf_client.post("/accounts/security/two-factor/", {"action": "start"}).status_code == 403
    )
    assert not TOTPDevice.objects.exists()
    assert csrf_client.post("/accounts/security/sessions/end/").status_code == 403
