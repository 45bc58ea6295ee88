"""Operations on a user's sign-in security: two-factor devices, recovery codes, sessions.

Each operation validates first and writes in one transaction; the views only call these.
Every change to two-factor authentication, and every use of a recovery code, is written to
the audit trail (action ``two_factor``); password changes are written as ``password_change``.
"""

from __future__ import annotations

import hashlib
import re
from base64 import b32encode
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.models import Device, VerifyNotAllowed
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from trastienda.accounts.models import UserSession
from trastienda.core import context
from trastienda.core.models import Membership

TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
_DIGITS = re.compile(r"^\d{6}$")


def _audit(*, action: str, user: Any, extra: dict[str, Any]) -> None:
    from trastienda.audit.services import audit_log

    audit_log(
        action=action,
        user=user,
        username=user.get_username(),
        ip=context.current().ip,
        obj=user,
        extra=extra,
    )


# --- queries ----------------------------------------------------------------------------------


def two_factor_required(user: Any) -> bool:
    """Staff, and members whose role in any company requires two-factor, must use it."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff or user.is_superuser:
        return True
    return Membership.objects.filter(
        user=user, is_active=True, company__is_active=True, role__requires_two_factor=True
    ).exists()


def totp_device(user: Any, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def two_factor_enabled(user: Any) -> bool:
    """True when the user has a confirmed authenticator app."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def totp_secret_base32(device: TOTPDevice) -> str:
    """The device's secret as typed into an app by hand: base32 in groups of four."""
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def format_recovery_code(token: str) -> str:
    return f"{token[:4]}-{token[4:]}" if len(token) == 8 else token


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


# --- two-factor devices -------------------------------------------------------------------------


