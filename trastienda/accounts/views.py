"""Sign-in (password, then the second factor), two-factor set-up, security page, passwords.

Every state change is a POST with CSRF; GETs only show pages. Services do the writing.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Any

import django_otp
import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from trastienda.accounts import forms, services
from trastienda.accounts.middleware import SESSION_EXPIRED
from trastienda.core.net import client_ip

PENDING = "accounts_pending_two_factor"


# --- sign-in -------------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """First step: username and password. Users with an authenticator go on to the code step
    before they are signed in; the others are signed in at once (the session key rotates)."""

    form_class = forms.LoginForm
    template_name = "accounts/login.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["session_expired"] = self.request.session.pop(SESSION_EXPIRED, False)
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not services.two_factor_enabled(user):
            return super().form_valid(form)
        session = self.request.session
        session.cycle_key()
        session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": int(time.time()),
            "next": self.get_success_url(),
        }
        return redirect("accounts:two_factor_verify")


class LogoutView(auth_views.LogoutView):
    """Sign-out: POST only (a GET answers 405 and changes nothing)."""


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _pending(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    if (
        int(time.time()) - int(pending.get("at", 0))
        > settings.TRASTIENDA_TWO_FACTOR_PENDING_SECONDS
    ):
        request.session.pop(PENDING, None)
        return None
    return pending


@method_decorator([sensitive_post_parameters("code"), csrf_protect, never_cache], name="dispatch")
class TwoFactorVerifyView(TemplateView):
    """Second step: a 6-digit code or a recovery code.

    Serves both the sign-in in progress (password accepted, not yet signed in) and a signed-in
    session that has not been verified yet. A wrong code is a failed sign-in for django-axes
    and the audit trail; the lockout applies here exactly as on the password step.
    """

    template_name = "accounts/two_factor_verify.html"

    def _who(self) -> tuple[Any, str, str] | None:
        request = self.request
        user = request.user
        if user.is_authenticated:
            if user.is_verified() or not services.two_factor_enabled(user):  # type: ignore[attr-defined]
                return None
            return user, "session", _safe_next(request, request.GET.get("next"))
        pending = _pending(request)
        if pending is None:
            return None
        found = services.user_by_pk(pending["user"])
        if found is None or not services.two_factor_enabled(found):
            return None
        found.backend = pending["backend"]
        return found, "pending", _safe_next(request, pending.get("next"))

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        who = self._who()
        if who is None:
            return self._restart()
        return self.render_to_response({"form": forms.CodeForm(), "mode": who[1]})

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        who = self._who()
        if who is None:
            return self._restart()
        user, mode, next_url = who
        form = forms.CodeForm(request.POST)
        credentials = {"username": user.get_username()}
        if not AxesProxyHandler.is_allowed(request, credentials):
            # Locked out: record the try; django-axes' middleware answers 429.
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            return self.render_to_response({"form": form, "mode": mode})
        if not form.is_valid():
            return self.render_to_response({"form": form, "mode": mode})
        try:
            device = services.two_factor_verify(user=user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            for message in exc.message_dict.get("code", []):
                form.add_error("code", message)
            return self.render_to_response({"form": form, "mode": mode})
        if mode == "pending":
            request.session.pop(PENDING, None)
            auth_login(request, user, backend=user.backend)  # rotates the session key
        else:
            request.session.cycle_key()
        django_otp.login(request, device)
        if device.__class__.__name__ == "StaticDevice":
            left = services.recovery_codes_left(user)
            messages.warning(
                request,
                ngettext(
                    "You used a recovery code; %(left)d is left. "
                    "Make new ones on your security page.",
                    "You used a recovery code; %(left)d are left. "
                    "Make new ones on your security page.",
                    left,
                )
                % {"left": left},
            )
        return HttpResponseRedirect(next_url)

    def _restart(self) -> HttpResponse:
        if self.request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        messages.info(self.request, _("Sign in again to continue."))
        return redirect("accounts:login")


# --- two-factor set-up and the security page -----------------------------------------------------


def qr_svg(data: str) -> SafeString:
    """An inline SVG QR code made on the server (no external service, no script, no style)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    root = ET.fromstring(image.to_string(encoding="unicode"))  # noqa: S314 - our own SVG
    root.set("width", "240")
    root.set("height", "240")
    root.set("role", "img")
    root.set("aria-label", _("QR code for your authenticator app"))
    root.set("class", "bg-white p-2 border rounded")
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    return mark_safe(ET.tostring(root, encoding="unicode"))  # noqa: S308 - generated, not user text


