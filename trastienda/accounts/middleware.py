"""Session policy, two-factor enforcement and the user's language.

Order in ``MIDDLEWARE``: after django-otp's ``OTPMiddleware`` (which tells whether the session
was verified by a second factor) come :class:`SessionPolicyMiddleware`, then core's
``TenancyMiddleware``, then :class:`TwoFactorRequiredMiddleware` and
:class:`UserLanguageMiddleware`.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from trastienda.accounts import services
from trastienda.core.models import UserProfile
from trastienda.core.net import client_ip

LOGIN_AT = "accounts_login_at"
LAST_SEEN = "accounts_last_seen"
SESSION_EXPIRED = "accounts_session_expired"
TRACKED_KEY = "accounts_tracked"
TOUCH_EVERY_SECONDS = 60


class SessionPolicyMiddleware:
    """Idle and absolute timeouts of signed-in sessions, and the "active sessions" record.

    The idle timeout is also Django's (``SESSION_COOKIE_AGE`` refreshed on every request);
    this checks it again from the session's own clock so that it holds with every session
    backend. The absolute timeout (``TRASTIENDA_SESSION_ABSOLUTE_SECONDS``) counts from the
    sign-in, which :mod:`trastienda.accounts.signals` writes into the session.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        if request.user.is_authenticated:
            self.apply(request)
        return self.get_response(request)

    def apply(self, request: HttpRequest) -> None:
        session = request.session
        now = int(time.time())
        login_at = session.get(LOGIN_AT)
        last_seen = session.get(LAST_SEEN)
        if login_at is None:  # a session older than this policy: its clock starts now
            session[LOGIN_AT] = login_at = now
        idle = last_seen is not None and now - int(last_seen) > settings.SESSION_COOKIE_AGE
        too_old = now - int(login_at) > settings.TRASTIENDA_SESSION_ABSOLUTE_SECONDS
        if idle or too_old:
            logout(request)  # flushes the session and sends user_logged_out (audited)
            request.session[SESSION_EXPIRED] = True
            return
        session[LAST_SEEN] = now
        key = session.session_key
        tracked = session.get(TRACKED_KEY)
        if key and (
            tracked != key or last_seen is None or now - int(last_seen) >= TOUCH_EVERY_SECONDS
        ):
            services.session_touch(
                user=request.user,
                session_key=key,
                previous_key=tracked,
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            session[TRACKED_KEY] = key


EXEMPT_VIEWS = frozenset(
    {
        "accounts:login",
        "accounts:logout",
        "accounts:two_factor_setup",
        "accounts:two_factor_verify",
        "core:set_language",
        "set_language",
    }
)


class TwoFactorRequiredMiddleware:
    """Keeps signed-in users who have not passed the second factor away from every page.

    - A user with an authenticator who has not verified it in this session is sent to the
      verification step.
    - A user who must use two-factor authentication (staff, or a role with
      ``requires_two_factor``) and has none is sent to enrolment.

    Only sign-in, sign-out, enrolment, verification and the language switch stay reachable.
    The API answers 403 in its error shape instead of redirecting.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not settings.TRASTIENDA_TWO_FACTOR_ENFORCED:
            return None
        user = request.user
        if not user.is_authenticated or user.is_verified():  # type: ignore[attr-defined]
            return None
        match = request.resolver_match
        if match is not None and match.view_name in EXEMPT_VIEWS:
            return None
        if services.two_factor_enabled(user):
            target = "accounts:two_factor_verify"
            message = _("Enter the code from your authenticator app to continue.")
        elif services.two_factor_required(user):
            target = "accounts:two_factor_setup"
            message = _("Your role requires two-factor authentication. Set it up to continue.")
        else:
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"error": {"code": "two_factor_required", "message": message, "fields": {}}},
                status=403,
            )
        url = reverse(target)
        if request.method == "GET":
            url = f"{url}?{urlencode({'next': request.get_full_path()})}"
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)


class UserLanguageMiddleware:
    """A user's saved language (``UserProfile.language``) beats the browser's choice."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        language = (
            UserProfile.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
        )
        if not language or language not in dict(settings.LANGUAGES):
            return self.get_response(request)
        previous = translation.get_language()
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
            response.headers.setdefault("Content-Language", language)
            return response
        finally:
            translation.activate(previous)  # never leak one user's language to the thread