def totp_enrol_start(*, user: Any) -> TOTPDevice:
    """Start enrolment: a fresh, unconfirmed authenticator device (any older one is dropped)."""
    if two_factor_enabled(user):
        raise ValidationError({"code": [_("Two-factor authentication is already on.")]})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def totp_enrol_confirm(*, user: Any, code: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator with a code from it; returns it and new recovery codes.

    Raises ValidationError on ``code`` when there is nothing to confirm or the code is wrong
    (the failed try still counts towards the device's throttling).
    """
    code = normalise_code(code)
    error: ValidationError | None = None
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("-pk")
            .first()
        )
        if device is None or two_factor_enabled(user):
            error = ValidationError(
                {"code": [_("Start the set-up again: there is no authenticator to confirm.")]}
            )
        elif not _DIGITS.match(code):
            error = ValidationError({"code": [_("Enter the 6-digit code shown by the app.")]})
        else:
            allowed, info = device.verify_is_allowed()
            if not allowed:
                error = _throttled_error(info)
            elif not device.verify_token(code):
                error = ValidationError(
                    {
                        "code": [
                            _("That code is not right. Check the time on your phone and try again.")
                        ]
                    }
                )
    # Raised outside the transaction, so that the device's throttling counter is kept.
    if error is not None or device is None:
        raise error or ValidationError({"code": [_("That code is not right.")]})
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _replace_recovery_codes(user)
        _audit(
            action="two_factor",
            user=user,
            extra={"event": "enabled", "device": "totp", "recovery_codes": len(codes)},
        )
    return device, codes


def _replace_recovery_codes(user: Any) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    tokens: set[str] = set()
    while len(tokens) < int(settings.TRASTIENDA_RECOVERY_CODES):
        tokens.add(StaticToken.random_token())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=t) for t in sorted(tokens))
    return [format_recovery_code(t) for t in sorted(tokens)]


def recovery_codes_generate(*, user: Any) -> list[str]:
    """Replace the user's recovery codes with new ones (the old ones stop working)."""
    if not two_factor_enabled(user):
        raise ValidationError({"code": [_("Turn on two-factor authentication first.")]})
    with transaction.atomic():
        codes = _replace_recovery_codes(user)
        _audit(
            action="two_factor",
            user=user,
            extra={"event": "recovery_codes_generated", "recovery_codes": len(codes)},
        )
    return codes


def two_factor_disable(*, user: Any, password: str) -> None:
    """Remove the user's authenticator and recovery codes, after checking their password.

    Refused for users who must use two-factor authentication.
    """
    if two_factor_required(user):
        raise ValidationError(
            {
                "password": [
                    _("Your role requires two-factor authentication; it cannot be turned off.")
                ]
            }
        )
    if not user.check_password(password or ""):
        raise ValidationError({"password": [_("Your password is not correct.")]})
    if not two_factor_enabled(user):
        raise ValidationError({"password": [_("Two-factor authentication is already off.")]})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        _audit(action="two_factor", user=user, extra={"event": "disabled"})


def _throttled_error(info: dict[str, Any] | None) -> ValidationError:
    if info and info.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
        return ValidationError(
            {"code": [_("Too many wrong codes. Wait a little and try again.")]}, code="throttled"
        )
    return ValidationError({"code": [_("Codes cannot be checked right now.")]}, code="throttled")


def two_factor_verify(*, user: Any, code: str) -> Device:
    """Check a second-factor code: 6 digits from the app, or a single-use recovery code.

    Returns the device that accepted it. A recovery code is deleted when used and the use
    is audited. Raises ValidationError on ``code`` otherwise; failed tries count towards the
    device's throttling (exponential back-off) even though the error is raised.
    """
    code = normalise_code(code)
    error: ValidationError | None = None
    verified: Device | None = None
    recovery_used = False
    with transaction.atomic():
        if _DIGITS.match(code):
            devices: list[Device] = list(
                TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
            )
        else:
            devices = list(
                StaticDevice.objects.select_for_update().filter(user=user, confirmed=True)
            )
            recovery_used = True
        for device in devices:
            allowed, info = device.verify_is_allowed()
            if not allowed:
                error = _throttled_error(info)
                break
            if device.verify_token(code):
                verified = device
                break
        if verified is None and error is None:
            error = ValidationError({"code": [_("That code is not right.")]}, code="invalid")
        if verified is not None and recovery_used:
            _audit(
                action="two_factor",
                user=user,
                extra={
                    "event": "recovery_code_used",
                    "recovery_codes_left": recovery_codes_left(user),
                },
            )
    if error is not None or verified is None:
        raise error or ValidationError({"code": [_("That code is not right.")]})
    return verified


# --- sessions -----------------------------------------------------------------------------------


def _session_store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def session_touch(
    *,
    user: Any,
    session_key: str,
    previous_key: str | None = None,
    ip: str = "",
    user_agent: str = "",
) -> None:
    """Record that the signed-in session ``session_key`` of ``user`` is in use now.

    ``previous_key`` is the key the same session had before it was rotated (sign-in step,
    password change): its record is replaced, not counted twice.
    """
    if previous_key and previous_key != session_key:
        UserSession.objects.filter(user=user, session_key=previous_key).delete()
    UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={
            "user": user,
            "ip": ip[:45],
            "user_agent": user_agent[:200],
            "last_seen_at": timezone.now(),
        },
    )


def session_forget(*, session_key: str | None) -> None:
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def active_sessions(user: Any) -> list[UserSession]:
    """The user's sessions used within the idle timeout and not past the absolute one."""
    now = timezone.now()
    return list(
        UserSession.objects.filter(
            user=user,
            last_seen_at__gte=now - timedelta(seconds=settings.SESSION_COOKIE_AGE),
            created_at__gte=now - timedelta(seconds=settings.TRASTIENDA_SESSION_ABSOLUTE_SECONDS),
        )
    )


def sessions_end_others(*, user: Any, keep_session_key: str | None) -> int:
    """Sign out every other session of ``user`` (deletes them from the session store)."""
    store = _session_store()
    rows = list(UserSession.objects.filter(user=user).exclude(session_key=keep_session_key or ""))
    for row in rows:
        store(session_key=row.session_key).delete()
    UserSession.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return len(rows)


def password_changed(
    *, user: Any, keep_session_key: str | None, via: str, previous_session_key: str | None = None
) -> None:
    """After a password change: end the user's other sessions and audit it.

    Django already refuses sessions made with the old password (the session auth hash);
    deleting them as well frees them from the store and from the sessions list.
    ``previous_session_key`` is this session's key before Django rotated it.
    """
    with transaction.atomic():
        if previous_session_key and keep_session_key:
            UserSession.objects.filter(user=user, session_key=previous_session_key).update(
                session_key=keep_session_key
            )
        ended = sessions_end_others(user=user, keep_session_key=keep_session_key)
        _audit(action="password_change", user=user, extra={"via": via, "sessions_ended": ended})


# --- password reset throttling -----------------------------------------------------------------


def _hit(key: str, window: int) -> int:
    cache.add(key, 0, timeout=window)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def password_reset_allowed(*, ip: str, email: str) -> bool:
    """Count a password reset request; False once the client address or the e-mail address
    has made more than its hourly allowance (``TRASTIENDA_PASSWORD_RESET_PER_*``).

    The first refusal of a window is audited as a lockout. The caller answers a refused
    request exactly like an accepted one, so nobody learns whether the address exists.
    """
    window = 3600
    email_hash = hashlib.sha256(email.strip().casefold().encode()).hexdigest()
    ip_count = _hit(f"accounts:reset:ip:{ip}", window)
    email_count = _hit(f"accounts:reset:email:{email_hash}", window)
    ip_limit = int(settings.TRASTIENDA_PASSWORD_RESET_PER_IP)
    email_limit = int(settings.TRASTIENDA_PASSWORD_RESET_PER_EMAIL)
    allowed = ip_count <= ip_limit and email_count <= email_limit
    if ip_count == ip_limit + 1 or email_count == email_limit + 1:
        from trastienda.audit.services import audit_log

        audit_log(
            action="lockout",
            ip=ip,
            extra={
                "reason": "password_reset",
                "by": "ip_address" if ip_count > ip_limit else "email",
            },
        )
    return allowed


def user_by_pk(pk: Any) -> Any:
    return get_user_model()._default_manager.filter(pk=pk, is_active=True).first()