@method_decorator([login_required, never_cache], name="dispatch")
class TwoFactorSetupView(TemplateView):
    """Enrolment: start (creates an unconfirmed authenticator), scan, confirm with a code; then
    the recovery codes are shown once."""

    template_name = "accounts/two_factor_setup.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if services.two_factor_enabled(request.user):
            return redirect("accounts:security")
        return self._page(forms.EnrolConfirmForm())

    def _page(self, form: Any, status: int = 200) -> HttpResponse:
        user = self.request.user
        device = services.totp_device(user, confirmed=False)
        context = {
            "form": form,
            "device": device,
            "required": services.two_factor_required(user),
            "next": _safe_next(self.request, self.request.GET.get("next")),
        }
        if device is not None:
            context["qr_svg"] = qr_svg(device.config_url)
            context["secret"] = services.totp_secret_base32(device)
        return self.render_to_response(context, status=status)

    @method_decorator(sensitive_post_parameters("code"))
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get("action") == "start":
            try:
                services.totp_enrol_start(user=request.user)
            except ValidationError:
                return redirect("accounts:security")
            return redirect(request.get_full_path())
        form = forms.EnrolConfirmForm(request.POST)
        if not form.is_valid():
            return self._page(form, status=400)
        try:
            device, codes = services.totp_enrol_confirm(
                user=request.user, code=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            for message in exc.message_dict.get("code", []):
                form.add_error("code", message)
            return self._page(form, status=400)
        request.session.cycle_key()
        django_otp.login(request, device)
        messages.success(request, _("Two-factor authentication is on."))
        return _recovery_codes_page(request, codes, self.request.GET.get("next"))


def _recovery_codes_page(
    request: HttpRequest, codes: list[str], next_url: str | None
) -> HttpResponse:
    response = render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "next": _safe_next(request, next_url)},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@never_cache
def security(request: HttpRequest) -> HttpResponse:
    """The user's sign-in security: two-factor state, recovery codes, sessions, password."""
    user = request.user
    sessions = services.active_sessions(user)
    return render(
        request,
        "accounts/security.html",
        {
            "enabled": services.two_factor_enabled(user),
            "required": services.two_factor_required(user),
            "codes_left": services.recovery_codes_left(user),
            "sessions": sessions,
            "session_count": len(sessions),
            "current_session_key": request.session.session_key,
            "disable_form": forms.PasswordConfirmForm(),
        },
    )


@require_POST
@login_required
def recovery_codes_regenerate(request: HttpRequest) -> HttpResponse:
    try:
        codes = services.recovery_codes_generate(user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("accounts:security")
    return _recovery_codes_page(request, codes, reverse("accounts:security"))


@require_POST
@login_required
@sensitive_post_parameters("password")
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordConfirmForm(request.POST)
    if form.is_valid():
        try:
            services.two_factor_disable(user=request.user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Two-factor authentication is off."))
    else:
        messages.error(request, _("Enter your password to turn off two-factor authentication."))
    return redirect("accounts:security")


@require_POST
@login_required
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    ended = services.sessions_end_others(
        user=request.user, keep_session_key=request.session.session_key
    )
    messages.success(
        request,
        ngettext(
            "Signed out %(count)d other session.", "Signed out %(count)d other sessions.", ended
        )
        % {"count": ended},
    )
    return redirect("accounts:security")


# --- passwords -----------------------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    """Keeps this session (Django rotates its key) and ends every other session of the user."""

    form_class = forms.PasswordChangeForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:security")

    def form_valid(self, form: Any) -> HttpResponse:
        previous_key = self.request.session.session_key
        response = super().form_valid(form)  # saves, then update_session_auth_hash
        services.password_changed(
            user=form.user,
            keep_session_key=self.request.session.session_key,
            previous_session_key=previous_key,
            via="change",
        )
        messages.success(
            self.request, _("Your password was changed. Other sessions were signed out.")
        )
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Asks for an e-mail address and always answers the same page, whether the address
    belongs to an account or not, and whether or not the request was throttled."""

    form_class = forms.PasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        allowed = services.password_reset_allowed(
            ip=client_ip(self.request), email=form.cleaned_data["email"]
        )
        if not allowed:
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = forms.SetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.password_changed(user=form.user, keep_session_key=None, via="reset")
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
