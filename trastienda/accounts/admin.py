"""The Django admin's user forms refuse reserved names (``admin`` and friends)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from trastienda.accounts.models import UserSession
from trastienda.core.services import FORBIDDEN_USERNAMES


def _refuse_reserved(username: Any) -> Any:
    if str(username or "").strip().casefold() in FORBIDDEN_USERNAMES:
        raise ValidationError(_("This username is reserved; choose a personal one."))
    return username


class UserCreationForm(auth_forms.AdminUserCreationForm):
    def clean_username(self) -> Any:
        return _refuse_reserved(super().clean_username())


class UserChangeForm(auth_forms.UserChangeForm):
    def clean_username(self) -> Any:
        username = self.cleaned_data.get("username")
        if username != self.initial.get("username"):
            _refuse_reserved(username)
        return username


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    add_form = UserCreationForm
    form = UserChangeForm


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    list_display = ["user", "ip", "user_agent", "created_at", "last_seen_at"]
    search_fields = ["user__username", "ip"]
    fields = ("user", "ip", "user_agent", "created_at", "last_seen_at")  # never the key
    readonly_fields = ("user", "ip", "user_agent", "created_at", "last_seen_at")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False
