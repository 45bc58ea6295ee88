"""Forms of sign-in, two-factor authentication and passwords (they parse; services decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from trastienda.accounts import services

GENERIC_LOGIN_ERROR = _("The username or password is not correct.")


def _bootstrap(form: forms.Form) -> None:
    for field in form.fields.values():
        css = (
            "form-check-input" if isinstance(field.widget, forms.CheckboxInput) else "form-control"
        )
        field.widget.attrs.setdefault("class", css)


class LoginForm(auth_forms.AuthenticationForm):
    """Username and password. The same message for an unknown user, a wrong password and an
    inactive account; ``authenticate(request=...)`` lets django-axes count and block."""

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": GENERIC_LOGIN_ERROR,
        "inactive": GENERIC_LOGIN_ERROR,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


def _code_field() -> forms.CharField:
    return forms.CharField(
        label=_("Code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autocapitalize": "off",
                "spellcheck": "false",
                "class": "form-control form-control-lg text-center font-monospace",
            }
        ),
        help_text=_("The 6-digit code from your authenticator app, or one of your recovery codes."),
    )


class CodeForm(forms.Form):
    """A second-factor code (6 digits) or a recovery code."""

    code = _code_field()


class EnrolConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=10,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "class": "form-control form-control-lg text-center font-monospace",
            }
        ),
    )


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(
            attrs={"autocomplete": "current-password", "class": "form-control"}
        ),
    )


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class SetPasswordForm(auth_forms.SetPasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class PasswordResetForm(auth_forms.PasswordResetForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)
        self.fields["email"].widget.attrs.update({"autocomplete": "email"})


class AdminLoginForm(AdminAuthenticationForm):
    """The Django admin's sign-in: staff password *and* the second factor, in one step.

    A wrong code counts as a failed sign-in for django-axes, like a wrong password.
    """

    otp_token = _code_field()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # authenticate(request=...) and the staff check
        user = self.get_user()
        if user is None:
            return cleaned
        if not services.two_factor_enabled(user):
            raise ValidationError(
                _("Set up two-factor authentication on your security page before using this site."),
                code="two_factor_required",
            )
        try:
            device = services.two_factor_verify(user=user, code=cleaned.get("otp_token") or "")
        except ValidationError as exc:
            user_login_failed.send(
                sender=__name__,
                credentials={"username": user.get_username()},
                request=self.request,
            )
            self.user_cache = None
            raise ValidationError(
                exc.message_dict.get("code", [_("That code is not right.")]), code="invalid_code"
            ) from exc
        user.otp_device = device  # type: ignore[attr-defined]  # django-otp verifies the session
        return cleaned
