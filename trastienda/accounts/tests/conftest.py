"""Fixtures of the sign-in tests: two-factor enforcement on, a clean cache, enrolled users."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django_otp.plugins.otp_totp.models import TOTPDevice

from trastienda.accounts import services
from trastienda.accounts.tests.helpers import totp_now


@pytest.fixture(autouse=True)
def _accounts_settings(settings: Any) -> Iterator[None]:
    settings.TRASTIENDA_TWO_FACTOR_ENFORCED = True
    settings.TRASTIENDA_TRUSTED_PROXIES = []
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def enrolled(make_user: Callable[..., Any]) -> Callable[..., tuple[Any, TOTPDevice, list[str]]]:
    """A user with a confirmed authenticator and recovery codes (made through the services)."""

    def make(username: str = "lucia", **kw: Any) -> tuple[Any, TOTPDevice, list[str]]:
        user = make_user(username, **kw)
        device = services.totp_enrol_start(user=user)
        device, codes = services.totp_enrol_confirm(user=user, code=totp_now(device))
        return user, device, codes

    return make
