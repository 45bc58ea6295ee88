"""Helpers of the sign-in tests."""

from __future__ import annotations

import random
import time
from typing import Any

from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from trastienda.conftest import PASSWORD

__all__ = ["PASSWORD", "post_login", "random_ip", "totp_now", "wrong_code"]


def totp_now(device: TOTPDevice) -> str:
    """The code the authenticator app would show now, usable once more (replay guard reset)."""
    device.refresh_from_db()
    device.last_t = -1
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    """A 6-digit code the device refuses (none of the codes within its time tolerance)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    accepted = set()
    for offset in range(-device.tolerance - 1, device.tolerance + 2):
        totp.time = time.time() + offset * device.step
        accepted.add(f"{totp.token():06d}")
    rng = random.Random(1234)
    while True:
        candidate = f"{rng.randrange(10**6):06d}"
        if candidate not in accepted:
            return candidate


def random_ip() -> str:
    return ".".join(str(random.randint(1, 254)) for _ in range(4))


def post_login(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)
